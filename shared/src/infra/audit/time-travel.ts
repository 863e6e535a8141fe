/**
 * Fleet state at a past global position or instant (ARCHITECTURE.md: "state at any global
 * position or timestamp can be rebuilt"): an optional snapshot, then the log folded up to the
 * target. The fold itself is pure (projections/fleet.projection.ts); this is its edge.
 */
import { decodeFleetEvent, EventDecodeError, isFleetEventType } from '../../contracts/index.js';
import type { FleetState, TimeTarget } from '../../projections/index.js';
import {
  canStartFrom,
  createFleetFolder,
  initialFleetState,
  isWithin,
} from '../../projections/index.js';
import type { EventStore } from '../event-store/event-store.port.js';

export interface TimeTravelResult {
  readonly state: FleetState;
  /** the global position the state stands at (its last fleet event; 0 for the empty log) */
  readonly position: number;
  /** events of the log folded (or passed over) after the starting state */
  readonly replayed: number;
}

/** Where time travel may find and leave snapshots (FleetReadModel implements it). */
export interface SnapshotCache {
  nearestSnapshot(target: TimeTarget): FleetState | undefined;
  saveSnapshot(state: FleetState): void;
}

export interface TimeTravelOptions {
  /** a state to start from (e.g. a restored snapshot); used when at or before the target */
  readonly from?: FleetState;
  /** snapshots to start from, and to leave every `snapshotEvery` events on the way */
  readonly snapshots?: SnapshotCache;
  /** default 100,000 */
  readonly snapshotEvery?: number;
}

/**
 * Rebuilds the fleet state as it stood at `target`: from the nearest usable start (`from`, or
 * the nearest cached snapshot, or the empty state), folding the log up to the target. Rejects
 * with `EventDecodeError` naming a malformed fleet event on the way; events of other families
 * are passed over.
 *
 * An instant selects the events recorded at or before it. The store stamps `recordedAt` in
 * position order, so reading stops at the first event recorded after the instant.
 */
export const fleetStateAt = async (
  store: EventStore,
  target: TimeTarget,
  options: TimeTravelOptions = {},
): Promise<TimeTravelResult> => {
  const candidates = [options.from, options.snapshots?.nearestSnapshot(target)].filter(
    (s): s is FleetState => s !== undefined && canStartFrom(s, target),
  );
  const start = candidates.reduce<FleetState>(
    (best, s) => (s.position > best.position ? s : best),
    initialFleetState(),
  );
  const every = options.snapshotEvery ?? 100_000;
  const folder = createFleetFolder(start);
  let replayed = 0;
  let nextSnapshot = (Math.floor(start.position / every) + 1) * every;
  for await (const recorded of store.readAll({ after: start.position })) {
    if (!isWithin(recorded, target)) break;
    replayed += 1;
    if (isFleetEventType(recorded.type)) {
      const decoded = decodeFleetEvent(recorded);
      if (!decoded.ok) throw new EventDecodeError(decoded.error);
      folder.push(decoded.value);
    }
    if (options.snapshots && recorded.globalPosition >= nextSnapshot) {
      options.snapshots.saveSnapshot(folder.state());
      nextSnapshot = (Math.floor(recorded.globalPosition / every) + 1) * every;
    }
  }
  const state = folder.state();
  return { state, position: state.position, replayed };
};
