import type { BusMessage } from '@tramway/shared/infra';
import type { KernelState } from '@tramway/shared/kernel';
import type { AgentLogger } from '../agent-logger.js';
import type { KernelDriver } from '../kernel-driver/index.js';
import type { AgentAssignment } from '../reconcile/agent-policy.js';
import type { NodeKernel } from '../reconcile/desired-links.js';
import type { NodeActualState } from '../app.js';
import { InvalidMessageError } from '../agent-messages.js';

/** What the request handlers may use of the agent: its operations, never its internals. */
export interface HandlerDeps {
  readonly nodeId: string;
  readonly logger: AgentLogger;
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
}

/**
 * Decodes with `decode`, or logs the malformed message (subject and every problem) and rethrows
 * it: the bus replies with its code (`InvalidMessage`, not retryable), and nothing is touched.
 */
export const decodeOrReject = <T>(
  deps: HandlerDeps,
  message: BusMessage,
  decode: (subject: string, payload: unknown) => T,
): T => {
  try {
    return decode(message.subject, message.payload);
  } catch (error) {
    if (error instanceof InvalidMessageError)
      deps.logger.warn('malformed message rejected', {
        subject: message.subject,
        problems: error.problems,
      });
    throw error;
  }
};
