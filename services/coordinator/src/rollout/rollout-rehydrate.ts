/**
 * The rollout workflow's state (shared/src/domain/rollout) rebuilt from the log rather than from
 * its inputs, which are not all recorded: the waves already started as the log has them, the
 * waves not started yet split again (`expandWaves`) over the nodes the policy selects now (the
 * same split when the fleet did not change; the last wave takes every node left). Node outcomes
 * start empty: the runner reports the nodes of the current wave again. Pure.
 */
import type { PolicySpec, RolloutState, WaveState } from '@tramway/shared/domain';
import { expandWaves } from '@tramway/shared/domain';
import type { RolloutView } from '@tramway/shared/projections';

export interface RehydrateInput {
  readonly view: RolloutView;
  readonly spec: PolicySpec;
  readonly previous: RolloutState['previous'];
  /** node ids the policy version selects now */
  readonly candidates: readonly string[];
  /** when the current wave completed (ISO), if it did */
  readonly completedAt: string | undefined;
}

export const rehydrateRollout = ({
  view,
  spec,
  previous,
  candidates,
  completedAt,
}: RehydrateInput): RolloutState => {
  const started = Object.values(view.waves).sort((a, b) => a.wave - b.wave);
  const done = new Set(started.flatMap((w) => w.nodes));
  const remaining = candidates.filter((n) => !done.has(n));
  const groups = expandWaves(spec.rollout.waves, [...done, ...remaining]);
  const waves: WaveState[] = started.map((w) => ({
    index: w.wave,
    nodes: w.nodes,
    state: w.status,
    outcomes: {},
  }));
  const left = new Set(remaining);
  for (let index = started.length; index < view.waveCount; index++) {
    const last = index === view.waveCount - 1;
    const nodes = last ? [...left] : (groups[index] ?? []).filter((n) => left.has(n));
    for (const n of nodes) left.delete(n);
    waves.push({ index, nodes, state: 'pending', outcomes: {} });
  }
  const current = view.currentWave ?? -1;
  const currentWave = waves[current];
  const going = view.status === 'running' || view.status === 'held';
  // Between two waves (a pause, or a crash right after WaveCompleted): the next one is due at
  // completion + pause. A held wave an operator resumed is completed too.
  const between = going && currentWave?.state === 'completed' && current < waves.length - 1;
  const status: RolloutState['status'] =
    view.status === 'rolled-back' || view.status === 'completed'
      ? view.status
      : currentWave?.state === 'held'
        ? 'held'
        : between
          ? 'paused'
          : 'running';
  return {
    status,
    rolloutId: view.rolloutId,
    policy: view.policy,
    policyVersion: view.policyVersion,
    spec,
    previous,
    waves,
    current,
    ...(between
      ? {
          resumeAtMs:
            (completedAt === undefined ? 0 : Date.parse(completedAt)) +
            spec.rollout.pauseSeconds * 1000,
        }
      : {}),
  };
};
