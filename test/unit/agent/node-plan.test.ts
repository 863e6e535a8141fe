import { describe, expect, it } from 'vitest';
import { toNodePlan } from '../../../services/agent/src/reconcile/node-plan.js';
import type { PolicyStatus } from '../../../services/agent/src/reconcile/reconciler.js';

const status: PolicyStatus = {
  policy: 'tcp-latency',
  policyVersion: 2,
  program: 'tcp_lat',
  attachType: 'BPF_TRACE_FENTRY_MULTI',
  path: 'tracing-multi',
  attachable: [{ object: 'vmlinux', function: 'tcp_sendmsg', btfId: 16, cookie: 5n }],
  pending: [{ object: 'nf_tables', function: 'nft_do_chain' }],
  rejected: [
    {
      object: 'vmlinux',
      function: 'tcp_full',
      btfId: 17,
      errno: 'E2BIG',
      reason: 'trampoline full',
    },
    { object: 'vmlinux', function: 'do_exit', btfId: 18, errno: 'EINVAL', reason: 'noreturn' },
  ],
  unmatched: [{ pattern: 'nope_*', reason: 'no function matches in 2 BTF objects' }],
};

describe('toNodePlan', () => {
  it('gives each matched function its status, and the trampoline headroom left (budget - used)', () => {
    const slot = { link: 1, prog: 'other', cookie: 0n };
    const sut = toNodePlan({
      nodeId: 'node-1',
      status,
      budget: 38,
      trampolines: [
        {
          function: 'tcp_sendmsg',
          object: 'vmlinux',
          btfId: 16,
          fentry: [slot, slot],
          fexit: [slot],
          fmodRet: [],
        },
        {
          function: 'tcp_full',
          object: 'vmlinux',
          btfId: 17,
          fentry: Array(38).fill(slot),
          fexit: [],
          fmodRet: [],
        },
      ],
    });
    expect(
      sut.targets.map((t) => [t.function, t.status, t.headroom ?? null, t.errno ?? null]),
    ).toEqual([
      ['tcp_sendmsg', 'attach', 35, null],
      ['nft_do_chain', 'pending', null, null],
      ['tcp_full', 'trampoline-full', 0, 'E2BIG'],
      ['do_exit', 'rejected', 38, 'EINVAL'],
    ]);
    expect(sut.counts).toEqual({ attach: 1, pending: 1, rejected: 1, trampolineFull: 1 });
    expect(sut.targets[0]?.cookie).toBe('5');
    expect(sut.unmatched).toEqual(status.unmatched);
  });
});
