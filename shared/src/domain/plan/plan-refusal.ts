import type { Policy } from '../policy/policy.types.js';
import type { NodePlan } from './node-plan.types.js';

/** Why a policy is refused at plan time (docs/fleet-protocol.md; the coordinator's 400/409). */
export interface PlanRefusal {
  readonly reasons: readonly string[];
}

const MAX_LISTED = 5;

const listed = (items: readonly string[]): string =>
  items.length <= MAX_LISTED
    ? items.join(', ')
    : `${items.slice(0, MAX_LISTED).join(', ')} and ${items.length - MAX_LISTED} more`;

/**
 * The plan-time refusals of issue 5 ("Bad input"), from the plans of the selected nodes:
 * - the node selector names a label no registered node has (`knownLabels`: every label key of
 *   the fleet), or selects no node;
 * - no pattern matched a function on any selected node (pending module functions count as
 *   matched: they attach when the module loads);
 * - a trampoline would overfill (a target is `trampoline-full` on some node: the budget of 38
 *   links is used up by what is already there).
 * Targets the kernel rejects for other reasons do not refuse the policy: the rollout's failure
 * gate judges those, wave by wave. Returns undefined when nothing refuses the policy.
 */
export const refusePlan = (
  plans: readonly NodePlan[],
  policy: Policy,
  knownLabels: ReadonlySet<string>,
): PlanRefusal | undefined => {
  const reasons: string[] = [];
  const selector = policy.spec.nodeSelector?.matchLabels ?? {};
  for (const key of Object.keys(selector))
    if (!knownLabels.has(key))
      reasons.push(`nodeSelector.matchLabels.${key}: no registered node has the label "${key}"`);
  if (plans.length === 0) {
    const wanted = Object.entries(selector).map(([k, v]) => `${k}=${v}`);
    reasons.push(
      wanted.length === 0
        ? 'no node is registered to run the policy'
        : `nodeSelector (${wanted.join(', ')}) selects no registered node`,
    );
  } else if (plans.every((p) => p.targets.length === 0)) {
    reasons.push(
      `no function matched on any of the ${plans.length} selected node(s): ${listed(
        policy.spec.targets.map((t) => `'${t.pattern}'`),
      )}`,
    );
  }
  for (const plan of plans) {
    const full = plan.targets.filter((t) => t.status === 'trampoline-full');
    if (full.length === 0) continue;
    reasons.push(
      `node ${plan.nodeId}: the trampoline of ${listed(
        full.map((t) => (t.module === undefined ? t.function : `${t.module}:${t.function}`)),
      )} has no free slot (every one of its links is in use): attaching would overfill it (E2BIG)`,
    );
  }
  return reasons.length === 0 ? undefined : { reasons };
};
