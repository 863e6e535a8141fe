/**
 * The coordinator's pure decisions (STYLE.md §1.3): which link an assignment asks for, how a node is judged (the wave's gate is the domain workflow's), and what drift is. Selection and the
 * wave split and plan refusals are the domain's (`selectNodes`, `expandWaves`, `refusePlan`). No I/O, no clock: the shell passes
 * every input.
 */
import type { DesiredLink, DriftItem, NodePlan, PolicySpec } from '@tramway/shared/domain';
import { MULTI_ATTACH_TYPES, SINGLE_ATTACH_TYPES } from '@tramway/shared/lib';

/**
 * The link a node is asked to hold for one policy version: the functions its plan found
 * (attachable or pending), or the patterns when no plan is at hand.
 */
export const desiredLinkOf = (
  name: string,
  version: number,
  spec: PolicySpec,
  plan: NodePlan | undefined,
): DesiredLink => {
  const path =
    plan?.path ?? (spec.strategy === 'per-function' ? 'fentry-per-function' : 'tracing-multi');
  const attachType =
    path === 'kprobe-multi'
      ? 'BPF_TRACE_KPROBE_MULTI'
      : path === 'fentry-per-function'
        ? SINGLE_ATTACH_TYPES[spec.program.attach]
        : MULTI_ATTACH_TYPES[spec.program.attach];
  const planned = (plan?.targets ?? [])
    .filter((t) => t.status === 'attach' || t.status === 'pending')
    .map((t) => (t.module ? `${t.module}:${t.function}` : t.function));
  return {
    policy: name,
    policyVersion: version,
    program: spec.program.name,
    attachType,
    functions: planned.length > 0 ? planned : spec.targets.map((t) => t.pattern),
  };
};

/** A node's assignment with one policy set to `link` (added or replaced), in policy-name order. */
export const withPolicy = (links: readonly DesiredLink[], link: DesiredLink): DesiredLink[] =>
  [...links.filter((l) => l.policy !== link.policy), link].sort((a, b) =>
    a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0,
  );

export type NodeVerdict = 'converged' | 'pending' | 'failed' | 'stale';

/**
 * How a node of a wave stands (docs/fleet-protocol.md, "status"): failed when the agent reported
 * a failed attach for the policy at or after the generation the wave gave it, converged when it
 * observed that generation without one, stale when its heartbeats stopped, else pending.
 */
export const judgeNode = (input: {
  readonly generation: number | undefined;
  readonly observedGeneration: number;
  /** highest generation at which the agent reported a failed attach for this policy */
  readonly failedGeneration: number | undefined;
  readonly stale: boolean;
}): NodeVerdict => {
  const { generation, failedGeneration } = input;
  if (
    generation !== undefined &&
    failedGeneration !== undefined &&
    failedGeneration >= generation
  ) {
    return 'failed';
  }
  if (generation !== undefined && input.observedGeneration >= generation) return 'converged';
  return input.stale ? 'stale' : 'pending';
};

/**
 * What the runner reports to the rollout workflow for a node's verdict (docs/fleet-protocol.md,
 * "Rollouts"): converged is a success, failed (a failed attach at the wave's generation) a
 * failure. Pending and stale report nothing yet: a node whose heartbeats are late has not
 * answered, it has not failed, so it neither counts against the failure gate nor completes the
 * wave; it is judged when it is heard again and observed its generation (or failed to attach).
 */
export const reportedOutcome = (verdict: NodeVerdict): 'succeeded' | 'failed' | undefined =>
  verdict === 'converged' ? 'succeeded' : verdict === 'failed' ? 'failed' : undefined;

export interface ActualLink {
  readonly linkId: number;
  readonly policy: string | null;
  readonly policyVersion: number | null;
}

/**
 * Drift (issue 5, coordinator): what the node actually holds against what the log says it
 * should. Only judged once the node observed its generation (before that it is converging, not
 * drifting). A policy version the node failed to attach is a failure, already recorded, not drift.
 */
export const findDrift = (input: {
  readonly desired: readonly DesiredLink[];
  readonly generation: number;
  readonly failedPolicies: ReadonlySet<string>;
  /** link ids the log holds for the node */
  readonly loggedLinkIds: readonly number[];
  readonly actual: {
    readonly observedGeneration: number;
    readonly links: readonly ActualLink[];
  };
}): DriftItem[] => {
  if (input.actual.observedGeneration < input.generation) return [];
  const items: DriftItem[] = [];
  for (const d of input.desired) {
    if (input.failedPolicies.has(d.policy)) continue;
    const held = input.actual.links.some(
      (l) => l.policy === d.policy && l.policyVersion === d.policyVersion,
    );
    if (!held) {
      items.push({
        kind: 'missing-link',
        detail: `policy ${d.policy} v${d.policyVersion} is assigned but no link of it is held`,
      });
    }
  }
  for (const l of input.actual.links) {
    // the previous version kept because the assigned one failed to attach (make-before-break)
    if (l.policy !== null && input.failedPolicies.has(l.policy)) continue;
    const wanted = input.desired.some(
      (d) => d.policy === l.policy && d.policyVersion === l.policyVersion,
    );
    if (!wanted) {
      items.push({
        kind: 'unexpected-link',
        linkId: l.linkId,
        detail: `link ${l.linkId} (policy ${l.policy ?? 'none'} v${l.policyVersion ?? '-'}) is held but not assigned`,
      });
    }
  }
  const actualIds = new Set(input.actual.links.map((l) => l.linkId));
  for (const id of input.loggedLinkIds) {
    if (!actualIds.has(id)) {
      items.push({
        kind: 'missing-link',
        linkId: id,
        detail: `link ${id} is in the log but not in the kernel`,
      });
    }
  }
  return items;
};
