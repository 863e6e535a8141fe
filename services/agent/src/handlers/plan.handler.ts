import type { BusMessage } from '@tramway/shared/infra';
import { decodeMessageOrThrow } from '@tramway/shared/contracts';
import type { NodePlan } from '@tramway/shared/domain';
import { planNode } from '@tramway/shared/domain';
import { InvalidMessageError } from '../agent-messages.js';
import { toNodePlan } from '../reconcile/node-plan.js';
import { desiredLinks } from '../reconcile/reconciler.js';
import type { HandlerDeps } from './handler-deps.js';
import { decodeOrReject } from './handler-deps.js';

/** include/linux/bpf.h BPF_MAX_TRAMP_LINKS on x86_64 (spec §1.1), when the model state is not at hand. */
const DEFAULT_BUDGET = 38;

/**
 * `tramway.agent.<id>.plan`: `{ policy, policyVersion }` -> `NodePlan` for this node's kernel as
 * it is now (existing links count against the trampolines' budget), by the domain's `planNode`
 * on the model state. Changes nothing.
 */
export const planHandler =
  (deps: HandlerDeps) =>
  async (message: BusMessage): Promise<NodePlan> => {
    const request = decodeOrReject(deps, message, (payload) =>
      decodeMessageOrThrow('PlanRequest', payload),
    );
    const state = deps.kernelState();
    if (state !== undefined) {
      const path = deps.planPath();
      return planNode(state, request.policy, {
        nodeId: deps.nodeId,
        policyVersion: request.policyVersion,
        ...(path === undefined ? {} : { path }),
      });
    }
    // a driver without the model state at hand: the same answer from the driver's own resolution
    const name = request.policy.metadata.name;
    const driver = deps.driver();
    const desired = await desiredLinks({
      driver,
      node: deps.node(),
      assignment: {
        nodeId: deps.nodeId,
        generation: 0,
        policies: [{ name, version: request.policyVersion, spec: request.policy.spec }],
      },
    });
    const status = desired.policies[0];
    if (status === undefined)
      throw new InvalidMessageError(
        'PlanRequest',
        desired.problems.map((problem) => ({ path: 'policy.spec.targets', problem })),
      );
    return toNodePlan({
      nodeId: deps.nodeId,
      status,
      trampolines: (await driver.dump()).trampolines,
      budget: deps.kernelState()?.limits.maxTrampLinks ?? DEFAULT_BUDGET,
    });
  };
