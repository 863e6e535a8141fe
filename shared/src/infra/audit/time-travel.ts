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
  /** the global position the state stands at (its last event; 0 for the empty log) */
  readonly position: number;
  /** events read from the store to build it */
  readonly replayed: number;
}

/**
 * Rebuilds the fleet state as it stood at `target`. Starts from `from` (a restored snapshot)
 * when it lies at or before the target, else from the empty state. Rejects with
 * `EventDecodeError` naming a malformed fleet event on the way; events of other families are
 * passed over.
 *
 * An instant selects the events recorded at or before it. The store stamps `recordedAt` in
 * position order, so reading stops at the first event recorded after the instant.
 */
export const fleetStateAt = async (
  store: EventStore,
  target: TimeTarget,
  from?: FleetState,
): Promise<TimeTravelResult> => {
  const start = from !== undefined && canStartFrom(from, target) ? from : initialFleetState();
  const folder = createFleetFolder(start);
  let replayed = 0;
  for await (const recorded of store.readAll({ after: start.position })) {
    replayed += 1;
    if ('position' in target && recorded.globalPosition > target.position) break;
    if (!isFleetEventType(recorded.type)) continue;
    const decoded = decodeFleetEvent(recorded);
    if (!decoded.ok) throw new EventDecodeError(decoded.error);
    if (!isWithin(decoded.value, target)) break;
    folder.push(decoded.value);
  }
  const state = folder.state();
  return { state, position: state.position, replayed };
};
