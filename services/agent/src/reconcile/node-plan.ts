/**
 * A `NodePlan` (docs/fleet-protocol.md, "Plans") from the agent's own resolution of a policy on
 * its kernel: what would attach, wait for its module, be refused, or find its trampoline full,
 * with the headroom left on each function's trampoline. Pure.
 */
import type { StateDump } from '@tramway/shared/kernel';
import type { PolicyStatus } from './reconciler.js';

export interface PlannedTarget {
  readonly function: string;
  readonly module?: string;
  readonly btfId?: number;
  readonly cookie: string;
  readonly status: 'attach' | 'pending' | 'rejected' | 'trampoline-full';
  readonly errno?: string;
  readonly reason?: string;
  readonly headroom?: number;
}

export interface NodePlan {
  readonly nodeId: string;
  readonly policy: string;
  readonly policyVersion: number;
  readonly path: 'tracing-multi' | 'fentry-per-function' | 'kprobe-multi' | 'none';
  readonly targets: readonly PlannedTarget[];
  readonly unmatched: readonly { readonly pattern: string; readonly reason: string }[];
  readonly counts: {
    readonly attach: number;
    readonly pending: number;
    readonly rejected: number;
    readonly trampolineFull: number;
  };
}

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
