/**
 * Stream names of the fleet log (ARCHITECTURE.md, "Events and the log"), built by pure
 * functions and never concatenated inline (STYLE.md §4 "Streams").
 */
import type { FleetEvent } from './fleet.events.js';
import { assertNever } from '../lib/assert-never.js';

const STREAM_ID_PART = /^[A-Za-z0-9._:@-]+$/;

const part = (what: string, value: string): string => {
  if (!STREAM_ID_PART.test(value)) {
    throw new RangeError(`${what} ${JSON.stringify(value)} is not a valid stream id part`);
  }
  return value;
};

/** Throws RangeError when the id is empty or holds characters other than `A-Za-z0-9._:@-`. */
export const FleetStreams = {
  node: (nodeId: string): string => `node-${part('node id', nodeId)}`,
  policy: (name: string): string => `policy-${part('policy name', name)}`,
  rollout: (rolloutId: string): string => `rollout-${part('rollout id', rolloutId)}`,
  assignment: (nodeId: string): string => `assignment-${part('node id', nodeId)}`,
  liveness: (nodeId: string): string => `liveness-${part('node id', nodeId)}`,
  drift: (nodeId: string): string => `drift-${part('node id', nodeId)}`,
  admission: (nodeId: string): string => `admission-${part('node id', nodeId)}`,
  accessToken: (name: string): string => `token-${part('token name', name)}`,
  moduleRequests: (nodeId: string): string => `module-requests-${part('node id', nodeId)}`,
} as const;

/**
 * The rollout of a policy version: one per version (a version is applied once; rolling back
 * re-applies an older version within the same rollout), so its id is deterministic.
 */
export const rolloutIdOf = (policy: string, version: number): string => `${policy}-v${version}`;

/** The stream an event belongs to: node facts to `node-<id>`, decisions to their aggregate. */
export const streamOf = (event: FleetEvent): string => {
  switch (event.type) {
    case 'NodeRegistered':
    case 'NodeBooted':
    case 'KernelProfileDetected':
    case 'ModuleLoaded':
    case 'ModuleUnloaded':
    case 'ProgramLoaded':
    case 'ProgramUnloaded':
    case 'LinkCreated':
    case 'LinkCreateFailed':
    case 'LinkReleased':
    case 'NodeReconciled':
    case 'NodeReplanned':
      return FleetStreams.node(event.data.nodeId);
    case 'DriftFound':
      return FleetStreams.drift(event.data.nodeId);
    case 'NodeMarkedStale':
    case 'NodeMarkedAlive':
      return FleetStreams.liveness(event.data.nodeId);
    case 'PolicyApplied':
    case 'PolicyRemoved':
    case 'PolicyDeleted':
      return FleetStreams.policy(event.data.name);
    case 'RolloutStarted':
    case 'WaveStarted':
    case 'WaveHeld':
    case 'WaveCompleted':
    case 'RolloutCompleted':
    case 'RolloutRolledBack':
      return FleetStreams.rollout(event.data.rolloutId);
    case 'AssignmentIssued':
    case 'PlanRecorded':
    case 'NodeTakenBack':
      return FleetStreams.assignment(event.data.nodeId);
    case 'NodeAdmissionPending':
    case 'NodeApproved':
      return FleetStreams.admission(event.data.nodeId);
    case 'AccessTokenIssued':
    case 'AccessTokenRevoked':
      return FleetStreams.accessToken(event.data.name);
    case 'ModuleActionRequested':
      return FleetStreams.moduleRequests(event.data.nodeId);
    default:
      return assertNever(event, 'fleet event');
  }
};

/**
 * Whether `streamId` may hold the event: its own stream, or, for the events that moved to a
 * stream of their own decider (liveness, drift), the node stream older logs recorded them in.
 * Allocates nothing: it runs for every event decoded.
 */
export const belongsToStream = (event: FleetEvent, streamId: string): boolean => {
  if (streamOf(event) === streamId) return true;
  switch (event.type) {
    case 'DriftFound':
    case 'NodeMarkedStale':
    case 'NodeMarkedAlive':
      return streamId === FleetStreams.node(event.data.nodeId);
    default:
      return false;
  }
};
