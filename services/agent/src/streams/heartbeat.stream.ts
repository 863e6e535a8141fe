/**
 * The agent's heartbeat (docs/fleet-protocol.md: `tramway.hb.<id>` every HEARTBEAT_MS with the
 * observed generation). Time-based, so it takes a scheduler (STYLE.md §6 "rxjs"): tests drive
 * it with a `TestScheduler`.
 */
import type { Observable, SchedulerLike } from 'rxjs';
import { asyncScheduler, map, takeUntil, timer } from 'rxjs';

export interface HeartbeatBeat {
  readonly nodeId: string;
  readonly bootId: string;
  readonly observedGeneration: number;
  /** ISO 8601 */
  readonly at: string;
}

/**
 * One beat at once, then one every `periodMs`, each read from `snapshot()` at that moment,
 * until `stop$` emits.
 */
export const heartbeats = (
  periodMs: number,
  snapshot: () => HeartbeatBeat,
  stop$: Observable<unknown>,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<HeartbeatBeat> =>
  timer(0, periodMs, scheduler).pipe(
    map(() => snapshot()),
    takeUntil(stop$),
  );
