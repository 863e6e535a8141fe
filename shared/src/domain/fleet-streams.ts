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
} as const;

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
    case 'DriftFound':
    case 'NodeReconciled':
    case 'NodeReplanned':
    case 'NodeMarkedStale':
    case 'NodeMarkedAlive':
      return FleetStreams.node(event.data.nodeId);
    case 'PolicyApplied':
    case 'PolicyRemoved':
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
      return FleetStreams.assignment(event.data.nodeId);
    default:
      return assertNever(event, 'fleet event');
  }
};
