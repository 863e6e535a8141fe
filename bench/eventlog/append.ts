/**
 * SQLite append rate: SqliteEventStore.append against raw better-sqlite3 prepared inserts in the
 * same run (eventlog-notes §6.1 method: WAL, synchronous=NORMAL, cached 1-row INSERT, JSON.stringify
 * on the write path, ~200-byte events, 1000 event streams).
 *
 * - baseline: the store's own table (same migrations, so the same UNIQUE(event_id) and
 *   UNIQUE(stream_id, stream_position) indexes), the same rows, the same rows per transaction as
 *   events per append (one append is one transaction);
 * - `appendRatio` = store / raw at 1000 events per append, raw and store runs alternated 3 times,
 *   medians (the machine is shared and noisy); 100-event appends on `events`, 10- and 1-event
 *   appends on events/10, one alternated pair each;
 * - 1-event appends issued 100 per tick (the store commits them together) vs raw 100 rows/tx;
 * - for scale, the raw rate into the notes' plain table without secondary indexes.
 */
import Database from 'better-sqlite3';
import type { NewEvent } from '../../shared/src/lib/event-envelope.js';
import { SqliteEventStore } from '../../shared/src/infra/event-store/sqlite-event-store.js';
import type { BenchOptions, BenchRow, BenchSection } from '../eventlog.bench.js';

const STREAMS = 1000;

/** A ~200-byte event like eventlog-notes §6 (ids sequential, as uuid v7 would be). */
export const benchEvent = (run: string, i: number): NewEvent => ({
  id: `${run}-${i.toString(36).padStart(8, '0')}`,
  type: 'TaskStateChanged',
  schemaVersion: 1,
  data: {
    nodeId: `node-${i % 64}`,
    taskId: `task-${i}`,
    kind: 'attach',
    from: 'pending',
    to: 'running',
    attempt: 1,
    exitCode: 0,
    note: 'multi-link attached to all 12 targets ok',
    seqHint: i,
  },
  metadata: { occurredAt: '2026-11-25T10:00:00.000Z', actor: `agent:node-${i % 64}` },
});

const rate = (events: number, startNs: bigint): number =>
  Math.round(events / (Number(process.hrtime.bigint() - startNs) / 1e9));

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const openRaw = (path: string): Database.Database => {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
};

const SAME_SCHEMA_INSERT =
  'INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

/**
 * Raw better-sqlite3 into the store's own schema: cached 1-row INSERT, `perTx` rows per
 * transaction, the same rows (streams and versions) as the store run.
 */
const rawInserts = async (
  path: string,
  events: number,
  perTx: number,
  run: string,
): Promise<number> => {
  await (await SqliteEventStore.open({ path, pollIntervalMs: 0 })).close(); // same migrations
  const db = openRaw(path);
  const insert = db.prepare(SAME_SCHEMA_INSERT);
  const recordedAt = new Date().toISOString();
  const versions = new Array<number>(STREAMS).fill(0);
  const tx = db.transaction((from: number, to: number) => {
    const stream = ((from / perTx) % STREAMS) | 0;
    for (let i = from; i < to; i++) {
      const e = benchEvent(run, i);
      insert.run(
        e.id,
        `s-${stream}`,
        ++versions[stream]!,
        e.type,
        e.schemaVersion,
        JSON.stringify(e.data),
        JSON.stringify(e.metadata),
        recordedAt,
      );
    }
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < events; i += perTx) tx(i, Math.min(events, i + perTx));
  const value = rate(events, start);
  db.close();
  return value;
};

/** For scale only: the eventlog-notes §6.1 plain table (no secondary index), 1000 rows/tx. */
const rawPlainInserts = (path: string, events: number): number => {
  const db = openRaw(path);
  db.exec(
    'CREATE TABLE events (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, ts TEXT NOT NULL)',
  );
  const insert = db.prepare('INSERT INTO events (stream, type, data, ts) VALUES (?, ?, ?, ?)');
  const ts = new Date().toISOString();
  const tx = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const e = benchEvent('plain', i);
      insert.run(`s-${((from / 1000) % STREAMS) | 0}`, e.type, JSON.stringify(e.data), ts);
    }
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < events; i += 1000) tx(i, Math.min(events, i + 1000));
  const value = rate(events, start);
  db.close();
  return value;
};

/** The store: `append(stream, expectedVersion, batch)` with `batch` events per call. */
const storeAppends = async (
  path: string,
  events: number,
  batch: number,
  run: string,
): Promise<number> => {
  const store = await SqliteEventStore.open({ path, pollIntervalMs: 0 });
  const versions = new Array<number>(STREAMS).fill(0);
  const start = process.hrtime.bigint();
  for (let i = 0; i < events; i += batch) {
    const stream = ((i / batch) % STREAMS) | 0;
    const list: NewEvent[] = [];
    for (let j = i; j < Math.min(events, i + batch); j++) list.push(benchEvent(run, j));
    const result = await store.append(`s-${stream}`, versions[stream]!, list);
    versions[stream] = result.streamVersion;
  }
  const value = rate(events, start);
  const error = await store.close();
  if (error !== undefined) throw error;
  return value;
};

/** 1-event appends issued `concurrency` at a time (one tick): the store's group commit. */
const storeConcurrentAppends = async (
  path: string,
  events: number,
  concurrency: number,
  run: string,
): Promise<number> => {
  const store = await SqliteEventStore.open({ path, pollIntervalMs: 0 });
  const versions = new Array<number>(STREAMS).fill(0);
  const start = process.hrtime.bigint();
  for (let i = 0; i < events; i += concurrency) {
    const calls: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(events, i + concurrency); j++) {
      const stream = j % STREAMS;
      calls.push(store.append(`s-${stream}`, versions[stream]!++, [benchEvent(run, j)]));
    }
    await Promise.all(calls);
  }
  const value = rate(events, start);
  const error = await store.close();
  if (error !== undefined) throw error;
  return value;
};

/** Alternates raw and store runs (raw, store, raw, store...) and takes the median of each. */
const pair = async (
  dir: string,
  events: number,
  batch: number,
  repeats: number,
): Promise<{ raw: number; store: number }> => {
  const raws: number[] = [];
  const stores: number[] = [];
  for (let r = 0; r < repeats; r++) {
    raws.push(
      await rawInserts(`${dir}/raw-${batch}-${r}.sqlite`, events, batch, `raw${batch}r${r}`),
    );
    stores.push(
      await storeAppends(`${dir}/store-${batch}-${r}.sqlite`, events, batch, `st${batch}r${r}`),
    );
  }
  return { raw: median(raws), store: median(stores) };
};

export const run = async ({ events, dir }: BenchOptions): Promise<BenchSection> => {
  const small = Math.max(1000, Math.floor(events / 10));
  const b1000 = await pair(dir, events, 1000, 3);
  const b100 = await pair(dir, events, 100, 1);
  const b10 = await pair(dir, small, 10, 1);
  const b1 = await pair(dir, small, 1, 1);
  const concurrent = {
    raw: await rawInserts(`${dir}/raw-c100.sqlite`, small, 100, 'rawc100'),
    store: await storeConcurrentAppends(`${dir}/store-c100.sqlite`, small, 100, 'stc100'),
  };
  const plain = rawPlainInserts(`${dir}/plain.sqlite`, events);

  const row = (name: string, { raw, store }: { raw: number; store: number }): BenchRow => ({
    name,
    value: store,
    unit: 'events/s',
    baseline: raw,
    ratio: store / raw,
  });
  const appendRatio = b1000.store / b1000.raw;
  return {
    rows: [
      row(`sqlite append 1000 ev/append vs raw 1000 rows/tx (${events}, median of 3)`, b1000),
      row(`sqlite append 100 ev/append vs raw 100 rows/tx (${events})`, b100),
      row(`sqlite append 10 ev/append vs raw 10 rows/tx (${small})`, b10),
      row(`sqlite append 1 ev/append vs raw 1 row/tx (${small})`, b1),
      row(
        `sqlite append 1 ev/append, 100 in one tick (group commit) vs raw 100 rows/tx (${small})`,
        concurrent,
      ),
      {
        name: `sqlite raw plain table, no index, 1000 rows/tx (${events})`,
        value: plain,
        unit: 'events/s',
      },
      { name: 'appendRatio (target >= 0.5)', value: appendRatio, unit: 'ratio' },
    ],
    json: {
      appendRatio,
      appendEventsPerSec: b1000.store,
      appendRawEventsPerSec: b1000.raw,
      append100Ratio: b100.store / b100.raw,
      append10Ratio: b10.store / b10.raw,
      append1Ratio: b1.store / b1.raw,
      append1EventsPerSec: b1.store,
      appendGroupCommit100Ratio: concurrent.store / concurrent.raw,
      appendGroupCommit100EventsPerSec: concurrent.store,
      appendRawPlainEventsPerSec: plain,
    },
  };
};
