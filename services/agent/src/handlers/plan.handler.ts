import type { BusMessage } from '@tramway/shared/infra';
import { AppError } from '@tramway/shared/infra';
import { decodeMessageOrThrow } from '@tramway/shared/contracts';
import type { NodePlan } from '@tramway/shared/domain';
import { planNode } from '@tramway/shared/domain';
import type { HandlerDeps } from './handler-deps.js';
import { decodeOrReject } from './handler-deps.js';

/**
 * `tramway.agent.<id>.plan`: `{ policy, policyVersion }` -> `NodePlan` for this node's kernel as
 * it is now (existing links count against the trampolines' budget), by the domain's `planNode`
 * on the model state: the one planner, which the agent also uses when it plans on its own.
 * Changes nothing. A driver without a kernel model cannot plan: `PlanUnavailable`, not retryable.
 */
export const planHandler =
  (deps: HandlerDeps) =>
  (message: BusMessage): NodePlan => {
    const request = decodeOrReject(deps, message, (payload) =>
      decodeMessageOrThrow('PlanRequest', payload),
    );
    const state = deps.kernelState();
    if (state === undefined)
      throw new AppError(`node ${deps.nodeId} has no kernel model to plan on`, {
        code: 'PlanUnavailable',
        retryable: false,
      });
    const path = deps.planPath();
    const occupied = deps.occupied?.();
    return planNode(state, request.policy, {
      nodeId: deps.nodeId,
      policyVersion: request.policyVersion,
      ...(path === undefined ? {} : { path }),
      ...(occupied === undefined ? {} : { occupied }),
    });
  };
