import { describe, expect, it } from 'vitest';
import type {
  AgentAssignment,
  HeldLink,
  LinkGroup,
} from '../../../services/agent/src/reconcile/agent-policy.js';
import { reconcileOutcome } from '../../../services/agent/src/reconcile/reconcile-outcome.js';
import type { PolicyStatus } from '../../../services/agent/src/reconcile/desired-links.js';

const spec = {
  program: { name: 'tcp_lat', attach: 'fentry' as const },
  targets: [{ pattern: 'tcp_*' }],
  strategy: 'auto' as const,
};
const assignment: AgentAssignment = {
  nodeId: 'web-1',
  generation: 3,
  policies: [
    { name: 'tcp-latency', version: 2, spec },
    { name: 'udp', version: 1, spec },
  ],
};
const status = (policy: string, version: number, extra: Partial<PolicyStatus>): PolicyStatus => ({
  policy,
  policyVersion: version,
  program: 'tcp_lat',
  attachType: 'BPF_TRACE_FENTRY_MULTI',
  pending: [],
  rejected: [],
  unmatched: [],
  path: 'tracing-multi',
  attachable: [],
  ...extra,
});
const heldLink = (policy: string, version: number, functions: string[]): HeldLink =>
  ({
    linkId: 1,
    programId: 1,
    policy,
    policyVersion: version,
    program: 'tcp_lat',
    attachType: 'BPF_TRACE_FENTRY_MULTI',
    groupKey: 'multi',
    targets: [],
    connections: functions.map((f, i) => ({ function: f, objId: 1, btfId: i + 1, cookie: '0' })),
    fdOpen: true,
  }) as HeldLink;

describe('reconcileOutcome', () => {
  it('counts held connections of the assigned version, lists pending and refused functions', () => {
    const group = {
      key: 'multi',
      policy: 'udp',
      policyVersion: 1,
      targets: [
        { object: 'vmlinux', function: 'udp_sendmsg', btfId: 5, cookie: 0n },
        { object: 'vmlinux', function: 'udp_recvmsg', btfId: 6, cookie: 0n },
      ],
    } as unknown as LinkGroup;
    const sut = reconcileOutcome({
      assignment,
      policies: [
        status('tcp-latency', 2, {
          pending: [{ object: 'nf_tables', function: 'nft_do_chain' }],
          rejected: [
            {
              object: 'vmlinux',
              function: 'tcp_close',
              btfId: 9,
              errno: 'EINVAL',
              reason: 'noreturn',
            },
          ],
        }),
        status('udp', 1, {}),
      ],
      // the old version's link still held (make-before-break) is not counted for version 2
      held: [
        heldLink('tcp-latency', 2, ['tcp_sendmsg', 'tcp_recvmsg']),
        heldLink('tcp-latency', 1, ['tcp_sendmsg']),
      ],
      attachFailures: [{ group, errno: 'E2BIG', reason: 'trampoline full' }],
    });
    expect(sut).toEqual([
      {
        policy: 'tcp-latency',
        version: 2,
        attached: 2,
        pending: [{ function: 'nft_do_chain', module: 'nf_tables' }],
        rejected: [{ function: 'tcp_close', errno: 22, reason: 'noreturn' }],
      },
      {
        policy: 'udp',
        version: 1,
        attached: 0,
        pending: [],
        rejected: [
          { function: 'udp_sendmsg', errno: 7, reason: 'trampoline full' },
          { function: 'udp_recvmsg', errno: 7, reason: 'trampoline full' },
        ],
      },
    ]);
  });
});
