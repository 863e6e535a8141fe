/**
 * A node's plan for one policy version (docs/fleet-protocol.md, "Plans"): exact for that node at
 * that moment, trampoline headroom included.
 */
import { ATTACH_PATHS } from '../../lib/kernel-vocabulary.js';

export const PLAN_PATHS = [...ATTACH_PATHS, 'none'] as const;
/** The rung of the fallback ladder a plan uses; `none` when nothing can attach on this node. */
export type PlanPath = (typeof PLAN_PATHS)[number];

export const TARGET_STATUSES = ['attach', 'pending', 'rejected', 'trampoline-full'] as const;
/**
 * `attach`: would attach now; `pending`: its module is declared but not loaded (attached when it
 * loads); `rejected`: the kernel would refuse it (errno, reason); `trampoline-full`: its
 * trampoline has no free slot (E2BIG).
 */
export type TargetStatus = (typeof TARGET_STATUSES)[number];

export interface PlannedTarget {
  readonly function: string;
  /** absent for vmlinux functions */
  readonly module?: string;
  /** BTF object id of the loaded object (absent while its module is not loaded) */
  readonly objId?: number;
  readonly btfId?: number;
  /** u64 attach cookie, decimal ("0" when the pattern has none) */
  readonly cookie: string;
  readonly status: TargetStatus;
  /** for rejected / trampoline-full */
  readonly errno?: string;
  readonly reason?: string;
  /** free slots left on that function's trampoline (budget - used), before this policy */
  readonly headroom?: number;
}

export interface PlanCounts {
  readonly attach: number;
  readonly pending: number;
  readonly rejected: number;
  readonly trampolineFull: number;
}

export interface NodePlan {
  readonly nodeId: string;
  readonly policy: string;
  readonly policyVersion: number;
  readonly path: PlanPath;
  /** every function a pattern matched, in pattern order */
  readonly targets: readonly PlannedTarget[];
  readonly unmatched: readonly { readonly pattern: string; readonly reason: string }[];
  readonly counts: PlanCounts;
}

/**
 * The part of a `NodePlan` recorded in the log (`PlanRecorded`, `NodeReplanned`) and sent with
 * the assignment (`AssignedPolicy.plan`): what the node was told to trace, function by function,
 * with the BTF object id and BTF id it had when the plan was made. Node, policy and version are
 * the enclosing event's or assignment's; the counts follow from the targets.
 */
export interface RecordedPlan {
  readonly path: PlanPath;
  readonly targets: readonly PlannedTarget[];
  readonly unmatched: readonly { readonly pattern: string; readonly reason: string }[];
}
