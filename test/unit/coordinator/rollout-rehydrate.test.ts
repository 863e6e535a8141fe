import { describe, expect, it } from 'vitest';
import type { PolicySpec } from '@tramway/shared/domain';
import { runRolloutStep } from '@tramway/shared/domain';
import type { RolloutView, WaveView } from '@tramway/shared/projections';
import { rehydrateRollout } from '../../../services/coordinator/src/rollout/rollout-rehydrate.js';

const spec = (rollout: Partial<PolicySpec['rollout']> = {}): PolicySpec => ({
  program: { name: 'p', attach: 'fentry', sleepable: false, reads: [] },
  targets: [{ pattern: 'tcp_*' }],
  strategy: 'auto',
  rollout: { waves: [1, '50%', '100%'], maxFailureRatio: 0, pauseSeconds: 0, ...rollout },
});

const wave = (w: number, nodes: string[], status: WaveView['status']): WaveView => ({
  wave: w,
  status,
  nodes,
  reason: null,
  failureRatio: null,
  succeeded: null,
  failed: null,
});

const view = (over: Partial<RolloutView>): RolloutView => ({
  rolloutId: 'r1',
  policy: 'p',
  policyVersion: 2,
  waveCount: 3,
  status: 'running',
  currentWave: 0,
  waves: {},
  startedAt: '2026-11-25T10:00:00Z',
  startedBy: 'user:a',
  reason: null,
  ...over,
});

const nodes = ['n1', 'n2', 'n3', 'n4'];

describe('rehydrateRollout', () => {
  it('keeps started waves as recorded and splits the others over the nodes selected now', () => {
    const state = rehydrateRollout({
      view: view({ waves: { '0': wave(0, ['n1'], 'running') } }),
      spec: spec(),
      previous: { version: 1, spec: spec() },
      candidates: nodes,
      completedAt: undefined,
    });
    expect(state).toMatchObject({ status: 'running', current: 0, policyVersion: 2 });
    expect(state.waves.map((w) => [w.nodes, w.state])).toEqual([
      [['n1'], 'running'],
      [['n2'], 'pending'],
      [['n3', 'n4'], 'pending'],
    ]);
  });

  it('gives the last wave every node left when the fleet grew', () => {
    const state = rehydrateRollout({
      view: view({ waves: { '0': wave(0, ['n1'], 'running') } }),
      spec: spec(),
      previous: null,
      candidates: [...nodes, 'n5', 'n6'],
      completedAt: undefined,
    });
    expect(state.waves.flatMap((w) => w.nodes).sort()).toEqual([
      'n1',
      'n2',
      'n3',
      'n4',
      'n5',
      'n6',
    ]);
  });

  it('is held when its current wave is held, and a resume then completes the wave', () => {
    const state = rehydrateRollout({
      view: view({ status: 'held', waves: { '0': wave(0, ['n1'], 'held') } }),
      spec: spec(),
      previous: null,
      candidates: nodes,
      completedAt: undefined,
    });
    expect(state.status).toBe('held');
    const resumed = runRolloutStep(state, {
      type: 'ResumeRollout',
      data: { rolloutId: 'r1' },
      metadata: { now: '2026-11-25T10:05:00Z', actor: 'user:b' },
    });
    expect(resumed.outputs.map((o) => (o.kind === 'Publish' ? o.event.type : o.kind))).toEqual([
      'WaveCompleted',
      'WaveStarted',
      'Send',
    ]);
  });

  it('is paused between waves until completion + pause, then the next wave starts at a tick', () => {
    const state = rehydrateRollout({
      view: view({ waves: { '0': wave(0, ['n1'], 'completed') } }),
      spec: spec({ pauseSeconds: 60 }),
      previous: null,
      candidates: nodes,
      completedAt: '2026-11-25T10:00:00.000Z',
    });
    expect(state).toMatchObject({
      status: 'paused',
      resumeAtMs: Date.parse('2026-11-25T10:01:00.000Z'),
    });
    const early = runRolloutStep(state, {
      type: 'Tick',
      data: { rolloutId: 'r1' },
      metadata: { now: '2026-11-25T10:00:30.000Z' },
    });
    expect(early.outputs.map((o) => o.kind)).toEqual(['Ignore']);
    const due = runRolloutStep(state, {
      type: 'Tick',
      data: { rolloutId: 'r1' },
      metadata: { now: '2026-11-25T10:01:00.000Z' },
    });
    const started = due.outputs.find((o) => o.kind === 'Publish');
    expect(started?.kind === 'Publish' && started.event).toEqual({
      type: 'WaveStarted',
      data: { rolloutId: 'r1', wave: 1, nodes: ['n2'] },
    });
  });

  it('keeps terminal states', () => {
    for (const status of ['completed', 'rolled-back'] as const) {
      expect(
        rehydrateRollout({
          view: view({ status, waves: { '0': wave(0, ['n1'], 'completed') } }),
          spec: spec(),
          previous: null,
          candidates: nodes,
          completedAt: undefined,
        }).status,
      ).toBe(status);
    }
  });
});
