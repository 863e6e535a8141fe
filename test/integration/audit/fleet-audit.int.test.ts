import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FleetReadModel,
  SqliteEventStore,
  actorActivity,
  fleetStateAt,
  functionHistory,
  policyHistory,
  programHistory,
} from '@tramway/shared/infra';
import { decodeFleetEventOrThrow } from '@tramway/shared/contracts';
import { fleetStateJson, foldFleet, initialFleetState } from '@tramway/shared/projections';
import type { RecordedEvent } from '@tramway/shared/lib';
import { syntheticFleetLog } from '../../fixtures/event-logs/synthetic-fleet-log.js';
import { recordAll } from '../../fixtures/event-logs/fleet-log-builder.js';

let dir: string;
let store: SqliteEventStore;
let rm: FleetReadModel;
let recorded: RecordedEvent[];
const ALL = 1_000_000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramway-audit-lib-'));
  const items = [...syntheticFleetLog({ seed: 21, events: 4000, nodes: 6 })];
  recorded = recordAll(items);
  let now = '';
  store = await SqliteEventStore.open({
    path: join(dir, 'log.sqlite'),
    pollIntervalMs: 0,
    now: () => now,
  });
  for (const e of recorded) {
    now = e.recordedAt;
    await store.append(e.streamId, 'any', [
      {
        id: e.id,
        type: e.type,
        schemaVersion: e.schemaVersion,
        data: e.data,
        metadata: e.metadata,
      },
    ]);
  }
  rm = await FleetReadModel.open({ path: join(dir, 'log.sqlite') });
  await rm.catchUp(store);
});
afterAll(async () => {
  await rm.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const last = <T>(xs: readonly T[], n: number): readonly T[] => xs.slice(Math.max(0, xs.length - n));

describe('audit limits', () => {
  it('function history with a limit is exactly the newest entries of the full history', async () => {
    for (const nodeId of ['node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-6']) {
      for (const fn of ['tcp_sendmsg', 'vfs_read', 'nft_do_chain', 'mutex_lock']) {
        const full = await functionHistory(rm, { nodeId, function: fn, limit: ALL });
        for (const limit of [1, 2, 3, 10]) {
          expect(
            await functionHistory(rm, { nodeId, function: fn, limit }),
            `${nodeId} ${fn} ${limit}`,
          ).toEqual(last(full, limit));
        }
      }
    }
  });

  it('program and policy histories with a limit are the newest events of the full history', async () => {
    for (const name of ['prog_1', 'prog_2']) {
      const full = await programHistory(rm, { name, limit: ALL });
      expect(full.length).toBeGreaterThan(20);
      expect(await programHistory(rm, { name, limit: 7 })).toEqual(last(full, 7));
    }
    const policy = await policyHistory(rm, { name: 'trace-1', limit: ALL });
    expect(policy.length).toBeGreaterThan(5);
    expect(await policyHistory(rm, { name: 'trace-1', limit: 4 })).toEqual(last(policy, 4));
    expect(new Set(policy.map((e) => e.position)).size).toBe(policy.length);
  });

  it('actor activity is bounded by occurredAt on both ends, inclusive', async () => {
    const agent = recorded.filter((e) => e.metadata.actor === 'agent:node-2');
    const since = agent[10]!.metadata.occurredAt;
    const until = agent[20]!.metadata.occurredAt;
    const got = await actorActivity(rm, { actor: 'agent:node-2', since, until });
    expect(got.map((e) => e.position)).toEqual(agent.slice(10, 21).map((e) => e.globalPosition));
  });
});

describe('fleetStateAt', () => {
  it('equals the pure fold of the log prefix, by position and by instant', async () => {
    const decoded = recorded.map(decodeFleetEventOrThrow);
    for (const cut of [1, 999, 2500, 4000]) {
      const expected = fleetStateJson(foldFleet(initialFleetState(), decoded.slice(0, cut)));
      expect(fleetStateJson((await fleetStateAt(store, { position: cut })).state)).toBe(expected);
      const at = recorded[cut - 1]!.recordedAt;
      expect(fleetStateJson((await fleetStateAt(store, { at })).state)).toBe(expected);
    }
  });

  it('starts from a snapshot at or before the target, and ignores one after it', async () => {
    const decoded = recorded.map(decodeFleetEventOrThrow);
    const snapshot = foldFleet(initialFleetState(), decoded.slice(0, 3000));
    const from = await fleetStateAt(store, { position: 3500 }, { from: snapshot });
    expect(from.replayed).toBe(500);
    expect(fleetStateJson(from.state)).toBe(
      fleetStateJson(foldFleet(initialFleetState(), decoded.slice(0, 3500))),
    );
    const before = await fleetStateAt(store, { position: 2000 }, { from: snapshot });
    expect(fleetStateJson(before.state)).toBe(
      fleetStateJson(foldFleet(initialFleetState(), decoded.slice(0, 2000))),
    );
  });
});
