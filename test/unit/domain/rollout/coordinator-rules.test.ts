import { describe, expect, it } from 'vitest';
import type { NodePlan, PolicySpec } from '@tramway/shared/domain';
import {
  desiredLinkOf,
  findDrift,
  judgeNode,
  reportedOutcome,
  withPolicy,
} from '@tramway/shared/domain';

const spec: PolicySpec = {
  program: { name: 'tcp_lat', attach: 'fentry', sleepable: false, reads: [] },
  targets: [{ pattern: 'tcp_*' }],
  strategy: 'auto',
  rollout: { waves: ['100%'], maxFailureRatio: 0, pauseSeconds: 0 },
};

const plan = (nodeId: string, over: Partial<NodePlan> = {}): NodePlan => ({
  nodeId,
  policy: 'p',
  policyVersion: 1,
  path: 'tracing-multi',
  targets: [{ function: 'tcp_sendmsg', cookie: '0', status: 'attach', headroom: 30 }],
  unmatched: [],
  counts: { attach: 1, pending: 0, rejected: 0, trampolineFull: 0 },
  ...over,
});

describe('desiredLinkOf', () => {
  it('takes the plan path and functions (module-qualified)', () => {
    const p = plan('n1', {
      path: 'fentry-per-function',
      targets: [
        { function: 'tcp_sendmsg', cookie: '0', status: 'attach' },
        { function: 'nft_do_chain', module: 'nf_tables', cookie: '0', status: 'pending' },
        { function: 'tcp_bad', cookie: '0', status: 'rejected' },
      ],
    });
    expect(desiredLinkOf('p', 2, spec, p)).toEqual({
      policy: 'p',
      policyVersion: 2,
      program: 'tcp_lat',
      attachType: 'BPF_TRACE_FENTRY',
      functions: ['tcp_sendmsg', 'nf_tables:nft_do_chain'],
    });
  });

  it('falls back to the patterns and the multi attach type without a plan', () => {
    expect(
      desiredLinkOf(
        'p',
        1,
        { ...spec, program: { ...spec.program, name: 'x', attach: 'fexit' } },
        undefined,
      ),
    ).toMatchObject({
      attachType: 'BPF_TRACE_FEXIT_MULTI',
      functions: ['tcp_*'],
    });
  });

  it('replaces a policy in an assignment and keeps the others, sorted', () => {
    const a = desiredLinkOf('a', 1, spec, undefined);
    const b1 = desiredLinkOf('b', 1, spec, undefined);
    const b2 = desiredLinkOf('b', 2, spec, undefined);
    expect(withPolicy([b1, a], b2)).toEqual([a, b2]);
  });
});

describe('judgeNode', () => {
  it('judges a node failed, converged, stale or pending', () => {
    const base = {
      generation: 3,
      observedGeneration: 2,
      failedGeneration: undefined,
      stale: false,
    };
    expect(judgeNode(base)).toBe('pending');
    expect(judgeNode({ ...base, observedGeneration: 3 })).toBe('converged');
    expect(judgeNode({ ...base, observedGeneration: 3, failedGeneration: 3 })).toBe('failed');
    expect(judgeNode({ ...base, observedGeneration: 3, failedGeneration: 2 })).toBe('converged');
    expect(judgeNode({ ...base, stale: true })).toBe('stale');
    expect(judgeNode({ ...base, generation: undefined })).toBe('pending');
  });
});

describe('reportedOutcome', () => {
  it('reports converged as succeeded and failed as failed, and nothing for a pending or stale node', () => {
    // Given the verdicts of four nodes of a running wave
    // When the runner turns them into reports for the rollout workflow
    // Then only a real failure counts against the failure gate: a late heartbeat is not a failure
    expect(reportedOutcome('converged')).toBe('succeeded');
    expect(reportedOutcome('failed')).toBe('failed');
    expect(reportedOutcome('pending')).toBeUndefined();
    expect(reportedOutcome('stale')).toBeUndefined();
  });
});

describe('findDrift', () => {
  const desired = [desiredLinkOf('p', 2, spec, undefined)];
  const actual = (
    links: { linkId: number; policy: string | null; policyVersion: number | null }[],
  ) => ({
    observedGeneration: 5,
    links,
  });

  it('finds nothing when the node holds exactly its assignment and the log agrees', () => {
    expect(
      findDrift({
        desired,
        generation: 5,
        failedPolicies: new Set(),
        loggedLinkIds: [7],
        actual: actual([{ linkId: 7, policy: 'p', policyVersion: 2 }]),
      }),
    ).toEqual([]);
  });

  it('finds a missing assigned link, an unexpected link and a link only the log has', () => {
    const items = findDrift({
      desired,
      generation: 5,
      failedPolicies: new Set(),
      loggedLinkIds: [7, 9],
      actual: actual([{ linkId: 9, policy: 'old', policyVersion: 1 }]),
    });
    expect(items.map((i) => [i.kind, i.linkId])).toEqual([
      ['missing-link', undefined],
      ['unexpected-link', 9],
      ['missing-link', 7],
    ]);
  });

  it('does not call drift the previous version a node kept because the new one failed to attach', () => {
    // Given p v2 failed on the node, which kept its v1 link 4 (make-before-break)
    const items = findDrift({
      desired,
      generation: 5,
      failedPolicies: new Set(['p']),
      loggedLinkIds: [4],
      actual: actual([{ linkId: 4, policy: 'p', policyVersion: 1 }]),
    });
    expect(items).toEqual([]);
  });

  it('says nothing while the node has not observed its generation, or for a failed policy', () => {
    expect(
      findDrift({
        desired,
        generation: 6,
        failedPolicies: new Set(),
        loggedLinkIds: [],
        actual: actual([]),
      }),
    ).toEqual([]);
    expect(
      findDrift({
        desired,
        generation: 5,
        failedPolicies: new Set(['p']),
        loggedLinkIds: [],
        actual: actual([]),
      }),
    ).toEqual([]);
  });
});
