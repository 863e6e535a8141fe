import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decideRollout,
  evolveRollout,
  initialRolloutState,
  rebuildRollout,
  rolloutWaves,
} from '../../../../shared/src/domain/rollout/rollout.workflow.js';
import type {
  RolloutInput,
  RolloutOutput,
  RolloutState,
} from '../../../../shared/src/domain/rollout/rollout.workflow.js';
import { validatePolicySpec } from '../../../../shared/src/domain/policy/policy.validate.js';
import type { PolicySpec } from '../../../../shared/src/domain/policy/policy.types.js';

const T0 = '2026-11-25T14:00:00.000Z';
const at = (seconds: number): string =>
  `2026-11-25T14:${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}.000Z`;

const specWith = (rollout: Record<string, unknown>): PolicySpec => {
  const r = validatePolicySpec({
    program: { name: 'p', attach: 'fentry' },
    targets: [{ pattern: 'tcp_*' }],
    rollout,
  });
  if (!r.ok) throw new Error(`fixture spec invalid: ${JSON.stringify(r.error)}`);
  return r.value;
};

const nodes = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `n${String(i + 1).padStart(2, '0')}`);

const start = (
  spec: PolicySpec,
  ids: readonly string[],
  previous: { version: number; spec: PolicySpec } | null = null,
): RolloutInput => ({
  type: 'StartRollout',
  data: { rolloutId: 'r1', policy: 'tcp-latency', policyVersion: 2, spec, previous, nodes: ids },
  metadata: { now: T0, actor: 'user:alice' },
});
const report = (
  nodeId: string,
  outcome: 'succeeded' | 'failed',
  now = T0,
  observedGeneration = 1,
): RolloutInput => ({
  type: 'NodeReported',
  data: { rolloutId: 'r1', nodeId, observedGeneration, outcome },
  metadata: { now },
});
const tick = (now: string): RolloutInput => ({
  type: 'Tick',
  data: { rolloutId: 'r1' },
  metadata: { now },
});
const resume = (now = T0): RolloutInput => ({
  type: 'ResumeRollout',
  data: { rolloutId: 'r1' },
  metadata: { now, actor: 'user:bob' },
});
const rollback = (reason = 'latency regression'): RolloutInput => ({
  type: 'RollbackRollout',
  data: { rolloutId: 'r1', reason },
  metadata: { now: T0, actor: 'user:bob' },
});

/** Given these inputs happened, when this one arrives, then these outputs (and this state). */
const given = (...history: RolloutInput[]) => {
  const state = history.reduce(evolveRollout, initialRolloutState());
  return {
    state,
    when: (input: RolloutInput) => {
      const outputs = decideRollout(input, state);
      const after = evolveRollout(state, input);
      return {
        outputs,
        state: after,
        then: (expected: readonly unknown[]) => {
          expect(outputs).toEqual(expected);
          return after;
        },
      };
    },
  };
};

const published = (outputs: readonly RolloutOutput[]) =>
  outputs.flatMap((o) => (o.kind === 'Publish' ? [o.event] : []));
const sentTo = (outputs: readonly RolloutOutput[]) =>
  outputs.flatMap((o) =>
    o.kind === 'Send' ? [`${o.to}@${o.command.data.version ?? 'none'}`] : [],
  );

const threeWaves = specWith({ waves: [1, '50%', '100%'], maxFailureRatio: 0.25 });

describe('rollout workflow', () => {
  describe('StartRollout', () => {
    it('announces the rollout and starts wave 0 with one assignment per node', () => {
      given()
        .when(start(threeWaves, ['n2', 'n1', 'n3', 'n4']))
        .then([
          {
            kind: 'Publish',
            event: {
              type: 'RolloutStarted',
              data: { rolloutId: 'r1', policy: 'tcp-latency', policyVersion: 2, waves: 3 },
            },
            actor: 'user:alice',
            occurredAt: T0,
          },
          {
            kind: 'Publish',
            event: { type: 'WaveStarted', data: { rolloutId: 'r1', wave: 0, nodes: ['n1'] } },
            actor: 'user:alice',
            occurredAt: T0,
          },
          {
            kind: 'Send',
            to: 'n1',
            command: {
              type: 'AssignPolicy',
              data: {
                rolloutId: 'r1',
                nodeId: 'n1',
                policy: 'tcp-latency',
                version: 2,
                spec: threeWaves,
              },
            },
          },
        ]);
    });

    it('completes at once when no node is selected', () => {
      const { outputs, state } = given().when(start(threeWaves, []));
      expect(published(outputs).map((e) => e.type)).toEqual(['RolloutStarted', 'RolloutCompleted']);
      expect(outputs.at(-1)).toEqual({ kind: 'Complete' });
      expect(state.status).toBe('completed');
    });

    it('ignores a second start', () => {
      expect(given(start(threeWaves, nodes(4))).when(start(threeWaves, nodes(4))).outputs).toEqual([
        { kind: 'Ignore', reason: 'rollout r1 already started (running)' },
      ]);
    });
  });

  describe('NodeReported', () => {
    it('completes a wave once every node reported, and starts the next one', () => {
      const { outputs, state } = given(start(threeWaves, nodes(4))).when(
        report('n01', 'succeeded', at(5)),
      );
      expect(published(outputs)).toEqual([
        { type: 'WaveCompleted', data: { rolloutId: 'r1', wave: 0, succeeded: 1, failed: 0 } },
        { type: 'WaveStarted', data: { rolloutId: 'r1', wave: 1, nodes: ['n02'] } },
      ]);
      expect(
        outputs
          .filter((o) => o.kind === 'Publish')
          .every(
            (o) => o.kind === 'Publish' && o.actor === 'coordinator' && o.occurredAt === at(5),
          ),
      ).toBe(true);
      expect(sentTo(outputs)).toEqual(['n02@2']);
      expect(state).toMatchObject({ status: 'running', current: 1 });
    });

    it('waits while some nodes of the wave have not reported', () => {
      const twoPerWave = specWith({ waves: [2, '100%'], maxFailureRatio: 0.5 });
      given(start(twoPerWave, nodes(4)))
        .when(report('n01', 'succeeded'))
        .then([]);
    });

    it('completes the rollout after the last wave', () => {
      const { outputs, state } = given(
        start(threeWaves, nodes(4)),
        report('n01', 'succeeded'),
        report('n02', 'succeeded'),
        report('n03', 'succeeded'),
      ).when(report('n04', 'succeeded'));
      expect(published(outputs)).toEqual([
        { type: 'WaveCompleted', data: { rolloutId: 'r1', wave: 2, succeeded: 2, failed: 0 } },
        { type: 'RolloutCompleted', data: { rolloutId: 'r1' } },
      ]);
      expect(outputs.at(-1)).toEqual({ kind: 'Complete' });
      expect(state.status).toBe('completed');
      expect(rolloutWaves(state)).toEqual([
        { index: 0, nodes: ['n01'], state: 'completed', succeeded: 1, failed: 0 },
        { index: 1, nodes: ['n02'], state: 'completed', succeeded: 1, failed: 0 },
        { index: 2, nodes: ['n03', 'n04'], state: 'completed', succeeded: 2, failed: 0 },
      ]);
    });

    it('holds the wave as soon as failed/total exceeds maxFailureRatio, with the reason', () => {
      const spec = specWith({ waves: ['50%', '100%'], maxFailureRatio: 0.25 });
      const s1 = given(start(spec, nodes(8)))
        .when(report('n01', 'failed'))
        .then([]);
      expect(s1.status).toBe('running');
      const { outputs, state } = given(start(spec, nodes(8)), report('n01', 'failed')).when(
        report('n02', 'failed', at(9)),
      );
      expect(outputs).toEqual([
        {
          kind: 'Publish',
          event: {
            type: 'WaveHeld',
            data: {
              rolloutId: 'r1',
              wave: 0,
              reason: '2 of 4 nodes failed in wave 0 (failure ratio 0.5 > maxFailureRatio 0.25)',
              failureRatio: 0.5,
            },
          },
          actor: 'coordinator',
          occurredAt: at(9),
          reason: '2 of 4 nodes failed in wave 0 (failure ratio 0.5 > maxFailureRatio 0.25)',
        },
      ]);
      expect(state.status).toBe('held');
      expect(sentTo(outputs)).toEqual([]);
    });

    it('does not hold at a failure ratio equal to the maximum', () => {
      const spec = specWith({ waves: ['100%'], maxFailureRatio: 0.25 });
      const { outputs } = given(
        start(spec, nodes(4)),
        report('n01', 'failed'),
        report('n02', 'succeeded'),
        report('n03', 'succeeded'),
      ).when(report('n04', 'succeeded'));
      expect(published(outputs).map((e) => e.type)).toEqual(['WaveCompleted', 'RolloutCompleted']);
    });

    it('holds on the first failure with the default maxFailureRatio 0', () => {
      const spec = specWith({ waves: ['100%'] });
      expect(
        published(given(start(spec, nodes(3))).when(report('n02', 'failed')).outputs).map(
          (e) => e.type,
        ),
      ).toEqual(['WaveHeld']);
    });

    it('records reports that arrive while held, without starting anything', () => {
      const spec = specWith({ waves: ['100%'] });
      const { outputs, state } = given(start(spec, nodes(3)), report('n01', 'failed')).when(
        report('n02', 'succeeded'),
      );
      expect(outputs).toEqual([
        { kind: 'Ignore', reason: 'outcome of n02 recorded; rollout is held' },
      ]);
      expect(rolloutWaves(state)[0]).toMatchObject({ succeeded: 1, failed: 1 });
    });

    it('ignores stale reports, repeated reports, nodes outside the rollout and waves not started', () => {
      const spec = specWith({ waves: [2, '100%'], maxFailureRatio: 1 });
      const history = [start(spec, nodes(4)), report('n01', 'failed', T0, 5)];
      expect(given(...history).when(report('n01', 'succeeded', T0, 4)).outputs).toEqual([
        { kind: 'Ignore', reason: 'stale report from n01: generation 4 < 5 already reported' },
      ]);
      expect(given(...history).when(report('n01', 'failed', T0, 5)).outputs).toEqual([
        { kind: 'Ignore', reason: 'node n01 already reported failed' },
      ]);
      expect(given(...history).when(report('zz', 'failed')).outputs).toEqual([
        { kind: 'Ignore', reason: 'node zz is not part of rollout r1' },
      ]);
      expect(given(...history).when(report('n04', 'failed')).outputs).toEqual([
        { kind: 'Ignore', reason: 'node n04: its wave 1 has not started' },
      ]);
    });

    it('lets a newer report of a node replace its earlier outcome', () => {
      const spec = specWith({ waves: [2, '100%'], maxFailureRatio: 1 });
      const { state } = given(start(spec, nodes(4)), report('n01', 'failed', T0, 1)).when(
        report('n01', 'succeeded', T0, 2),
      );
      expect(rolloutWaves(state)[0]).toMatchObject({ succeeded: 1, failed: 0 });
    });

    it('ignores an input for another rollout', () => {
      const other: RolloutInput = {
        type: 'Tick',
        data: { rolloutId: 'r2' },
        metadata: { now: T0 },
      };
      expect(given(start(threeWaves, nodes(4))).when(other).outputs).toEqual([
        { kind: 'Ignore', reason: 'input for rollout r2, this is r1' },
      ]);
    });
  });

  describe('pause between waves', () => {
    const paused = specWith({ waves: [1, '100%'], pauseSeconds: 30, maxFailureRatio: 0 });

    it('schedules a tick after pauseSeconds instead of starting the next wave', () => {
      const { outputs, state } = given(start(paused, nodes(3))).when(
        report('n01', 'succeeded', at(10)),
      );
      expect(outputs.slice(1)).toEqual([
        { kind: 'Schedule', afterMs: 30_000, message: { type: 'Tick', data: { rolloutId: 'r1' } } },
      ]);
      expect(state).toMatchObject({ status: 'paused', resumeAtMs: Date.parse(at(40)) });
    });

    it('ignores a tick before the pause is over, using now from the input', () => {
      given(start(paused, nodes(3)), report('n01', 'succeeded', at(10)))
        .when(tick(at(39)))
        .then([{ kind: 'Ignore', reason: `paused until ${Date.parse(at(40))} (epoch ms)` }]);
    });

    it('starts the next wave at the first tick once the pause is over', () => {
      const { outputs, state } = given(
        start(paused, nodes(3)),
        report('n01', 'succeeded', at(10)),
      ).when(tick(at(40)));
      expect(published(outputs)).toEqual([
        { type: 'WaveStarted', data: { rolloutId: 'r1', wave: 1, nodes: ['n02', 'n03'] } },
      ]);
      expect(sentTo(outputs)).toEqual(['n02@2', 'n03@2']);
      expect(state.status).toBe('running');
      expect(state.resumeAtMs).toBeUndefined();
    });

    it('ignores a tick when nothing is paused', () => {
      expect(given(start(paused, nodes(3))).when(tick(at(50))).outputs).toEqual([
        { kind: 'Ignore', reason: 'nothing to do at a tick: rollout is running' },
      ]);
    });

    it('cuts the pause short on resume', () => {
      const { outputs } = given(start(paused, nodes(3)), report('n01', 'succeeded', at(10))).when(
        resume(at(11)),
      );
      expect(published(outputs).map((e) => e.type)).toEqual(['WaveStarted']);
    });
  });

  describe('ResumeRollout', () => {
    it('completes the held wave with its counts, on behalf of the operator, and starts the next', () => {
      const spec = specWith({ waves: [2, '100%'] });
      const { outputs, state } = given(
        start(spec, nodes(3)),
        report('n01', 'failed'),
        report('n02', 'succeeded'),
      ).when(resume(at(20)));
      expect(outputs.filter((o) => o.kind === 'Publish')).toEqual([
        {
          kind: 'Publish',
          event: {
            type: 'WaveCompleted',
            data: { rolloutId: 'r1', wave: 0, succeeded: 1, failed: 1 },
          },
          actor: 'user:bob',
          occurredAt: at(20),
          reason: 'resumed by user:bob despite the failure gate',
        },
        {
          kind: 'Publish',
          event: { type: 'WaveStarted', data: { rolloutId: 'r1', wave: 1, nodes: ['n03'] } },
          actor: 'user:bob',
          occurredAt: at(20),
        },
      ]);
      expect(sentTo(outputs)).toEqual(['n03@2']);
      expect(state.status).toBe('running');
    });

    it('ignores a resume of a running rollout', () => {
      expect(given(start(threeWaves, nodes(4))).when(resume()).outputs).toEqual([
        { kind: 'Ignore', reason: 'only a held or paused rollout resumes (it is running)' },
      ]);
    });
  });

  describe('RollbackRollout', () => {
    const v1 = specWith({ waves: ['100%'] });

    it('gives every node assigned so far the previous version back, then completes', () => {
      const spec = specWith({ waves: [2, '100%'] });
      const { outputs, state } = given(
        start(spec, nodes(4), { version: 1, spec: v1 }),
        report('n01', 'failed'),
      ).when(rollback());
      expect(outputs).toEqual([
        {
          kind: 'Send',
          to: 'n01',
          command: {
            type: 'AssignPolicy',
            data: { rolloutId: 'r1', nodeId: 'n01', policy: 'tcp-latency', version: 1, spec: v1 },
          },
        },
        {
          kind: 'Send',
          to: 'n02',
          command: {
            type: 'AssignPolicy',
            data: { rolloutId: 'r1', nodeId: 'n02', policy: 'tcp-latency', version: 1, spec: v1 },
          },
        },
        {
          kind: 'Publish',
          event: {
            type: 'RolloutRolledBack',
            data: { rolloutId: 'r1', reason: 'latency regression' },
          },
          actor: 'user:bob',
          occurredAt: T0,
          reason: 'latency regression',
        },
        { kind: 'Complete' },
      ]);
      expect(state.status).toBe('rolled-back');
    });

    it('removes the policy from the nodes when there was no previous version', () => {
      const { outputs } = given(start(threeWaves, nodes(4))).when(rollback());
      expect(sentTo(outputs)).toEqual(['n01@none']);
      const send = outputs[0];
      expect(send?.kind === 'Send' && send.command.data.spec).toBeNull();
    });

    it('rolls back a completed rollout on every node, and only once', () => {
      const spec = specWith({ waves: ['100%'] });
      const done = [
        start(spec, nodes(2), { version: 1, spec: v1 }),
        report('n01', 'succeeded'),
        report('n02', 'succeeded'),
      ];
      expect(sentTo(given(...done).when(rollback()).outputs)).toEqual(['n01@1', 'n02@1']);
      expect(given(...done, rollback()).when(rollback()).outputs).toEqual([
        { kind: 'Ignore', reason: 'nothing to roll back (rollout is rolled-back)' },
      ]);
    });

    it('ignores inputs before a start', () => {
      expect(decideRollout(rollback(), initialRolloutState())).toEqual([
        { kind: 'Ignore', reason: 'input for rollout r1, this is not started' },
      ]);
    });
  });

  it('assigns every selected node exactly once when all succeed, and replays to the same state', () => {
    const spec = specWith({ waves: [1, '10%', '50%', '100%'], maxFailureRatio: 0.1 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const ids = nodes(n);
        const inputs: RolloutInput[] = [start(spec, ids)];
        let state: RolloutState = evolveRollout(initialRolloutState(), inputs[0]!);
        const assigned: string[] = [];
        let queue = decideRollout(inputs[0]!, initialRolloutState());
        let turn = seed;
        for (let guard = 0; guard < 1000; guard++) {
          const sends = queue.flatMap((o) => (o.kind === 'Send' ? [o.to] : []));
          assigned.push(...sends);
          if (sends.length === 0) break;
          // nodes report in a seed-dependent order
          const order = [...sends].sort(
            (a, b) =>
              ((a.charCodeAt(2) * 31 + turn) % 7) - ((b.charCodeAt(2) * 31 + turn) % 7) ||
              a.localeCompare(b),
          );
          turn++;
          queue = [];
          for (const nodeId of order) {
            const input = report(nodeId, 'succeeded');
            inputs.push(input);
            queue = [...queue, ...decideRollout(input, state)];
            state = evolveRollout(state, input);
          }
        }
        expect([...assigned].sort()).toEqual(ids);
        expect(state.status).toBe('completed');
        expect(rebuildRollout(inputs)).toEqual(state);
      }),
    );
  });
});
