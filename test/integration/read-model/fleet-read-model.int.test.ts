import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FleetReadModel, ReadModelApplyError, SqliteEventStore } from '@tramway/shared/infra';
import type { EventStore } from '@tramway/shared/infra';
import { EventDecodeError, decodeFleetEventOrThrow } from '@tramway/shared/contracts';
import { foldFleet, initialFleetState, READ_MODEL_TABLES } from '@tramway/shared/projections';
import type { NewEvent } from '@tramway/shared/lib';
import { syntheticFleetLog } from '../../fixtures/event-logs/synthetic-fleet-log.js';
import type { AppendableEvent } from '../../fixtures/event-logs/fleet-log-builder.js';
import { recordAll, toAppendable } from '../../fixtures/event-logs/fleet-log-builder.js';

let dir: string;
let logPath: string;
let store: SqliteEventStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramway-rm-'));
  logPath = join(dir, 'log.sqlite');
  store = await SqliteEventStore.open({ path: logPath, pollIntervalMs: 0 });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const appendAll = async (target: EventStore, items: Iterable<AppendableEvent>): Promise<void> => {
  for (const { streamId, event } of items) await target.append(streamId, 'any', [event]);
};

/** Every table of the read model, as sorted JSON rows, for byte comparisons. */
const dumpTables = (path: string): Record<string, string> => {
  const db = new Database(path, { readonly: true });
  try {
    return Object.fromEntries(
      Object.values(READ_MODEL_TABLES).map((t) => [
        t,
        JSON.stringify(db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()),
      ]),
    );
  } finally {
    db.close();
  }
};

describe(FleetReadModel.name, () => {
  it('catches up from the log and agrees with the pure fold on open links and trampoline occupancy', async () => {
    const items = [...syntheticFleetLog({ seed: 5, events: 3000, nodes: 8 })];
    await appendAll(store, items);
    const sut = await FleetReadModel.open({ path: join(dir, 'rm.sqlite') });
    const result = await sut.catchUp(store, { batchSize: 250 });
    expect(result).toEqual({ applied: 3000, skipped: 0, position: 3000 });

    const state = foldFleet(initialFleetState(), recordAll(items).map(decodeFleetEventOrThrow));
    const openLinks = await sut.db
      .selectFrom('rm_links_v1')
      .select(['node_id', 'link_id', 'program_name'])
      .where('released_position', 'is', null)
      .orderBy('node_id')
      .orderBy('link_id')
      .execute();
    const foldLinks = Object.values(state.nodes)
      .flatMap((n) =>
        Object.values(n.links).map((l) => ({
          node_id: n.nodeId,
          link_id: l.linkId,
          program_name: l.programName,
        })),
      )
      .sort((a, b) =>
        a.node_id === b.node_id ? a.link_id - b.link_id : a.node_id < b.node_id ? -1 : 1,
      );
    expect(openLinks).toEqual(foldLinks);
    expect(openLinks.length).toBeGreaterThan(10);

    const occupancy = await sut.db
      .selectFrom('rm_connections_v1')
      .select(['node_id', 'obj_id', 'btf_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('released_position', 'is', null)
      .groupBy(['node_id', 'obj_id', 'btf_id'])
      .execute();
    const fromRows = Object.fromEntries(
      occupancy.map((r) => [`${r.node_id}/${r.obj_id}:${r.btf_id}`, r.n]),
    );
    const fromFold = Object.fromEntries(
      Object.values(state.nodes).flatMap((n) =>
        Object.entries(n.trampolines).map(([k, t]) => [`${n.nodeId}/${k}`, t.connections]),
      ),
    );
    expect(fromRows).toEqual(fromFold);
    await sut.close();
  });

  it('resumes from its checkpoint: catching up in pieces equals one catch-up, equals a rebuild', async () => {
    await appendAll(store, syntheticFleetLog({ seed: 9, events: 1200, nodes: 5 }));
    const once = await FleetReadModel.open({ path: join(dir, 'once.sqlite') });
    await once.catchUp(store);
    await once.close();

    const pieces = await FleetReadModel.open({ path: join(dir, 'pieces.sqlite') });
    for (const until of [1, 77, 500, 501, 1199]) {
      expect((await pieces.catchUp(store, { until, batchSize: 64 })).position).toBe(until);
    }
    await pieces.close();
    const reopened = await FleetReadModel.open({ path: join(dir, 'pieces.sqlite') });
    expect(reopened.position()).toBe(1199);
    expect(await reopened.catchUp(store)).toMatchObject({ applied: 1, position: 1200 });
    expect(dumpTables(join(dir, 'pieces.sqlite'))).toEqual(dumpTables(join(dir, 'once.sqlite')));

    expect(await reopened.rebuild(store)).toEqual({ applied: 1200, skipped: 0, position: 1200 });
    expect(dumpTables(join(dir, 'pieces.sqlite'))).toEqual(dumpTables(join(dir, 'once.sqlite')));
    await reopened.close();
  });

  it('applies each event once when two readers catch up the same file at the same time', async () => {
    await appendAll(store, syntheticFleetLog({ seed: 8, events: 1500, nodes: 4 }));
    const once = await FleetReadModel.open({ path: join(dir, 'once.sqlite') });
    await once.catchUp(store);
    await once.close();
    const path = join(dir, 'shared.sqlite');
    const a = await FleetReadModel.open({ path });
    const b = await FleetReadModel.open({ path });
    const [ra, rb] = await Promise.all([
      a.catchUp(store, { batchSize: 100 }),
      b.catchUp(store, { batchSize: 70 }),
    ]);
    expect([ra.position, rb.position]).toEqual([1500, 1500]);
    await a.close();
    await b.close();
    expect(dumpTables(path)).toEqual(dumpTables(join(dir, 'once.sqlite')));
  });

  it('rolls back the rows AND the checkpoint of a batch that fails half-way', async () => {
    const items = [...syntheticFleetLog({ seed: 2, events: 400, nodes: 4 })];
    const events = recordAll(items).map(decodeFleetEventOrThrow);
    const path = join(dir, 'rm.sqlite');
    const sut = await FleetReadModel.open({ path });
    sut.apply(events.slice(0, 200));
    const before = dumpTables(path);
    const raw = new Database(path);
    raw.exec('DROP TABLE rm_assignments_v1');
    raw.close();
    const tail = events.slice(200);
    const failing = tail.findIndex((e) => e.type === 'AssignmentIssued');
    expect(failing).toBeGreaterThan(0); // rows before it in the same batch must be rolled back too
    expect(() => sut.apply(tail)).toThrow(ReadModelApplyError);
    expect(sut.position()).toBe(200);
    const after = dumpTables.bind(null, path);
    const { rm_assignments_v1: _gone, ...rest } = before;
    expect(() => after()).toThrow(/no such table: rm_assignments_v1/);
    const db = new Database(path, { readonly: true });
    for (const [table, rows] of Object.entries(rest)) {
      expect(JSON.stringify(db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all()), table).toBe(
        rows,
      );
    }
    db.close();
    await sut.close();
  });

  it('stops at a malformed fleet event, naming it, with everything before it applied', async () => {
    const good = toAppendable([
      {
        actor: 'agent:n1',
        event: { type: 'ModuleLoaded', data: { nodeId: 'n1', module: 'xfs', btfObjId: 100 } },
      },
    ]);
    await appendAll(store, good);
    const bad: NewEvent = {
      id: 'bad-1',
      type: 'ModuleLoaded',
      schemaVersion: 1,
      data: { nodeId: 'n1', module: 'xfs', btfObjId: 'one hundred' },
      metadata: { occurredAt: '2026-11-24T14:00:00Z', actor: 'agent:n1' },
    };
    await store.append('node-n1', 'any', [bad]);
    const sut = await FleetReadModel.open({ path: join(dir, 'rm.sqlite') });
    const attempt = sut.catchUp(store);
    await expect(attempt).rejects.toThrow(EventDecodeError);
    await expect(sut.catchUp(store)).rejects.toThrow(
      /^ModuleLoaded v1 \(id bad-1, position 2, stream node-n1\): data\.btfObjId: /,
    );
    expect(sut.position()).toBe(1);
    await sut.close();
  });

  it('passes over events of other families and moves its checkpoint past them', async () => {
    await store.append('kernel-n1', 'any', [
      {
        id: 'k1',
        type: 'TrampolineCreated',
        schemaVersion: 1,
        data: {},
        metadata: { occurredAt: '2026-11-24T14:00:00Z', actor: 'agent:n1' },
      },
    ]);
    await appendAll(
      store,
      toAppendable([
        { actor: 'agent:n1', event: { type: 'NodeBooted', data: { nodeId: 'n1', bootId: 'b' } } },
      ]),
    );
    const sut = await FleetReadModel.open({ path: join(dir, 'rm.sqlite') });
    expect(await sut.catchUp(store)).toEqual({ applied: 1, skipped: 1, position: 2 });
    await sut.close();
  });

  it('rebuilds without the audit indexes and puts every one of them back', async () => {
    await appendAll(store, syntheticFleetLog({ seed: 4, events: 300, nodes: 3 }));
    const path = join(dir, 'rm.sqlite');
    const sut = await FleetReadModel.open({ path });
    const indexes = sut.indexNames();
    expect(indexes).toContain('rm_events_v1_actor');
    expect(indexes).toContain('rm_links_v1_open');
    await sut.rebuild(store);
    expect(sut.indexNames()).toEqual(indexes);
    await sut.close();
  });

  it('recreates on open the indexes a crashed rebuild had deferred', async () => {
    const path = join(dir, 'rm.sqlite');
    const first = await FleetReadModel.open({ path });
    const indexes = first.indexNames();
    await first.close();
    const raw = new Database(path);
    const { sql } = raw
      .prepare<[], { sql: string }>(
        "SELECT sql FROM sqlite_master WHERE name = 'rm_events_v1_actor'",
      )
      .get()!;
    raw
      .prepare('INSERT INTO rm_deferred_indexes_v1 (name, sql) VALUES (?, ?)')
      .run('rm_events_v1_actor', sql);
    raw.exec('DROP INDEX rm_events_v1_actor');
    raw.close();
    const sut = await FleetReadModel.open({ path });
    expect(sut.indexNames()).toEqual(indexes);
    await sut.close();
  });

  it('lives in the log file itself, beside the event tables', async () => {
    await appendAll(store, syntheticFleetLog({ seed: 1, events: 50, nodes: 2 }));
    const sut = await FleetReadModel.open({ path: logPath });
    expect((await sut.catchUp(store)).position).toBe(50);
    expect(await store.headPosition()).toBe(50);
    await sut.close();
  });
});
