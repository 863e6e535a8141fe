/**
 * Snapshots of the fleet projection (ARCHITECTURE.md: "snapshots plus tail replay make restart
 * fast") and the pure half of time travel. A snapshot is the state's canonical JSON plus the
 * position it was taken at; restoring it and folding the tail gives the same bytes as a full
 * replay.
 */
import type { Result } from '../lib/result.js';
import { err, ok } from '../lib/result.js';
import type { RecordedEvent } from '../lib/event-envelope.js';
import type { FleetState } from './fleet.projection.js';

export const SNAPSHOT_FORMAT = 'tramway.fleet-snapshot';
/** Bump when `FleetState` changes shape: old snapshots are then refused and the log replayed. */
export const SNAPSHOT_VERSION = 1;

export interface FleetSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: number;
  readonly position: number;
  readonly recordedAt: string | null;
  readonly state: FleetState;
}

/** The canonical bytes of a state: two equal states serialise to the same string. */
export const fleetStateJson = (state: FleetState): string => JSON.stringify(state);

export const takeSnapshot = (state: FleetState): string =>
  JSON.stringify({
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    position: state.position,
    recordedAt: state.recordedAt,
    state,
  } satisfies FleetSnapshot);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses a snapshot written by `takeSnapshot`. Refuses (as data, with the reason) text that is
 * not JSON, another format, another version, or a state whose position disagrees.
 */
export const restoreSnapshot = (text: string): Result<FleetState, string> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return err(`snapshot is not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(parsed) || parsed['format'] !== SNAPSHOT_FORMAT) {
    return err(`snapshot: format is not ${SNAPSHOT_FORMAT}`);
  }
  if (parsed['version'] !== SNAPSHOT_VERSION) {
    return err(`snapshot: version ${String(parsed['version'])} is not ${SNAPSHOT_VERSION}`);
  }
  const state = parsed['state'];
  if (
    !isRecord(state) ||
    typeof state['position'] !== 'number' ||
    state['position'] !== parsed['position'] ||
    !isRecord(state['nodes']) ||
    !isRecord(state['policies']) ||
    !isRecord(state['rollouts'])
  ) {
    return err('snapshot: state is malformed (position, nodes, policies, rollouts)');
  }
  return ok(state as unknown as FleetState);
};

/** A point of the past: a global position, or an instant (ISO 8601) compared with `recordedAt`. */
export type TimeTarget = { readonly position: number } | { readonly at: string };

/**
 * Whether `event` is part of the log as it stood at `target`. Instants are compared with the
 * log's own clock (`recordedAt`), not the observer's `occurredAt`: the log orders events by
 * position, and `recordedAt` is stamped by the store in that order, so a prefix by time is a
 * prefix by position.
 */
export const isWithin = (
  event: Pick<RecordedEvent, 'globalPosition' | 'recordedAt'>,
  target: TimeTarget,
): boolean =>
  'position' in target
    ? event.globalPosition <= target.position
    : Date.parse(event.recordedAt) <= Date.parse(target.at);

/** Whether a state (snapshot) taken at `state.position` may be the start of a replay to `target`. */
export const canStartFrom = (state: FleetState, target: TimeTarget): boolean =>
  'position' in target
    ? state.position <= target.position
    : state.recordedAt === null || Date.parse(state.recordedAt) <= Date.parse(target.at);
