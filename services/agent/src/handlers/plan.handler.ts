import type { BusMessage } from '@tramway/shared/infra';
import { PLAN_REQUEST_SCHEMA, decodeMessage } from '../agent-messages.js';
import type { AgentPolicySpec } from '../reconcile/agent-policy.js';
import type { NodePlan } from '../reconcile/node-plan.js';
import { toNodePlan } from '../reconcile/node-plan.js';
import { desiredLinks } from '../reconcile/reconciler.js';
import type { HandlerDeps } from './handler-deps.js';
import { decodeOrReject } from './handler-deps.js';

/** include/linux/bpf.h BPF_MAX_TRAMP_LINKS on x86_64 (spec §1.1), when the model state is not at hand. */
const DEFAULT_BUDGET = 38;

/**
 * `tramway.agent.<id>.plan`: `{ policy, policyVersion }` -> `NodePlan` for this node's kernel as
 * it is now (existing links count against the trampolines' budget). Changes nothing.
 */
export const planHandler =
  (deps: HandlerDeps) =>
  async (message: BusMessage): Promise<NodePlan> => {
    const request = decodeOrReject(deps, message, (subject, payload) =>
      decodeMessage(PLAN_REQUEST_SCHEMA, subject, payload),
    );
    const name = request.policy.metadata.name;
    const driver = deps.driver();
    const desired = await desiredLinks({
      driver,
      node: deps.node(),
      assignment: {
        nodeId: deps.nodeId,
        generation: 0,
        policies: [
          { name, version: request.policyVersion, spec: request.policy.spec as AgentPolicySpec },
        ],
      },
    });
    const status = desired.policies[0];
    if (status === undefined) throw new Error(desired.problems.join('; ') || 'no plan');
    return toNodePlan({
      nodeId: deps.nodeId,
      status,
      trampolines: (await driver.dump()).trampolines,
      budget: deps.kernelState()?.limits.maxTrampLinks ?? DEFAULT_BUDGET,
    });
  };
