import type { BusMessage } from '@tramway/shared/infra';
import type { KernelState } from '@tramway/shared/kernel';
import type { PlanPath } from '@tramway/shared/domain';
import type { Logger } from '@tramway/shared/infra';
import type { AssignOutcome, ModuleOutcome } from '../agent.types.js';
import type { NodeActualState } from '../state/actual-state.js';
import { InvalidMessageError } from '../agent-messages.js';
import { isAppError } from '@tramway/shared/infra';

/** What the request handlers may use of the agent: its operations, never its internals. */
export interface HandlerDeps {
  readonly nodeId: string;
  readonly logger: Logger;
  readonly receiveAssignment: (payload: unknown, via?: string) => AssignOutcome;
  readonly module: (action: 'load' | 'unload', module: string) => Promise<ModuleOutcome>;
  readonly actualState: () => Promise<NodeActualState>;
  readonly kernelState: () => KernelState | undefined;
  /** the node's probed attach path for `planNode` (undefined: the model's profile decides) */
  readonly planPath: () => PlanPath | undefined;
  /** links the model does not know on each function (other tools'; a real kernel's) */
  readonly occupied?: () => ReadonlyMap<string, number>;
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
