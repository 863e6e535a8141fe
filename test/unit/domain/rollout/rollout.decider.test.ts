import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  AdvanceRollout,
  NodeVerdict,
  ResumeRollout,
  RollbackRollout,
  RolloutCommand,
  RolloutEvent,
  RolloutSpec,
  RolloutState,
  StartRollout,
  WaveSize,
} from '@tramway/shared/domain';
import {
  UNDO_ROLLOUT,
  nodesOfWave,
  pauseEndsAt,
  rolloutDecider,
  rolloutRollbackNodes,
} from '@tramway/shared/domain';
import type { Decided, FleetRecordedEvent } from '@tramway/shared/domain';
import { decodeFleetEvent } from '@tramway/shared/contracts';
import type { GivenEvent } from '../../../support/given-when-then.js';
import {
  deciderSpec,
  foldEvents,
  recordDecided,
  recordEvents,
} from '../../../support/given-when-then.js';

const sut = deciderSpec(rolloutDecider);

const ID = 'tcp-latency-v2';
const T0 = Date.parse('2026-12-01T12:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const spec = (over: Partial<RolloutSpec> = {}): RolloutSpec => ({
  waves: [1, '50%', '100%'],
  maxFailureRatio: 0,
  pauseSeconds: 0,
  ...over,
});

const start = (
  nodes: readonly string[],
  rollout: RolloutSpec = spec(),
  now = at(0),
): StartRollout => ({
  type: 'StartRollout',
  data: {
    rolloutId: ID,
    policy: 'tcp-latency',
    policyVersion: 2,
    previousVersion: 1,
    rollout,
    nodes,
  },
  metadata: { now, actor: 'user:alice' },
});

interface JudgedOptions {
  readonly rollout?: RolloutSpec;
  readonly now?: string;
  readonly actor?: string;
  readonly candidates?: readonly string[];
}

const advance = (
  verdicts: Readonly<Record<string, NodeVerdict>>,
  { rollout = spec(), now = at(100), actor = 'coordinator', candidates = [] }: JudgedOptions = {},
): AdvanceRollout => ({
  type: 'AdvanceRollout',
  data: { rollout, verdicts, candidates },
  metadata: { now, actor },
});

const resume = (
  verdicts: Readonly<Record<string, NodeVerdict>>,
  { rollout = spec(), now = at(100), actor = 'user:bob', candidates = [] }: JudgedOptions = {},
): ResumeRollout => ({
  type: 'ResumeRollout',
  data: { rollout, verdicts, candidates },
  metadata: { now, actor },
});

const rollback = (reason = 'v2 breaks tcp', actor = 'user:carol'): RollbackRollout => ({
  type: 'RollbackRollout',
  data: { reason },
  metadata: { now: at(200), actor },
});

// ---- events, as the log holds them ----

const rolloutStarted = (
  waveNodes: readonly (readonly string[])[],
  metadata?: GivenEvent['metadata'],
): GivenEvent => ({
  type: 'RolloutStarted',
  data: {
    rolloutId: ID,
    policy: 'tcp-latency',
    policyVersion: 2,
    waves: waveNodes.length,
    waveNodes,
    previousVersion: 1,
  },
  ...(metadata ? { metadata } : {}),
});
/** As the coordinator before the rollout decider recorded it: no split, no previous version. */
const legacyRolloutStarted = (waves: number): GivenEvent => ({
  type: 'RolloutStarted',
  data: { rolloutId: ID, policy: 'tcp-latency', policyVersion: 2, waves },
});
const waveStarted = (wave: number, nodes: readonly string[]): GivenEvent => ({
  type: 'WaveStarted',
  data: { rolloutId: ID, wave, nodes },
});
const waveHeld = (wave: number, failureRatio = 1): GivenEvent => ({
  type: 'WaveHeld',
  data: { rolloutId: ID, wave, reason: 'failed', failureRatio },
});
const waveCompleted = (
  wave: number,
  succeeded: number,
  failed = 0,
  occurredAt = at(50),
): GivenEvent => ({
  type: 'WaveCompleted',
  data: { rolloutId: ID, wave, succeeded, failed },
  metadata: { occurredAt },
});
const rolloutCompleted: GivenEvent = { type: 'RolloutCompleted', data: { rolloutId: ID } };
const rolledBack: GivenEvent = {
  type: 'RolloutRolledBack',
  data: { rolloutId: ID, reason: 'earlier' },
};

// ---- decided events, with their ids ----

const decided = (event: RolloutEvent): Decided<RolloutEvent> => {
  const r = `rollout:${ID}`;
  const suffix: Record<RolloutEvent['type'], string> = {
    RolloutStarted: 'started',
    WaveStarted: `wave:${(event.data as { wave?: number }).wave}:started`,
    WaveHeld: `wave:${(event.data as { wave?: number }).wave}:held`,
    WaveCompleted: `wave:${(event.data as { wave?: number }).wave}:completed`,
    RolloutCompleted: 'completed',
    RolloutRolledBack: 'rolled-back',
  };
  return { id: `${r}:${suffix[event.type]}`, event };
};
const decidedWaveStarted = (wave: number, nodes: readonly string[]) =>
  decided({ type: 'WaveStarted', data: { rolloutId: ID, wave, nodes } });
const decidedWaveCompleted = (wave: number, succeeded: number, failed: number, reason?: string) =>
  decided({
    type: 'WaveCompleted',
    data: { rolloutId: ID, wave, succeeded, failed, ...(reason === undefined ? {} : { reason }) },
  });
const decidedRolloutCompleted = decided({ type: 'RolloutCompleted', data: { rolloutId: ID } });

const FOUR = ['node-a', 'node-b', 'node-c', 'node-d'];
const SPLIT = [['node-a'], ['node-b'], ['node-c', 'node-d']];
const all = (nodes: readonly string[], verdict: NodeVerdict) =>
  Object.fromEntries(nodes.map((n) => [n, verdict]));

describe('rolloutDecider', () => {
  describe('StartRollout', () => {
    it('splits the nodes into waves (sorted, cumulative sizes) and starts wave 0', () => {
      const state = sut
        .given([])
        .when(start(['node-d', 'node-b', 'node-a', 'node-c']))
        .then([
          decided({
            type: 'RolloutStarted',
            data: {
              rolloutId: ID,
              policy: 'tcp-latency',
              policyVersion: 2,
              waves: 3,
              waveNodes: SPLIT,
              previousVersion: 1,
            },
          }),
          decidedWaveStarted(0, ['node-a']),
        ]);
      expect(state).toMatchObject({
        status: 'running',
        current: 0,
        waveCount: 3,
        previousVersion: 1,
        startedBy: 'user:alice',
        waves: [{ index: 0, nodes: ['node-a'], state: 'running' }],
      });
    });

    it('records what a rollback or a release rollout gives its nodes (kind, rollsBack)', () => {
      const state = sut
        .given([])
        .when({
          ...start(['node-b', 'node-a'], UNDO_ROLLOUT),
          data: {
            ...start(['node-b', 'node-a'], UNDO_ROLLOUT).data,
            policyVersion: 1,
            previousVersion: 2,
            kind: 'rollback',
            rollsBack: 'tcp-latency-v2-old',
          },
        })
        .then([
          decided({
            type: 'RolloutStarted',
            data: {
              rolloutId: ID,
              policy: 'tcp-latency',
              policyVersion: 1,
              waves: 1,
              waveNodes: [['node-a', 'node-b']],
              previousVersion: 2,
              kind: 'rollback',
              rollsBack: 'tcp-latency-v2-old',
            },
          }),
          decidedWaveStarted(0, ['node-a', 'node-b']),
        ]);
      expect(state).toMatchObject({ kind: 'rollback', rollsBack: 'tcp-latency-v2-old' });
      // an apply says nothing of its kind on the wire, and is an apply
      const applied = sut
        .given([])
        .when(start(['node-a']))
        .then([
          decided({
            type: 'RolloutStarted',
            data: {
              rolloutId: ID,
              policy: 'tcp-latency',
              policyVersion: 2,
              waves: 1,
              waveNodes: [['node-a']],
              previousVersion: 1,
            },
          }),
          decidedWaveStarted(0, ['node-a']),
        ]);
      expect(applied).toMatchObject({ kind: 'apply', rollsBack: null });
    });

    it('never holds an undo rollout (UNDO_ROLLOUT): its wave completes whatever fails', () => {
      sut
        .given([rolloutStarted([['node-a', 'node-b']]), waveStarted(0, ['node-a', 'node-b'])])
        .when(advance({ 'node-a': 'failed', 'node-b': 'succeeded' }, { rollout: UNDO_ROLLOUT }))
        .then([decidedWaveCompleted(0, 1, 1), decidedRolloutCompleted]);
    });

    it('drops a wave that would add no node (10% of 5 after a first wave of 1)', () => {
      sut
        .given([])
        .when(start(['n1', 'n2', 'n3', 'n4', 'n5'], spec({ waves: [1, '10%', '100%'] })))
        .then([
          decided({
            type: 'RolloutStarted',
            data: {
              rolloutId: ID,
              policy: 'tcp-latency',
              policyVersion: 2,
              waves: 2,
              waveNodes: [['n1'], ['n2', 'n3', 'n4', 'n5']],
              previousVersion: 1,
            },
          }),
          decidedWaveStarted(0, ['n1']),
        ]);
    });

    it('completes at once when no node is selected (one empty wave on the wire)', () => {
      const state = sut
        .given([])
        .when(start([]))
        .then([
          decided({
            type: 'RolloutStarted',
            data: {
              rolloutId: ID,
              policy: 'tcp-latency',
              policyVersion: 2,
              waves: 1,
              waveNodes: [[]],
              previousVersion: 1,
            },
          }),
          decidedRolloutCompleted,
        ]);
      expect(state.status).toBe('completed');
      expect(rolloutRollbackNodes(state)).toEqual([]);
    });

    it('does nothing for a rollout already started (the command is idempotent)', () => {
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a'])])
        .when(start(FOUR))
        .thenNothingHappened();
    });
  });

  describe('AdvanceRollout', () => {
    it('waits while a node of the wave is not judged yet', () => {
      sut
        .given([
          rolloutStarted([['node-a', 'node-b'], ['node-c']]),
          waveStarted(0, ['node-a', 'node-b']),
        ])
        .when(advance({ 'node-a': 'succeeded', 'node-b': undefined }))
        .thenNothingHappened();
    });

    it('holds the wave as soon as failed/total exceeds maxFailureRatio, before every node is judged', () => {
      const rollout = spec({ waves: [4, '100%'], maxFailureRatio: 0.25 });
      const state = sut
        .given([rolloutStarted([FOUR, ['node-e']]), waveStarted(0, FOUR)])
        .when(
          advance(
            { 'node-a': 'failed', 'node-b': 'failed', 'node-c': undefined, 'node-d': undefined },
            { rollout },
          ),
        )
        .then([
          decided({
            type: 'WaveHeld',
            data: {
              rolloutId: ID,
              wave: 0,
              reason: '2 of 4 nodes failed in wave 0 (failure ratio 0.5 > maxFailureRatio 0.25)',
              failureRatio: 0.5,
            },
          }),
        ]);
      expect(state.status).toBe('held');
      expect(state.waves[0]!.state).toBe('held');
    });

    it('does not hold at exactly maxFailureRatio (the gate is strict)', () => {
      const rollout = spec({ waves: [4, '100%'], maxFailureRatio: 0.25 });
      sut
        .given([rolloutStarted([FOUR, ['node-e']]), waveStarted(0, FOUR)])
        .when(advance({ 'node-a': 'failed', 'node-b': 'succeeded' }, { rollout }))
        .thenNothingHappened();
    });

    it('holds on the first failure with the default gate (maxFailureRatio 0)', () => {
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a'])])
        .when(advance({ 'node-a': 'failed' }))
        .then([
          decided({
            type: 'WaveHeld',
            data: {
              rolloutId: ID,
              wave: 0,
              reason: '1 of 1 nodes failed in wave 0 (failure ratio 1 > maxFailureRatio 0)',
              failureRatio: 1,
            },
          }),
        ]);
    });

    it('completes a wave once every node is judged and starts the next one (no pause)', () => {
      const rollout = spec({ waves: [2, '100%'], maxFailureRatio: 0.5 });
      const state = sut
        .given([
          rolloutStarted([
            ['node-a', 'node-b'],
            ['node-c', 'node-d'],
          ]),
          waveStarted(0, ['node-a', 'node-b']),
        ])
        .when(advance({ 'node-a': 'succeeded', 'node-b': 'failed' }, { rollout, now: at(30) }))
        .then([decidedWaveCompleted(0, 1, 1), decidedWaveStarted(1, ['node-c', 'node-d'])]);
      expect(state).toMatchObject({ status: 'running', current: 1 });
      expect(state.waves.map((w) => [w.index, w.state, w.completedAt])).toEqual([
        [0, 'completed', at(30)],
        [1, 'running', undefined],
      ]);
    });

    it('completes the rollout with its last wave', () => {
      const state = sut
        .given([
          rolloutStarted(SPLIT),
          waveStarted(0, ['node-a']),
          waveCompleted(0, 1),
          waveStarted(1, ['node-b']),
          waveCompleted(1, 1),
          waveStarted(2, ['node-c', 'node-d']),
        ])
        .when(advance(all(['node-c', 'node-d'], 'succeeded')))
        .then([decidedWaveCompleted(2, 2, 0), decidedRolloutCompleted]);
      expect(state.status).toBe('completed');
      expect(rolloutRollbackNodes(state)).toEqual(FOUR);
    });

    it('waits out the pause after a wave: the next wave starts once now >= completedAt + pause', () => {
      const rollout = spec({ pauseSeconds: 60 });
      // the wave completes: nothing follows it yet
      const paused = sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a'])])
        .when(advance({ 'node-a': 'succeeded' }, { rollout, now: at(10) }))
        .then([decidedWaveCompleted(0, 1, 0)]);
      expect(paused.status).toBe('paused');
      expect(pauseEndsAt(paused, rollout)).toBe(T0 + 70_000);

      const given = sut.given([
        rolloutStarted(SPLIT),
        waveStarted(0, ['node-a']),
        waveCompleted(0, 1, 0, at(10)),
      ]);
      given.when(advance({}, { rollout, now: at(69.999) })).thenNothingHappened();
      given.when(advance({}, { rollout, now: at(70) })).then([decidedWaveStarted(1, ['node-b'])]);
    });

    it('does nothing on a held wave, whatever the verdicts: the operator resumes or rolls back', () => {
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a']), waveHeld(0)])
        .when(advance({ 'node-a': 'succeeded' }))
        .thenNothingHappened();
    });

    it('does nothing on a rollout that ended or never started', () => {
      const verdicts = { 'node-a': 'succeeded' } as const;
      sut.given([]).when(advance(verdicts)).thenNothingHappened();
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a']), rolledBack])
        .when(advance(verdicts))
        .thenNothingHappened();
      sut
        .given([
          rolloutStarted([['node-a']]),
          waveStarted(0, ['node-a']),
          waveCompleted(0, 1),
          rolloutCompleted,
        ])
        .when(advance(verdicts))
        .thenNothingHappened();
    });

    it('does nothing at a pause after a rollback (a rolled-back rollout starts no wave)', () => {
      sut
        .given([
          rolloutStarted(SPLIT),
          waveStarted(0, ['node-a']),
          waveCompleted(0, 1, 0, at(10)),
          rolledBack,
        ])
        .when(advance({}, { rollout: spec({ pauseSeconds: 1 }), now: at(1000) }))
        .thenNothingHappened();
    });
  });

  describe('ResumeRollout', () => {
    it('completes a held wave with the override as its reason, then starts the next one', () => {
      const state = sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a']), waveHeld(0)])
        .when(resume({ 'node-a': 'failed' }, { actor: 'user:bob', now: at(90) }))
        .then([
          decidedWaveCompleted(0, 0, 1, 'resumed by user:bob despite the failure gate'),
          decidedWaveStarted(1, ['node-b']),
        ]);
      expect(state).toMatchObject({ status: 'running', current: 1 });
      expect(state.waves[0]).toMatchObject({ state: 'completed', completedAt: at(90) });
    });

    it('completes the rollout when the held wave was the last one', () => {
      const state = sut
        .given([
          rolloutStarted([['node-a'], ['node-b']]),
          waveStarted(0, ['node-a']),
          waveCompleted(0, 1),
          waveStarted(1, ['node-b']),
          waveHeld(1),
        ])
        .when(resume({ 'node-b': 'failed' }))
        .then([
          decidedWaveCompleted(1, 0, 1, 'resumed by user:bob despite the failure gate'),
          decidedRolloutCompleted,
        ]);
      expect(state.status).toBe('completed');
    });

    it('leaves the pause after a resumed held wave to run its course', () => {
      const rollout = spec({ pauseSeconds: 30 });
      const state = sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a']), waveHeld(0)])
        .when(resume({ 'node-a': 'failed' }, { rollout, now: at(90) }))
        .then([decidedWaveCompleted(0, 0, 1, 'resumed by user:bob despite the failure gate')]);
      expect(state.status).toBe('paused');
      expect(pauseEndsAt(state, rollout)).toBe(T0 + 120_000);
    });

    it('cuts a pause short: the next wave starts now', () => {
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a']), waveCompleted(0, 1, 0, at(10))])
        .when(resume({}, { rollout: spec({ pauseSeconds: 3600 }), now: at(11) }))
        .then([decidedWaveStarted(1, ['node-b'])]);
    });

    it('refuses to resume a running rollout (Conflict)', () => {
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a'])])
        .when(resume({}))
        .thenRejects('Conflict', `rollout ${ID} is running: only a held or paused rollout resumes`);
    });

    it('refuses to resume a rollout that completed, was rolled back, or never started', () => {
      sut
        .given([
          rolloutStarted([['node-a']]),
          waveStarted(0, ['node-a']),
          waveCompleted(0, 1),
          rolloutCompleted,
        ])
        .when(resume({}))
        .thenRejects('Conflict', /is completed/);
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a']), waveHeld(0), rolledBack])
        .when(resume({}))
        .thenRejects('Conflict', /is rolled-back/);
      sut
        .given([])
        .when(resume({}))
        .thenRejects('Conflict', /rollout \(none\) is none/);
    });
  });

  describe('RollbackRollout', () => {
    it('rolls back a running rollout: every node of the waves started gets the previous version', () => {
      const state = sut
        .given([
          rolloutStarted(SPLIT),
          waveStarted(0, ['node-a']),
          waveCompleted(0, 1),
          waveStarted(1, ['node-b']),
        ])
        .when(rollback('v2 breaks tcp'))
        .then([
          decided({
            type: 'RolloutRolledBack',
            data: { rolloutId: ID, reason: 'v2 breaks tcp' },
          }),
        ]);
      expect(state.status).toBe('rolled-back');
      expect(state.previousVersion).toBe(1);
      expect(rolloutRollbackNodes(state)).toEqual(['node-a', 'node-b']);
    });

    it('rolls back a completed, held or paused rollout', () => {
      const expected = [
        decided({ type: 'RolloutRolledBack', data: { rolloutId: ID, reason: 'v2 breaks tcp' } }),
      ];
      sut
        .given([
          rolloutStarted([['node-a']]),
          waveStarted(0, ['node-a']),
          waveCompleted(0, 1),
          rolloutCompleted,
        ])
        .when(rollback())
        .then(expected);
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a']), waveHeld(0)])
        .when(rollback())
        .then(expected);
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a']), waveCompleted(0, 1)])
        .when(rollback())
        .then(expected);
    });

    it('refuses a second rollback (Conflict)', () => {
      sut
        .given([rolloutStarted(SPLIT), waveStarted(0, ['node-a']), rolledBack])
        .when(rollback())
        .thenRejects('Conflict', `rollout ${ID} has nothing to roll back`);
    });

    it('refuses to roll back a rollout that never started (Conflict)', () => {
      sut
        .given([])
        .when(rollback())
        .thenRejects('Conflict', /rollout \(none\)/);
    });
  });

  describe('a rollout recorded without waveNodes (previous coordinator)', () => {
    it('splits the waves not started over the candidates: the last one takes every node left', () => {
      const candidates = ['node-a', 'node-b', 'node-c', 'node-e'];
      const state = sut
        .given([legacyRolloutStarted(2), waveStarted(0, ['node-a', 'node-b'])])
        .when(advance(all(['node-a', 'node-b'], 'succeeded'), { candidates }))
        .then([decidedWaveCompleted(0, 2, 0), decidedWaveStarted(1, ['node-c', 'node-e'])]);
      expect(state.plannedWaves).toBeNull();
      expect(state.previousVersion).toBeUndefined();
      expect(rolloutRollbackNodes(state)).toEqual(['node-a', 'node-b', 'node-c', 'node-e']);
    });

    it('splits a middle wave as expandWaves would over the nodes done and the candidates left', () => {
      const rollout = spec({ waves: [1, '50%', '100%'] });
      const candidates = ['node-a', 'node-b', 'node-c', 'node-d'];
      const given = sut.given([legacyRolloutStarted(3), waveStarted(0, ['node-a'])]);
      given
        .when(advance({ 'node-a': 'succeeded' }, { rollout, candidates }))
        .then([decidedWaveCompleted(0, 1, 0), decidedWaveStarted(1, ['node-b'])]);
      const judged = { rollout, verdicts: {}, candidates };
      expect(nodesOfWave(given.state, 0, judged)).toEqual(['node-a']);
      expect(nodesOfWave(given.state, 2, judged)).toEqual(['node-b', 'node-c', 'node-d']);
    });

    it('never gives a node of a started wave to a later one', () => {
      // node-b joined wave 0 out of order (the fleet changed since): wave 1 must not take it again
      const rollout = spec({ waves: [1, '50%', '100%'] });
      const candidates = ['node-a', 'node-b', 'node-c', 'node-d'];
      const state = sut.given([legacyRolloutStarted(3), waveStarted(0, ['node-b'])]).state;
      const judged = { rollout, verdicts: {}, candidates };
      const wave1 = nodesOfWave(state, 1, judged);
      expect(wave1).not.toContain('node-b');
      expect(nodesOfWave(state, 2, judged)).toEqual(['node-a', 'node-c', 'node-d']);
    });
  });

  it('decides the same events with the same ids for the same command on the same log', () => {
    const given: GivenEvent[] = [rolloutStarted(SPLIT), waveStarted(0, ['node-a'])];
    const command = advance({ 'node-a': 'succeeded' });
    const first = sut.given(given).when(command).decision;
    const second = sut.given(given).when(command).decision;
    expect(second).toStrictEqual(first);
    expect(first.ok && first.events.map((d) => d.id)).toEqual([
      `rollout:${ID}:wave:0:completed`,
      `rollout:${ID}:wave:1:started`,
    ]);
  });
});

// ---- property: replay, wave membership, terminal statuses ----

const nodeIdsArb = fc.uniqueArray(
  fc.integer({ min: 0, max: 40 }).map((n) => `node-${String(n).padStart(2, '0')}`),
  { maxLength: 12 },
);

/** Increasing cumulative sizes ending at "100%", as validation guarantees. */
const wavesArb: fc.Arbitrary<WaveSize[]> = fc
  .array(
    fc.oneof(
      fc.integer({ min: 1, max: 6 }).map((n): WaveSize => n),
      fc.integer({ min: 1, max: 99 }).map((p): WaveSize => `${p}%`),
    ),
    { maxLength: 3 },
  )
  .map((sizes) => [...sizes, '100%' as const]);

const rolloutSpecArb: fc.Arbitrary<RolloutSpec> = fc.record({
  waves: wavesArb,
  maxFailureRatio: fc.constantFrom(0, 0.1, 0.25, 0.5, 1),
  pauseSeconds: fc.constantFrom(0, 0, 5, 60),
});

type Step =
  | { readonly kind: 'advance'; readonly afterMs: number; readonly seed: readonly number[] }
  | { readonly kind: 'resume'; readonly afterMs: number; readonly seed: readonly number[] }
  | { readonly kind: 'rollback'; readonly afterMs: number };

const verdictSeedArb = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 12 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      afterMs: fc.integer({ min: 0, max: 90_000 }),
      seed: verdictSeedArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('resume' as const),
      afterMs: fc.integer({ min: 0, max: 90_000 }),
      seed: verdictSeedArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('rollback' as const),
      afterMs: fc.integer({ min: 0, max: 90_000 }),
    }),
  },
);

/** 0-6 succeeded, 7-8 not judged yet, 9 failed */
const verdictOf = (seed: number): NodeVerdict =>
  seed <= 6 ? 'succeeded' : seed <= 8 ? undefined : 'failed';

const TERMINAL: ReadonlySet<RolloutState['status']> = new Set(['completed', 'rolled-back']);

describe('rolloutDecider (property)', () => {
  it('replays to the state it stepped to, puts every node in one wave, never leaves an end, honours pauses', () => {
    fc.assert(
      fc.property(
        nodeIdsArb,
        rolloutSpecArb,
        fc.integer({ min: 0, max: 2_000_000_000 }),
        fc.array(stepArb, { maxLength: 60 }),
        (nodes, rollout, startSeconds, steps) => {
          let nowMs = Date.parse('2024-01-01T00:00:00.000Z') + startSeconds * 1000;
          let position = recordEvents([]).next;
          let state = rolloutDecider.initialState();
          const log: FleetRecordedEvent[] = [];
          const statuses: RolloutState['status'][] = [];
          const completedAt = new Map<number, number>();

          const run = (command: RolloutCommand): void => {
            const decision = rolloutDecider.decide(command, state);
            if (!decision.ok) {
              expect(decision.rejection.code).toBe('Conflict');
              return;
            }
            // what the shell appends: every event through its wire schema, read back decoded
            const { recorded, next } = recordDecided(decision.events, command, position);
            position = next;
            const types = decision.events.map((d) => d.event.type);
            for (const e of recorded) {
              const decoded = decodeFleetEvent(e);
              expect(decoded.ok).toBe(true);
              if (decoded.ok) log.push(decoded.value);
              if (e.type === 'WaveCompleted') completedAt.set(e.data.wave, nowMs);
              if (e.type === 'WaveStarted' && e.data.wave > 0) {
                const previous = completedAt.get(e.data.wave - 1);
                expect(previous).toBeDefined();
                // a wave after a pause starts no earlier than its end, unless an operator resumed
                if (command.type === 'AdvanceRollout' && !types.includes('WaveCompleted')) {
                  expect(nowMs).toBeGreaterThanOrEqual(previous! + rollout.pauseSeconds * 1000);
                }
                if (rollout.pauseSeconds > 0 && command.type === 'AdvanceRollout') {
                  expect(types).not.toContain('WaveCompleted');
                }
              }
            }
            state = recorded.reduce((s, e) => rolloutDecider.evolve(s, e), state);
            statuses.push(state.status);
          };

          const started = { now: new Date(nowMs).toISOString(), actor: 'user:alice' };
          run({
            type: 'StartRollout',
            data: {
              rolloutId: 'p-v1',
              policy: 'p',
              policyVersion: 1,
              previousVersion: null,
              rollout,
              nodes,
            },
            metadata: started,
          });
          for (const step of steps) {
            nowMs += step.afterMs;
            const metadata = { now: new Date(nowMs).toISOString(), actor: 'user:bob' };
            if (step.kind === 'rollback') {
              run({ type: 'RollbackRollout', data: { reason: 'enough' }, metadata });
              continue;
            }
            const wave = state.waves.find((w) => w.index === state.current);
            const verdicts = Object.fromEntries(
              (wave?.nodes ?? []).map((n, i) => [n, verdictOf(step.seed[i % step.seed.length]!)]),
            );
            const data = { rollout, verdicts, candidates: nodes };
            run(
              step.kind === 'advance'
                ? { type: 'AdvanceRollout', data, metadata }
                : { type: 'ResumeRollout', data, metadata },
            );
          }

          // replaying the log from scratch gives the state stepped to
          expect(foldEvents(rolloutDecider, log)).toStrictEqual(state);
          // every node selected is in exactly one wave of the split, at most one wave started,
          // and in exactly one started wave once the rollout completed
          const sorted = [...nodes].sort();
          expect(state.plannedWaves!.flat().sort()).toEqual(sorted);
          const startedNodes = state.waves.flatMap((w) => w.nodes);
          expect(new Set(startedNodes).size).toBe(startedNodes.length);
          if (state.status === 'completed') expect([...startedNodes].sort()).toEqual(sorted);
          // no status goes back from an end: completed may only be rolled back
          statuses.forEach((s, i) => {
            if (i === 0 || !TERMINAL.has(statuses[i - 1]!)) return;
            if (statuses[i - 1] === 'rolled-back') expect(s).toBe('rolled-back');
            else expect(TERMINAL.has(s)).toBe(true);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
