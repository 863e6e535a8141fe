/**
 * A `NodePlan` (docs/fleet-protocol.md, "Plans") from the agent's own resolution of a policy on
 * its kernel: what would attach, wait for its module, be refused, or find its trampoline full,
 * with the headroom left on each function's trampoline. Pure.
 */
import type { NodePlan, PlannedTarget } from '@tramway/shared/domain';
import type { StateDump } from '@tramway/shared/kernel';
import type { PolicyStatus } from './reconciler.js';

const moduleOf = (object: string): { module?: string } =>
  object === 'vmlinux' ? {} : { module: object };

export const toNodePlan = (input: {
  readonly nodeId: string;
  readonly status: PolicyStatus;
  readonly trampolines: StateDump['trampolines'];
  /** BPF_MAX_TRAMP_LINKS of the node (spec §1.1) */
  readonly budget: number;
}): NodePlan => {
  const { status, budget } = input;
  const used = new Map(
    input.trampolines.map((t) => [
      `${t.object}:${t.function}`,
      t.fentry.length + t.fexit.length + t.fmodRet.length,
    ]),
  );
  const headroom = (object: string, fn: string): number =>
    budget - (used.get(`${object}:${fn}`) ?? 0);
  const targets: PlannedTarget[] = [
    ...status.attachable.map((t) => ({
      function: t.function,
      ...moduleOf(t.object),
      btfId: t.btfId,
      cookie: t.cookie.toString(),
      status: 'attach' as const,
      headroom: headroom(t.object, t.function),
    })),
    ...status.pending.map((t) => ({
      function: t.function,
      ...moduleOf(t.object),
      cookie: '0',
      status: 'pending' as const,
      reason: `module ${t.object} is not loaded`,
    })),
    ...status.rejected.map((t) => ({
      function: t.function,
      ...moduleOf(t.object),
      btfId: t.btfId,
      cookie: '0',
      status: t.errno === 'E2BIG' ? ('trampoline-full' as const) : ('rejected' as const),
      errno: t.errno,
      reason: t.reason,
      headroom: headroom(t.object, t.function),
    })),
  ];
  const count = (s: PlannedTarget['status']): number =>
    targets.filter((t) => t.status === s).length;
  return {
    nodeId: input.nodeId,
    policy: status.policy,
    policyVersion: status.policyVersion,
    path: status.path,
    targets,
    unmatched: status.unmatched,
    counts: {
      attach: count('attach'),
      pending: count('pending'),
      rejected: count('rejected'),
      trampolineFull: count('trampoline-full'),
    },
  };
};
