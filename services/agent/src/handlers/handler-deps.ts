import type { BusMessage } from '@tramway/shared/infra';
import type { KernelState } from '@tramway/shared/kernel';
import type { PlanPath } from '@tramway/shared/domain';
import type { Logger } from '@tramway/shared/infra';
import type { KernelDriver } from '../kernel-driver/index.js';
import type { AgentAssignment, HeldLink } from '../reconcile/agent-policy.js';
import type { NodeKernel } from '../reconcile/desired-links.js';
import type { PolicyStatus } from '../reconcile/reconciler.js';
import { InvalidMessageError } from '../agent-messages.js';
import { isAppError } from '@tramway/shared/infra';

/** `NodeActualState` (docs/fleet-protocol.md): what the kernel holds, with the policy of each link. */
export interface NodeActualState {
  readonly nodeId: string;
  readonly bootId: string;
  readonly observedGeneration: number;
  readonly links: readonly {
    readonly linkId: number;
    readonly policy: string | null;
    readonly policyVersion: number | null;
    readonly program: string;
    readonly connections: readonly HeldLink['connections'][number][];
  }[];
  readonly modules: readonly { readonly name: string; readonly state: string }[];
  /** per assigned policy: its path, the targets waiting for their module and those refused */
  readonly policies: readonly Omit<PolicyStatus, 'attachable'>[];
}

/** What the request handlers may use of the agent: its operations, never its internals. */
export interface HandlerDeps {
  readonly nodeId: string;
  readonly logger: Logger;
  readonly assign: (a: AgentAssignment) => {
    accepted: boolean;
    generation: number;
    reason?: string;
  };
  readonly module: (
    action: 'load' | 'unload',
    module: string,
  ) => Promise<{ ok: true } | { ok: false; errno: string; reason: string }>;
  readonly actualState: () => Promise<NodeActualState>;
  readonly kernelState: () => KernelState | undefined;
  readonly driver: () => KernelDriver;
  readonly node: () => NodeKernel;
  /** the node's probed attach path for `planNode` (undefined: the model's profile decides) */
  readonly planPath: () => PlanPath | undefined;
}

/**
 * Decodes with `decode`, or logs the malformed message (subject and every problem) and rethrows
 * it: the bus replies with its code (`InvalidMessage`, not retryable), and nothing is touched.
 */
export const decodeOrReject = <T>(
  deps: HandlerDeps,
  message: BusMessage,
  decode: (payload: unknown) => T,
): T => {
  try {
    return decode(message.payload);
  } catch (error) {
    if (isAppError(error, 'InvalidMessage')) logRejected(deps, message.subject, error);
    throw error;
  }
};

/** Logs a rejected message with its subject and every problem (`path: what`). */
export const logRejected = (deps: HandlerDeps, subject: string, error: unknown): void => {
  const problems =
    error instanceof InvalidMessageError
      ? error.problems.map((p) => `${p.path}: ${p.problem}`)
      : [String(error)];
  deps.logger.warn('malformed message rejected', { subject, problems });
};
