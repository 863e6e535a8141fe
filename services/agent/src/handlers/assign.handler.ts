import type { BusMessage } from '@tramway/shared/infra';
import type { AssignOutcome } from '../agent.types.js';
import type { HandlerDeps } from './handler-deps.js';
import { logRejected } from './handler-deps.js';
import { isAppError } from '@tramway/shared/infra';

/**
 * `tramway.agent.<id>.assign`: Assignment -> `AssignReply`; reconciles in the background. The
 * signature, schema, node and (epoch, generation) are checked by the agent (`receiveAssignment`):
 * a refusal is an `accepted: false` reply with its `error` code, counted and logged.
 */
export const assignHandler =
  (deps: HandlerDeps) =>
  (message: BusMessage): AssignOutcome => {
    let reply: AssignOutcome;
    try {
      reply = deps.receiveAssignment(message.payload, message.subject);
    } catch (error) {
      if (isAppError(error, 'InvalidMessage')) logRejected(deps, message.subject, error);
      throw error;
    }
    if (reply.accepted)
      deps.logger.info('assignment received', { subject: message.subject, ...reply });
    return reply;
  };
