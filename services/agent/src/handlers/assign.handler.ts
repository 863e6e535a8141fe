import type { BusMessage } from '@tramway/shared/infra';
import { InvalidMessageError, decodeAssignment } from '../agent-messages.js';
import type { AssignOutcome } from '../agent.types.js';
import type { HandlerDeps } from './handler-deps.js';
import { decodeOrReject, logRejected } from './handler-deps.js';

/** `tramway.agent.<id>.assign`: Assignment -> `{ accepted, generation, reason? }`; reconciles in the background. */
export const assignHandler =
  (deps: HandlerDeps) =>
  (message: BusMessage): AssignOutcome => {
    const assignment = decodeOrReject(deps, message, decodeAssignment);
    if (assignment.nodeId !== deps.nodeId) {
      const error = new InvalidMessageError('Assignment', [
        { path: 'nodeId', problem: `assignment for ${assignment.nodeId} sent to ${deps.nodeId}` },
      ]);
      logRejected(deps, message.subject, error);
      throw error;
    }
    const reply = deps.assign(assignment);
    deps.logger.info('assignment received', { subject: message.subject, ...reply });
    return reply;
  };
