import { describe, expect, it } from 'vitest';
import type {
  AssignPolicy,
  AssignmentEvent,
  Decided,
  DesiredLink,
  PolicySpec,
  RecordPlan,
  RecordedPlan,
  ReissueAssignment,
  TakeBackNode,
} from '@tramway/shared/domain';
import { assignmentDecider, assignmentMessage, recordedPlanOf } from '@tramway/shared/domain';
import type { GivenEvent } from '../../../support/given-when-then.js';
import { deciderSpec } from '../../../support/given-when-then.js';

const sut = deciderSpec(assignmentDecider);

const NODE = 'node-a';

const specOf = (patterns: readonly string[], over: Partial<PolicySpec> = {}): PolicySpec => ({
  program: { name: 'tcp_lat', attach: 'fentry', sleepable: false, reads: [] },
  targets: patterns.map((pattern) => ({ pattern })),
  strategy: 'auto',
  rollout: { waves: ['100%'], maxFailureRatio: 0, pauseSeconds: 0 },
  ...over,
});
const TCP_V1 = specOf(['tcp_*']);
const TCP_V2 = specOf(['tcp_*', 'nf_tables:nft_*']);

/** What node-a planned for tcp v2: one function to attach, one pending, two it cannot take. */
const PLAN_V2: RecordedPlan = {
  path: 'tracing-multi',
  targets: [
    { function: 'tcp_sendmsg', objId: 1, btfId: 101, cookie: '0', status: 'attach', headroom: 37 },
    { function: 'nft_do_chain', module: 'nf_tables', cookie: '0', status: 'pending' },
    {
      function: 'tcp_bad',
      objId: 1,
      btfId: 102,
      cookie: '0',
      status: 'rejected',
      errno: 'EINVAL',
      reason: 'not traceable',
    },
    { function: 'tcp_full', objId: 1, btfId: 103, cookie: '0', status: 'trampoline-full' },
  ],
  unmatched: [{ pattern: 'udp_*', reason: 'no function matches' }],
};
const PLAN_V1: RecordedPlan = {
  path: 'fentry-per-function',
  targets: [{ function: 'tcp_recvmsg', objId: 1, btfId: 104, cookie: '0', status: 'attach' }],
  unmatched: [],
};

const link = (
  policy: string,
  policyVersion: number,
  functions: readonly string[],
  attachType: DesiredLink['attachType'] = 'BPF_TRACE_FENTRY_MULTI',
): DesiredLink => ({ policy, policyVersion, program: 'tcp_lat', attachType, functions });

// ---- commands ----

const recordPlan = (policyVersion: number, plan: RecordedPlan, policy = 'tcp'): RecordPlan => ({
  type: 'RecordPlan',
  data: { nodeId: NODE, policy, policyVersion, rolloutId: `${policy}-v${policyVersion}`, plan },
});

const assign = (
  policy: string,
  version: number | null,
  spec: PolicySpec | null,
  rolloutId: string | null = `${policy}-v${version ?? 1}`,
): AssignPolicy => ({
  type: 'AssignPolicy',
  data: {
    nodeId: NODE,
    policy,
    version,
    spec,
    ...(rolloutId === null ? {} : { rolloutId }),
    initiatedBy: 'user:alice',
  },
});

const reissue: ReissueAssignment = {
  type: 'ReissueAssignment',
  data: { nodeId: NODE, reason: 'drift repair: generation 2 again', initiatedBy: 'coordinator' },
};

// ---- events ----

const planRecorded = (policyVersion: number, plan: RecordedPlan, policy = 'tcp'): GivenEvent => ({
  type: 'PlanRecorded',
  data: { nodeId: NODE, policy, policyVersion, rolloutId: `${policy}-v${policyVersion}`, plan },
});
const issued = (
  generation: number,
  links: readonly DesiredLink[],
  metadata: GivenEvent['metadata'] = {},
  /** null: recorded without one (an older coordinator) */
  initiatedBy: string | null = 'user:alice',
): GivenEvent => ({
  type: 'AssignmentIssued',
  data: {
    nodeId: NODE,
    generation,
    links,
    reason: 'earlier',
    ...(initiatedBy === null ? {} : { initiatedBy }),
  },
  id: `assignment:${NODE}:g${generation}`,
  metadata,
});

const decidedIssued = (
  generation: number,
  links: readonly DesiredLink[],
  reason: string,
  initiatedBy = 'user:alice',
): Decided<AssignmentEvent> => ({
  id: `assignment:${NODE}:g${generation}`,
  event: {
    type: 'AssignmentIssued',
    data: { nodeId: NODE, generation, links, reason, initiatedBy },
  },
});

const specs: Readonly<Record<string, PolicySpec>> = {
  'tcp@1': TCP_V1,
  'tcp@2': TCP_V2,
  'abc@1': specOf(['abc_*']),
};
const knownSpec = (policy: string, version: number): PolicySpec | undefined =>
  specs[`${policy}@${version}`];

describe('assignmentDecider', () => {
  describe('RecordPlan', () => {
    it('records the plan the node made for a policy version', () => {
      const command = recordPlan(2, PLAN_V2);
      const state = sut
        .given([])
        .when(command)
        .then([{ id: `plan:${NODE}:tcp:v2`, event: { type: 'PlanRecorded', data: command.data } }]);
      expect(recordedPlanOf(state, 'tcp', 2)).toEqual(PLAN_V2);
      expect(recordedPlanOf(state, 'tcp', 1)).toBeUndefined();
    });

    it('records a plan once per policy version: the first one stands', () => {
      sut
        .given([planRecorded(2, PLAN_V2)])
        .when(recordPlan(2, PLAN_V2))
        .thenNothingHappened();
      sut
        .given([planRecorded(2, PLAN_V2)])
        .when(recordPlan(2, PLAN_V1))
        .thenNothingHappened();
    });

    it('records the plan of another version, or of another policy at the same version', () => {
      sut
        .given([planRecorded(2, PLAN_V2)])
        .when(recordPlan(1, PLAN_V1))
        .then([
          {
            id: `plan:${NODE}:tcp:v1`,
            event: { type: 'PlanRecorded', data: recordPlan(1, PLAN_V1).data },
          },
        ]);
      sut
        .given([planRecorded(2, PLAN_V2)])
        .when(recordPlan(2, PLAN_V1, 'abc'))
        .then([
          {
            id: `plan:${NODE}:abc:v2`,
            event: { type: 'PlanRecorded', data: recordPlan(2, PLAN_V1, 'abc').data },
          },
        ]);
    });
  });

  describe('AssignPolicy', () => {
    it("gives the node the version as generation 1, tracing its plan's attach and pending functions", () => {
      const state = sut
        .given([planRecorded(2, PLAN_V2)])
        .when(assign('tcp', 2, TCP_V2))
        .then([
          decidedIssued(
            1,
            [link('tcp', 2, ['tcp_sendmsg', 'nf_tables:nft_do_chain'])],
            'rollout tcp-v2: policy tcp v2',
          ),
        ]);
      expect(state).toMatchObject({ nodeId: NODE, generation: 1 });
    });

    it("takes the attach type from the plan's path", () => {
      sut
        .given([planRecorded(1, PLAN_V1)])
        .when(assign('tcp', 1, TCP_V1))
        .then([
          decidedIssued(
            1,
            [link('tcp', 1, ['tcp_recvmsg'], 'BPF_TRACE_FENTRY')],
            'rollout tcp-v1: policy tcp v1',
          ),
        ]);
      sut
        .given([planRecorded(1, { ...PLAN_V1, path: 'kprobe-multi' })])
        .when(assign('tcp', 1, TCP_V1))
        .then([
          decidedIssued(
            1,
            [link('tcp', 1, ['tcp_recvmsg'], 'BPF_TRACE_KPROBE_MULTI')],
            'rollout tcp-v1: policy tcp v1',
          ),
        ]);
    });

    it("falls back to the spec's patterns without a plan of that version on this node", () => {
      // the plan recorded is v1's: v2 has none here
      sut
        .given([planRecorded(1, PLAN_V1)])
        .when(assign('tcp', 2, TCP_V2))
        .then([
          decidedIssued(
            1,
            [link('tcp', 2, ['tcp_*', 'nf_tables:nft_*'])],
            'rollout tcp-v2: policy tcp v2',
          ),
        ]);
      sut
        .given([])
        .when(assign('tcp', 1, { ...TCP_V1, strategy: 'per-function' }))
        .then([
          decidedIssued(
            1,
            [link('tcp', 1, ['tcp_*'], 'BPF_TRACE_FENTRY')],
            'rollout tcp-v1: policy tcp v1',
          ),
        ]);
    });

    it('falls back to the patterns when the plan found nothing to attach or wait for', () => {
      const refused: RecordedPlan = {
        path: 'tracing-multi',
        targets: PLAN_V2.targets.filter((t) => t.status === 'rejected'),
        unmatched: [],
      };
      sut
        .given([planRecorded(2, refused)])
        .when(assign('tcp', 2, TCP_V2))
        .then([
          decidedIssued(
            1,
            [link('tcp', 2, ['tcp_*', 'nf_tables:nft_*'])],
            'rollout tcp-v2: policy tcp v2',
          ),
        ]);
    });

    it('replaces the version held as the next generation and keeps the other policies, by name', () => {
      const abc = link('abc', 1, ['abc_*']);
      const zzz = link('zzz', 4, ['zzz_*']);
      sut
        .given([
          planRecorded(2, PLAN_V2),
          issued(1, [abc, link('tcp', 1, ['tcp_recvmsg'])]),
          issued(2, [abc, link('tcp', 1, ['tcp_recvmsg']), zzz]),
        ])
        .when(assign('tcp', 2, TCP_V2))
        .then([
          decidedIssued(
            3,
            [abc, link('tcp', 2, ['tcp_sendmsg', 'nf_tables:nft_do_chain']), zzz],
            'rollout tcp-v2: policy tcp v1 -> v2',
          ),
        ]);
    });

    it('adds a policy to those held, in policy-name order', () => {
      const tcp = link('tcp', 1, ['tcp_recvmsg']);
      sut
        .given([issued(1, [tcp])])
        .when(assign('abc', 1, specs['abc@1']!))
        .then([
          decidedIssued(2, [link('abc', 1, ['abc_*']), tcp], 'rollout abc-v1: policy abc v1'),
        ]);
    });

    it('does nothing when the node already holds that version', () => {
      sut
        .given([issued(1, [link('tcp', 2, ['tcp_sendmsg'])])])
        .when(assign('tcp', 2, TCP_V2))
        .thenNothingHappened();
    });

    it('takes the policy away as the next generation (a rollback with no previous version)', () => {
      const abc = link('abc', 1, ['abc_*']);
      sut
        .given([issued(1, [abc, link('tcp', 1, ['tcp_recvmsg'])])])
        .when(assign('tcp', null, null, 'tcp-v1'))
        .then([
          decidedIssued(
            2,
            [abc],
            'rollout tcp-v1: policy tcp removed (v1 rolled back, no previous version)',
          ),
        ]);
    });

    it('does nothing when taking away a policy the node does not hold', () => {
      sut
        .given([issued(1, [link('abc', 1, ['abc_*'])])])
        .when(assign('tcp', null, null))
        .thenNothingHappened();
      sut
        .given([])
        .when(assign('tcp', null, null))
        .thenNothingHappened();
    });

    it('says no rollout in the reason when none is given', () => {
      sut
        .given([])
        .when(assign('tcp', 1, TCP_V1, null))
        .then([decidedIssued(1, [link('tcp', 1, ['tcp_*'])], 'policy tcp v1')]);
    });
  });

  describe('ReissueAssignment', () => {
    it('issues the same links again as the next generation', () => {
      const links = [link('tcp', 2, ['tcp_sendmsg'])];
      const state = sut
        .given([issued(1, [link('tcp', 1, ['tcp_recvmsg'])]), issued(2, links)])
        .when(reissue)
        .then([decidedIssued(3, links, 'drift repair: generation 2 again', 'coordinator')]);
      expect(state.generation).toBe(3);
    });

    it('does nothing for a node never assigned', () => {
      sut
        .given([planRecorded(2, PLAN_V2)])
        .when(reissue)
        .thenNothingHappened();
    });
  });

  describe('assignmentMessage', () => {
    it('is null for a node never assigned', () => {
      const state = sut.given([planRecorded(2, PLAN_V2)]).state;
      expect(assignmentMessage(state, knownSpec)).toBeNull();
    });

    it("carries each policy's spec and exactly its recorded plan, and the cause of the latest generation", () => {
      const state = sut.given([
        planRecorded(1, PLAN_V1),
        planRecorded(2, PLAN_V2),
        issued(1, [link('tcp', 1, ['tcp_recvmsg'])], { correlationId: 'tcp-v1' }),
        issued(2, [link('abc', 1, ['abc_*']), link('tcp', 2, ['tcp_sendmsg'])], {
          correlationId: 'tcp-v2',
          actor: 'coordinator',
        }),
      ]).state;
      expect(assignmentMessage(state, knownSpec)).toStrictEqual({
        nodeId: NODE,
        epoch: 0,
        generation: 2,
        issuedAt: state.issuedAt,
        policies: [
          // no plan recorded for abc v1: none is sent
          { name: 'abc', version: 1, spec: specs['abc@1'] },
          { name: 'tcp', version: 2, spec: TCP_V2, plan: PLAN_V2 },
        ],
        cause: {
          initiatedBy: 'user:alice',
          correlationId: 'tcp-v2',
          eventId: `assignment:${NODE}:g2`,
        },
      });
    });

    it('leaves out a policy version whose spec is not known', () => {
      const state = sut.given([
        issued(1, [link('gone', 7, ['x_*']), link('tcp', 1, ['tcp_*'])]),
      ]).state;
      expect(assignmentMessage(state, knownSpec)?.policies.map((p) => p.name)).toEqual(['tcp']);
    });

    it('gives a drift repair its own cause: the coordinator, no rollout', () => {
      const links = [link('tcp', 1, ['tcp_recvmsg'])];
      const given = sut.given([issued(1, links, { correlationId: 'tcp-v1' })]);
      const state = given
        .when(reissue)
        .then([decidedIssued(2, links, 'drift repair: generation 2 again', 'coordinator')]);
      expect(assignmentMessage(state, knownSpec)?.cause).toStrictEqual({
        initiatedBy: 'coordinator',
        eventId: `assignment:${NODE}:g2`,
      });
    });

    it("takes the cause's initiator from the actor of an assignment recorded without one", () => {
      const state = sut.given([
        issued(1, [link('tcp', 1, ['tcp_*'])], { actor: 'user:dave' }, null),
      ]).state;
      expect(assignmentMessage(state, knownSpec)?.cause).toStrictEqual({
        initiatedBy: 'user:dave',
        eventId: `assignment:${NODE}:g1`,
      });
    });
  });

  describe('TakeBackNode (epochs)', () => {
    const takeBack = (claimedGeneration?: number, reason = 'claimed 1000000'): TakeBackNode => ({
      type: 'TakeBackNode',
      data: {
        nodeId: NODE,
        reason,
        initiatedBy: 'coordinator',
        ...(claimedGeneration === undefined ? {} : { claimedGeneration }),
      },
    });
    const links = [link('tcp', 1, ['tcp_recvmsg'])];

    it('opens a new epoch and re-issues the links as the next generation in it', () => {
      const state = sut
        .given([issued(1, links), issued(2, links)])
        .when(takeBack(1_000_000))
        .then([
          {
            id: `takeback:${NODE}:e1`,
            event: {
              type: 'NodeTakenBack',
              data: {
                nodeId: NODE,
                epoch: 1,
                reason: 'claimed 1000000',
                claimedGeneration: 1_000_000,
              },
            },
          },
          {
            id: `assignment:${NODE}:g3`,
            event: {
              type: 'AssignmentIssued',
              data: {
                nodeId: NODE,
                generation: 3,
                links,
                reason: 'taken back in epoch 1: claimed 1000000',
                initiatedBy: 'coordinator',
                epoch: 1,
              },
            },
          },
        ]);
      expect(state).toMatchObject({ epoch: 1, generation: 3, takenBackClaim: 1_000_000 });
      expect(assignmentMessage(state, knownSpec)).toMatchObject({ epoch: 1, generation: 3 });
    });

    it('answers the same claim once: a node that keeps claiming it makes no loop', () => {
      const given = sut.given([issued(1, links)]);
      const after = given.when(takeBack(77)).decision;
      expect(after.ok && after.events.length).toBe(2);
      const recorded = sut.given([
        issued(1, links),
        {
          type: 'NodeTakenBack',
          data: { nodeId: NODE, epoch: 1, reason: 'x', claimedGeneration: 77 },
          id: `takeback:${NODE}:e1`,
        },
        {
          type: 'AssignmentIssued',
          data: { nodeId: NODE, generation: 2, links, reason: 'x', epoch: 1 },
          id: `assignment:${NODE}:g2`,
        },
      ]);
      recorded.when(takeBack(77)).thenNothingHappened();
      // a new claim, or an admin's reset, is taken back again: epoch 2
      const again = recorded.when(takeBack(78)).decision;
      expect(again.ok && again.events.map((e) => e.id)).toEqual([
        `takeback:${NODE}:e2`,
        `assignment:${NODE}:g3`,
      ]);
      const reset = recorded.when(takeBack(undefined, 'reset by user:alice')).decision;
      expect(reset.ok && reset.events.length).toBe(2);
    });

    it('keeps the epoch on later generations (drift repair, new policy versions)', () => {
      const state = sut
        .given([
          {
            type: 'NodeTakenBack',
            data: { nodeId: NODE, epoch: 4, reason: 'reset' },
            id: `takeback:${NODE}:e4`,
          },
          {
            type: 'AssignmentIssued',
            data: { nodeId: NODE, generation: 1, links, reason: 'x', epoch: 4 },
            id: `assignment:${NODE}:g1`,
          },
        ])
        .when(reissue).decision;
      expect(state.ok && state.events[0]?.event).toMatchObject({
        type: 'AssignmentIssued',
        data: { generation: 2, epoch: 4 },
      });
    });

    it('reads logs from before epochs as epoch 0 (no epoch on the wire or in the events)', () => {
      const state = sut.given([issued(1, links)]).state;
      expect(state.epoch).toBe(0);
      expect(assignmentMessage(state, knownSpec)?.epoch).toBe(0);
      const next = sut.given([issued(1, links)]).when(reissue).decision;
      expect(next.ok && next.events[0]?.event.data).not.toHaveProperty('epoch');
    });
  });
});
