import { describe, expect, it } from 'vitest';
import { decodeFleetEventOrThrow } from '@tramway/shared/contracts';
import type { FleetRecordedEvent } from '@tramway/shared/domain';
import type { FleetState } from '@tramway/shared/projections';
import {
  createFleetFolder,
  createFleetStateCache,
  fleetStateJson,
  foldFleet,
  initialFleetState,
} from '@tramway/shared/projections';
import { syntheticFleetLog } from '../../fixtures/event-logs/synthetic-fleet-log.js';
import { recordAll } from '../../fixtures/event-logs/fleet-log-builder.js';

const events: FleetRecordedEvent[] = recordAll(
  syntheticFleetLog({ seed: 7, events: 3000, nodes: 5 }),
).map(decodeFleetEventOrThrow);

/** The state after every `step` events of the log (folded once, as the coordinator does). */
const statesEvery = (step: number): FleetState[] => {
  const folder = createFleetFolder();
  const out: FleetState[] = [];
  for (const e of events) {
    folder.push(e);
    if (e.globalPosition % step === 0) out.push(folder.state());
  }
  return out;
};

const foldTo = (position: number, from: FleetState = initialFleetState()): FleetState =>
  foldFleet(
    from,
    events.filter((e) => e.globalPosition > from.position && e.globalPosition <= position),
  );

describe('fleet state cache (time travel from the nearest kept state)', () => {
  it('answers the latest state at or before a position, one per interval', () => {
    const cache = createFleetStateCache({ every: 500, max: 100 });
    for (const s of statesEvery(100)) cache.saveSnapshot(s);
    expect(cache.positions()).toEqual([100, 500, 1000, 1500, 2000, 2500, 3000]);
    expect(cache.nearestSnapshot({ position: 1499 })?.position).toBe(1000);
    expect(cache.nearestSnapshot({ position: 1500 })?.position).toBe(1500);
    expect(cache.nearestSnapshot({ position: 99 })).toBeUndefined();
  });

  it('keeps the earliest state of an interval whatever the order offered', () => {
    const cache = createFleetStateCache({ every: 500, max: 100 });
    for (const s of statesEvery(100).reverse()) cache.saveSnapshot(s);
    expect(cache.positions()).toEqual([100, 500, 1000, 1500, 2000, 2500, 3000]);
  });

  it('stays within max states by doubling the interval, still spread over the log', () => {
    const cache = createFleetStateCache({ every: 100, max: 4 });
    for (const s of statesEvery(100)) cache.saveSnapshot(s);
    const kept = cache.positions();
    expect(kept.length).toBeLessThanOrEqual(4);
    expect(cache.every()).toBe(800);
    expect(kept).toEqual([100, 800, 1600, 2400]);
    // a replay from the nearest kept state is at most one interval long
    for (let p = 100; p <= 3000; p += 37)
      expect(p - cache.nearestSnapshot({ position: p })!.position).toBeLessThan(cache.every());
  });

  it('a replay from the nearest kept state gives the state a replay from the start gives', () => {
    const cache = createFleetStateCache({ every: 300, max: 6 });
    for (const s of statesEvery(50)) cache.saveSnapshot(s);
    for (const position of [2999, 2100, 1234, 640, 301, 120]) {
      const start = cache.nearestSnapshot({ position });
      expect(start).toBeDefined();
      expect(fleetStateJson(foldTo(position, start))).toEqual(fleetStateJson(foldTo(position)));
    }
  });

  it('finds a state by instant (the log clock, recordedAt)', () => {
    const cache = createFleetStateCache({ every: 500, max: 100 });
    for (const s of statesEvery(500)) cache.saveSnapshot(s);
    const at = events[1700]!.recordedAt;
    const found = cache.nearestSnapshot({ at });
    expect(found?.position).toBe(1500);
    expect(cache.nearestSnapshot({ at: '2000-01-01T00:00:00.000Z' })).toBeUndefined();
  });

  it('refuses bounds that are not positive integers, naming the option', () => {
    expect(() => createFleetStateCache({ every: 0, max: 10 })).toThrow(/every must be/);
    expect(() => createFleetStateCache({ every: 10, max: 1 })).toThrow(/max must be/);
    expect(() => createFleetStateCache({ every: 1.5, max: 10 })).toThrow(/every must be/);
  });
});
