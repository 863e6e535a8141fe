import type { BusMessage } from '@tramway/shared/infra';
import type { AssignOutcome } from '../agent.types.js';
import type { HandlerDeps } from './handler-deps.js';

/**
 * `tramway.agent.<id>.assign`: Assignment -> `AssignReply`; reconciles in the background. The
 * signature, schema, node and (epoch, generation) are checked by the agent (`receiveAssignment`):
 * a refusal is an `accepted: false` reply with its `error` code, counted and logged.
 */
export const assignHandler =
  (deps: HandlerDeps) =>
  (message: BusMessage): AssignOutcome => {
    const reply = deps.receiveAssignment(message.payload, message.subject);
    if (reply.accepted) deps.logger.info('assignment received', { subject: message.subject, ...reply });
    return reply;
  };
