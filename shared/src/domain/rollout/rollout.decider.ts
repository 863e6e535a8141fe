/**
 * The rollout of one policy version, wave by wave (docs/fleet-protocol.md, "Rollouts"), as the
 * decider that owns the stream `rollout-<policy>-v<version>`: its state is the fold of that stream
 * alone, so a restarted coordinator is its log.
 *
 * - StartRollout: RolloutStarted (with the wave split, fixed now) and WaveStarted of wave 0; no
 *   node selected: RolloutStarted and RolloutCompleted.
 * - AdvanceRollout {now, verdicts}: judges the current wave from each node's verdict, which the
 *   shell derives from the log (the node observed the generation the wave gave it, or reported a
 *   failed attach at it). The failure gate holds the wave (WaveHeld) as soon as failed/total >
 *   maxFailureRatio, even before every node is judged. Once every node is judged: WaveCompleted,
 *   then the next wave, or nothing until the pause after it ends (a later AdvanceRollout with a
 *   `now` past it starts the next wave), or RolloutCompleted after the last wave.
 * - ResumeRollout: an operator overrides the gate of a held wave (WaveCompleted with its counts
 *   and the override as reason, then what follows it) or cuts a pause short.
 * - RollbackRollout: RolloutRolledBack; the shell then gives every node of the started waves the
 *   previous version back (`rolloutRollbackNodes`).
 *
 * The nodes to give the new version are those of each WaveStarted the decision holds; the shell
 * sends them through the node assignment decider. Wave indices are 0-based.
 */
import type { Decided, Decider, Decision } from '../decider.js';
import { accept, nothing, reject } from '../decider.js';
import type { FleetRecordedEvent, RolloutKind } from '../fleet.events.js';
import type {
  RolloutCompleted,
  RolloutRolledBack,
  RolloutStarted,
  WaveCompleted,
  WaveHeld,
  WaveStarted,
} from '../fleet.events.js';
import { expandWaves } from '../policy/policy.select.js';
import type { RolloutSpec } from '../policy/policy.types.js';

export type RolloutEvent =
  RolloutStarted | WaveStarted | WaveHeld | WaveCompleted | RolloutCompleted | RolloutRolledBack;

export type RolloutStatus = 'none' | 'running' | 'paused' | 'held' | 'completed' | 'rolled-back';

export interface RolloutWave {
  readonly index: number;
  readonly nodes: readonly string[];
  readonly state: 'running' | 'held' | 'completed';
  /** when it completed (ISO 8601, the event's occurredAt) */
  readonly completedAt?: string;
}

export interface RolloutState {
  readonly status: RolloutStatus;
  readonly rolloutId: string;
  readonly policy: string;
  readonly policyVersion: number;
  /** the version the nodes ran before (null: a new policy; undefined: not recorded) */
  readonly previousVersion: number | null | undefined;
  readonly waveCount: number;
  /** the split fixed at start (null: a rollout recorded before the split was) */
  readonly plannedWaves: readonly (readonly string[])[] | null;
  /** the waves started so far */
  readonly waves: readonly RolloutWave[];
  /** index of the wave running, held, or last completed (-1: none yet) */
  readonly current: number;
  /** who started it */
  readonly startedBy: string;
  /**
   * what it gives its nodes: `apply` and `rollback` give `policyVersion`, `release` takes the
   * policy away (a delete, or a rollback of a policy's first version)
   */
  readonly kind: RolloutKind;
  /** the rollout a rollback (or a release of a first version) undoes */
  readonly rollsBack: string | null;
}

/** The rollout spec of a rollback or a release: every node at once, never held by the gate. */
export const UNDO_ROLLOUT: RolloutSpec = { waves: ['100%'], maxFailureRatio: 1, pauseSeconds: 0 };

/** How the shell judged one node of the current wave (undefined: not yet). */
export type NodeVerdict = 'succeeded' | 'failed' | undefined;

interface At {
  /** ISO 8601 instant from the shell's clock */
  readonly now: string;
  /** `user:alice`, `coordinator`: the actor of the events decided */
  readonly actor: string;
}

export type StartRollout = Readonly<{
  type: 'StartRollout';
  data: Readonly<{
    rolloutId: string;
    policy: string;
    policyVersion: number;
    previousVersion: number | null;
    rollout: RolloutSpec;
    /** ids of the selected nodes, split into waves by `expandWaves` */
    nodes: readonly string[];
    /** absent: `apply` */
    kind?: RolloutKind;
    rollsBack?: string;
  }>;
  metadata: At;
}>;

interface Judged {
  readonly rollout: RolloutSpec;
  /** verdicts of the nodes of the current wave */
  readonly verdicts: Readonly<Record<string, NodeVerdict>>;
  /**
   * the nodes the policy version selects now: only for a rollout recorded without its split, whose
   * waves not yet started are split again over them
   */
  readonly candidates: readonly string[];
}

export type AdvanceRollout = Readonly<{
  type: 'AdvanceRollout';
  data: Readonly<Judged>;
  metadata: At;
}>;
export type ResumeRollout = Readonly<{
  type: 'ResumeRollout';
  data: Readonly<Judged>;
  metadata: At;
}>;
export type RollbackRollout = Readonly<{
  type: 'RollbackRollout';
  data: Readonly<{ reason: string }>;
  metadata: At;
}>;
export type RolloutCommand = StartRollout | AdvanceRollout | ResumeRollout | RollbackRollout;

export const initialRolloutState = (): RolloutState => ({
  status: 'none',
  rolloutId: '',
  policy: '',
  policyVersion: 0,
  previousVersion: undefined,
  waveCount: 0,
  plannedWaves: null,
  waves: [],
  current: -1,
  startedBy: '',
  kind: 'apply',
  rollsBack: null,
});

const idOf = (event: RolloutEvent): string => {
  const r = `rollout:${event.data.rolloutId}`;
  switch (event.type) {
    case 'RolloutStarted':
      return `${r}:started`;
    case 'WaveStarted':
      return `${r}:wave:${event.data.wave}:started`;
    case 'WaveHeld':
      return `${r}:wave:${event.data.wave}:held`;
    case 'WaveCompleted':
      return `${r}:wave:${event.data.wave}:completed`;
    case 'RolloutCompleted':
      return `${r}:completed`;
    case 'RolloutRolledBack':
      return `${r}:rolled-back`;
  }
};

const decided = (event: RolloutEvent): Decided<RolloutEvent> => ({ id: idOf(event), event });

const countsOf = (
  nodes: readonly string[],
  verdicts: Readonly<Record<string, NodeVerdict>>,
): { succeeded: number; failed: number } => {
  let succeeded = 0;
  let failed = 0;
  for (const n of nodes) {
    const v = verdicts[n];
    if (v === 'succeeded') succeeded++;
    else if (v === 'failed') failed++;
  }
  return { succeeded, failed };
};

const round = (ratio: number): number => Math.round(ratio * 1000) / 1000;

/** The nodes of wave `index`: the split fixed at start, else split again over the candidates. */
export const nodesOfWave = (state: RolloutState, index: number, judged: Judged): string[] => {
  const started = state.waves.find((w) => w.index === index);
  if (started) return [...started.nodes];
  if (state.plannedWaves) return [...(state.plannedWaves[index] ?? [])];
  const done = new Set(state.waves.flatMap((w) => w.nodes));
  const remaining = judged.candidates.filter((n) => !done.has(n));
  if (index === state.waveCount - 1) return remaining;
  const groups = expandWaves(judged.rollout.waves, [...done, ...remaining]);
  return (groups[index] ?? []).filter((n) => !done.has(n));
};

/** When the pause after the current (completed) wave ends, in epoch ms (undefined: no pause due). */
export const pauseEndsAt = (state: RolloutState, rollout: RolloutSpec): number | undefined => {
  if (state.status !== 'paused') return undefined;
  const completedAt = state.waves.find((w) => w.index === state.current)?.completedAt;
  const at = completedAt === undefined ? 0 : Date.parse(completedAt);
  return (Number.isNaN(at) ? 0 : at) + rollout.pauseSeconds * 1000;
};

const waveStarted = (state: RolloutState, index: number, judged: Judged): RolloutEvent => ({
  type: 'WaveStarted',
  data: { rolloutId: state.rolloutId, wave: index, nodes: nodesOfWave(state, index, judged) },
});

/** WaveCompleted of the current wave and what follows it without waiting. */
const completeWave = (
  state: RolloutState,
  judged: Judged,
  reason: string | undefined,
): RolloutEvent[] => {
  const wave = state.waves.find((w) => w.index === state.current);
  if (!wave) return [];
  const events: RolloutEvent[] = [
    {
      type: 'WaveCompleted',
      data: {
        rolloutId: state.rolloutId,
        wave: wave.index,
        ...countsOf(wave.nodes, judged.verdicts),
        ...(reason === undefined ? {} : { reason }),
      },
    },
  ];
  if (wave.index + 1 >= state.waveCount) {
    events.push({ type: 'RolloutCompleted', data: { rolloutId: state.rolloutId } });
  } else if (judged.rollout.pauseSeconds <= 0) {
    events.push(waveStarted(state, wave.index + 1, judged));
  }
  return events;
};

const onStart = (command: StartRollout, state: RolloutState): Decision<RolloutEvent> => {
  if (state.status !== 'none') return nothing();
  const { rolloutId, policy, policyVersion, previousVersion, rollout, nodes, kind, rollsBack } =
    command.data;
  const split = expandWaves(rollout.waves, nodes);
  const started: RolloutEvent = {
    type: 'RolloutStarted',
    data: {
      rolloutId,
      policy,
      policyVersion,
      waves: split.length,
      waveNodes: split,
      previousVersion,
      ...(kind === undefined || kind === 'apply' ? {} : { kind }),
      ...(rollsBack === undefined ? {} : { rollsBack }),
    },
  };
  if (split.length === 0) {
    // a rollout counts at least one wave on the wire (`waves` is positive)
    return accept(
      [
        { ...started, data: { ...started.data, waves: 1, waveNodes: [[]] } },
        { type: 'RolloutCompleted', data: { rolloutId } },
      ].map((e) => decided(e as RolloutEvent)),
    );
  }
  return accept(
    [started, { type: 'WaveStarted', data: { rolloutId, wave: 0, nodes: split[0]! } }].map((e) =>
      decided(e as RolloutEvent),
    ),
  );
};

const onAdvance = (command: AdvanceRollout, state: RolloutState): Decision<RolloutEvent> => {
  const judged = command.data;
  if (state.status === 'paused') {
    const endsAt = pauseEndsAt(state, judged.rollout) ?? 0;
    const now = Date.parse(command.metadata.now);
    if (Number.isNaN(now) || now < endsAt) return nothing();
    return accept([decided(waveStarted(state, state.current + 1, judged))]);
  }
  if (state.status !== 'running') return nothing();
  const wave = state.waves.find((w) => w.index === state.current);
  if (!wave || wave.state !== 'running') return nothing();
  const { succeeded, failed } = countsOf(wave.nodes, judged.verdicts);
  const ratio = wave.nodes.length === 0 ? 0 : failed / wave.nodes.length;
  if (ratio > judged.rollout.maxFailureRatio) {
    const reason = `${failed} of ${wave.nodes.length} nodes failed in wave ${wave.index} (failure ratio ${round(ratio)} > maxFailureRatio ${judged.rollout.maxFailureRatio})`;
    return accept([
      decided({
        type: 'WaveHeld',
        data: { rolloutId: state.rolloutId, wave: wave.index, reason, failureRatio: ratio },
      }),
    ]);
  }
  if (succeeded + failed < wave.nodes.length) return nothing();
  return accept(completeWave(state, judged, undefined).map(decided));
};

const onResume = (command: ResumeRollout, state: RolloutState): Decision<RolloutEvent> => {
  if (state.status === 'paused') {
    return accept([decided(waveStarted(state, state.current + 1, command.data))]);
  }
  if (state.status !== 'held') {
    return reject(
      'Conflict',
      `rollout ${state.rolloutId || '(none)'} is ${state.status}: only a held or paused rollout resumes`,
    );
  }
  const reason = `resumed by ${command.metadata.actor} despite the failure gate`;
  return accept(completeWave(state, command.data, reason).map(decided));
};

const onRollback = (command: RollbackRollout, state: RolloutState): Decision<RolloutEvent> => {
  if (state.status === 'none' || state.status === 'rolled-back') {
    return reject('Conflict', `rollout ${state.rolloutId || '(none)'} has nothing to roll back`);
  }
  return accept([
    decided({
      type: 'RolloutRolledBack',
      data: { rolloutId: state.rolloutId, reason: command.data.reason },
    }),
  ]);
};

export const decideRollout = (
  command: RolloutCommand,
  state: RolloutState,
): Decision<RolloutEvent> => {
  switch (command.type) {
    case 'StartRollout':
      return onStart(command, state);
    case 'AdvanceRollout':
      return onAdvance(command, state);
    case 'ResumeRollout':
      return onResume(command, state);
    case 'RollbackRollout':
      return onRollback(command, state);
  }
};

const withWave = (
  state: RolloutState,
  index: number,
  change: (wave: RolloutWave) => RolloutWave,
): readonly RolloutWave[] => state.waves.map((w) => (w.index === index ? change(w) : w));

export const evolveRollout = (state: RolloutState, event: FleetRecordedEvent): RolloutState => {
  switch (event.type) {
    case 'RolloutStarted':
      return {
        ...initialRolloutState(),
        status: 'running',
        rolloutId: event.data.rolloutId,
        policy: event.data.policy,
        policyVersion: event.data.policyVersion,
        previousVersion: event.data.previousVersion,
        waveCount: event.data.waves,
        plannedWaves: event.data.waveNodes ?? null,
        startedBy: event.metadata.actor,
        kind: event.data.kind ?? 'apply',
        rollsBack: event.data.rollsBack ?? null,
      };
    case 'WaveStarted': {
      const wave: RolloutWave = {
        index: event.data.wave,
        nodes: event.data.nodes,
        state: 'running',
      };
      return {
        ...state,
        status: 'running',
        current: event.data.wave,
        waves: [...state.waves.filter((w) => w.index !== event.data.wave), wave].sort(
          (a, b) => a.index - b.index,
        ),
      };
    }
    case 'WaveHeld':
      return {
        ...state,
        status: 'held',
        waves: withWave(state, event.data.wave, (w) => ({ ...w, state: 'held' })),
      };
    case 'WaveCompleted': {
      const last = event.data.wave + 1 >= state.waveCount;
      return {
        ...state,
        status: last ? state.status : 'paused',
        waves: withWave(state, event.data.wave, (w) => ({
          ...w,
          state: 'completed',
          completedAt: event.metadata.occurredAt,
        })),
      };
    }
    case 'RolloutCompleted':
      return { ...state, status: 'completed' };
    case 'RolloutRolledBack':
      return { ...state, status: 'rolled-back' };
    default:
      return state;
  }
};

/** Every node a rollback gives the previous version back: those of the waves started. */
export const rolloutRollbackNodes = (state: RolloutState): readonly string[] =>
  state.waves.flatMap((w) => w.nodes);

export const rolloutDecider: Decider<RolloutState, RolloutCommand, RolloutEvent> = {
  initialState: initialRolloutState,
  decide: decideRollout,
  evolve: evolveRollout,
};
