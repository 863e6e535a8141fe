/**
 * Folded fleet states kept in memory at intervals of the log, so that rebuilding the fleet at a
 * past position (time travel: the console's slider, `?at=`) folds only the events after the
 * nearest kept state before it, never the whole log again when the slider moves back.
 *
 * States are immutable and share what did not change (the fold copies on write), so keeping one
 * costs what changed since the one before. The cache is bounded: at most `max` states, one per
 * interval of `every` positions (the first offered); when more would be kept, the interval
 * doubles and every other state goes, so the states stay spread over the whole log and a replay
 * from the nearest one is at most one interval long. Pure: no I/O, no clock; whoever folds the
 * log offers states (infra/audit/time-travel.ts on its way, the coordinator's live fold).
 */
import type { FleetState } from './fleet.projection.js';
import type { TimeTarget } from './fleet-snapshot.js';
import { canStartFrom } from './fleet-snapshot.js';

export interface FleetStateCache {
  /** the latest state kept that a replay to `target` may start from */
  nearestSnapshot(target: TimeTarget): FleetState | undefined;
  /** offers a state: kept when none is kept in its interval yet */
  saveSnapshot(state: FleetState): void;
  /** the positions of the states kept, ascending */
  positions(): readonly number[];
  /** the interval now (positions between two states kept) */
  every(): number;
}

export interface FleetStateCacheOptions {
  /** the first interval, in log positions (a positive integer) */
  readonly every: number;
  /** states kept at most (at least 2) */
  readonly max: number;
}

export const createFleetStateCache = (options: FleetStateCacheOptions): FleetStateCache => {
  if (!Number.isSafeInteger(options.every) || options.every < 1)
    throw new RangeError(
      `fleet state cache: every must be a positive integer, got ${options.every}`,
    );
  if (!Number.isSafeInteger(options.max) || options.max < 2)
    throw new RangeError(`fleet state cache: max must be an integer >= 2, got ${options.max}`);
  let every = options.every;
  /** ascending by position, at most one per interval */
  let states: FleetState[] = [];
  const bucket = (position: number): number => Math.floor(position / every);

  /** index of the last state at or before `position`, -1 when none */
  const lastAtOrBefore = (position: number): number => {
    let lo = 0;
    let hi = states.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (states[mid]!.position <= position) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };

  const thin = (): void => {
    while (states.length > options.max) {
      every *= 2;
      const kept: FleetState[] = [];
      for (const s of states)
        if (kept.length === 0 || bucket(kept[kept.length - 1]!.position) !== bucket(s.position))
          kept.push(s);
      states = kept;
    }
  };

  return {
    nearestSnapshot: (target) => {
      if ('position' in target) {
        const i = lastAtOrBefore(target.position);
        return i < 0 ? undefined : states[i];
      }
      for (let i = states.length - 1; i >= 0; i--)
        if (canStartFrom(states[i]!, target)) return states[i];
      return undefined;
    },
    saveSnapshot: (state) => {
      if (state.position <= 0) return;
      const i = lastAtOrBefore(state.position);
      const before = i < 0 ? undefined : states[i];
      if (before !== undefined && bucket(before.position) === bucket(state.position)) return;
      const after = states[i + 1];
      // a later state of the same interval gives way to this earlier one
      if (after !== undefined && bucket(after.position) === bucket(state.position))
        states[i + 1] = state;
      else states.splice(i + 1, 0, state);
      thin();
    },
    positions: () => states.map((s) => s.position),
    every: () => every,
  };
};
