/**
 * Time travel with kept past states (projections/fleet-state-cache.ts): moving back through a
 * log of 3,000 events folds from the nearest kept state, at most one interval of the log, and
 * gives exactly the state a fold from the start gives.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteEventStore, fleetStateAt } from '@tramway/shared/infra';
import { createFleetStateCache, fleetStateJson } from '@tramway/shared/projections';
import { syntheticFleetLog } from '../../fixtures/event-logs/synthetic-fleet-log.js';

let dir: string;
let store: SqliteEventStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramway-travel-cache-'));
  store = await SqliteEventStore.open({ path: join(dir, 'log.sqlite'), pollIntervalMs: 0 });
  const versions = new Map<string, number>();
  const pending: Promise<unknown>[] = [];
  for (const { streamId, event } of syntheticFleetLog({ seed: 11, events: 3000, nodes: 6 })) {
    const version = versions.get(streamId) ?? 0;
    versions.set(streamId, version + 1);
    pending.push(store.append(streamId, version === 0 ? 'no-stream' : version, [event]));
  }
  await Promise.all(pending);
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('time travel from kept past states', () => {
  it('folds at most one interval per step back, to the state a fold from the start gives', async () => {
    const head = await store.headPosition();
    expect(head).toBeGreaterThanOrEqual(3000);
    const cache = createFleetStateCache({ every: 250, max: 8 });
    // the first trip to the far end leaves states on its way
    const far = await fleetStateAt(
      store,
      { position: head - 10 },
      { snapshots: cache, snapshotEvery: cache.every() },
    );
    expect(far.replayed).toBe(head - 10);
    expect(cache.positions().length).toBeGreaterThan(1);
    expect(cache.positions().length).toBeLessThanOrEqual(8);
    for (let position = head - 200; position > 0; position -= 331) {
      const step = await fleetStateAt(
        store,
        { position },
        { snapshots: cache, snapshotEvery: cache.every() },
      );
      expect(step.replayed, `replayed to ${position}`).toBeLessThan(cache.every());
      const fromStart = await fleetStateAt(store, { position });
      expect(fleetStateJson(step.state), `state at ${position}`).toEqual(
        fleetStateJson(fromStart.state),
      );
    }
  });
});
