/**
 * The agent's side of the fleet messages (docs/fleet-protocol.md, "Subjects and messages"):
 * subjects from `FleetSubjects`, validation with the shared message schemas, so an inbound
 * message is accepted exactly when the coordinator's contract says so.
 */
import { decodeMessageOrThrow } from '@tramway/shared/contracts';
import type { AgentAssignment } from './reconcile/agent-policy.js';

export { FleetSubjects as AgentSubjects, InvalidMessageError } from '@tramway/shared/contracts';

/** An `Assignment`; throws `InvalidMessageError` naming every problem's field path. */
export const decodeAssignment = (payload: unknown): AgentAssignment =>
  decodeMessageOrThrow('Assignment', payload);

/** The reply of `tramway.coord.assignment.<nodeId>`: an `Assignment` or null. */
export const decodeAssignmentReply = (payload: unknown): AgentAssignment | null =>
  decodeMessageOrThrow('AssignmentReply', payload);
