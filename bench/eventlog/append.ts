/**
 * SQLite append rate: the SqliteEventStore against raw better-sqlite3 prepared inserts measured
 * in the same run (eventlog-notes §6.1 method: WAL, synchronous=NORMAL, cached 1-row INSERT,
 * 1000 rows per transaction, JSON.stringify on the write path, ~200-byte event).
 *
 * - baseline `raw`: the identical events table (migrated by the same migrations, so the same
 *   UNIQUE(event_id) and UNIQUE(stream_id, stream_position) indexes), the same rows;
 * - `appendRatio` = adapter appends of 1000 events / raw (same rows per transaction);
 * - extra rows: appends of 100, 10 and 1 events (1 event = 1 transaction = 1 WAL commit; run on
 *   events/10), and the raw rate into a plain table without secondary indexes, for scale.
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

/** Raw better-sqlite3: cached 1-row INSERT, 1000 rows per transaction. */
const rawInserts = (
  db: Database.Database,
  insertSql: string,
  events: number,
  run: string,
  withVersion: boolean,
): number => {
  const insert = db.prepare(insertSql);
  const recordedAt = new Date().toISOString();
  const versions = new Array<number>(STREAMS).fill(0);
  const tx = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const e = benchEvent(run, i);
      const stream = ((i / 1000) % STREAMS) | 0;
      const data = JSON.stringify(e.data);
      const metadata = JSON.stringify(e.metadata);
      if (withVersion) {
        insert.run(
          e.id,
          `s-${stream}`,
          ++versions[stream]!,
          e.type,
          e.schemaVersion,
          data,
          metadata,
          recordedAt,
        );
      } else insert.run(`s-${stream}`, e.type, data, recordedAt);
    }
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < events; i += 1000) tx(i, Math.min(events, i + 1000));
  return rate(events, start);
};

const openRaw = (path: string): Database.Database => {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
};

const adapterAppends = async (
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

export const run = async ({ events, dir }: BenchOptions): Promise<BenchSection> => {
  // baseline: same schema, raw prepared statement (the store's migrations create the tables)
  const rawPath = `${dir}/append-raw.sqlite`;
  await (await SqliteEventStore.open({ path: rawPath, pollIntervalMs: 0 })).close();
  const raw = openRaw(rawPath);
  const rawRate = rawInserts(
    raw,
    'INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    events,
    'raw',
    true,
  );
  raw.close();

  const plain = openRaw(`${dir}/append-plain.sqlite`);
  plain.exec(
    'CREATE TABLE events (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, ts TEXT NOT NULL)',
  );
  const plainRate = rawInserts(
    plain,
    'INSERT INTO events (stream, type, data, ts) VALUES (?, ?, ?, ?)',
    events,
    'plain',
    false,
  );
  plain.close();

  const a1000 = await adapterAppends(`${dir}/append-1000.sqlite`, events, 1000, 'a1000');
  const a100 = await adapterAppends(`${dir}/append-100.sqlite`, events, 100, 'a100');
  const small = Math.max(1000, Math.floor(events / 10));
  const a10 = await adapterAppends(`${dir}/append-10.sqlite`, small, 10, 'a10');
  const a1 = await adapterAppends(`${dir}/append-1.sqlite`, small, 1, 'a1');

  const row = (name: string, value: number, baseline?: number): BenchRow =>
    baseline === undefined
      ? { name, value, unit: 'events/s' }
      : { name, value, unit: 'events/s', baseline, ratio: value / baseline };
  const appendRatio = a1000 / rawRate;
  return {
    rows: [
      row(`sqlite raw prepared insert, same schema, 1000/tx (${events})`, rawRate),
      row(`sqlite raw prepared insert, plain table, 1000/tx (${events})`, plainRate),
      row(`SqliteEventStore.append, 1000 events/append (${events})`, a1000, rawRate),
      row(`SqliteEventStore.append, 100 events/append (${events})`, a100, rawRate),
      row(`SqliteEventStore.append, 10 events/append (${small})`, a10, rawRate),
      row(`SqliteEventStore.append, 1 event/append (${small})`, a1, rawRate),
      {
        name: 'appendRatio (1000/append vs raw same schema, target >= 0.5)',
        value: appendRatio,
        unit: 'ratio',
      },
      { name: 'append 1000/append vs raw plain table', value: a1000 / plainRate, unit: 'ratio' },
    ],
    json: {
      appendRatio,
      appendEventsPerSec: a1000,
      appendRawEventsPerSec: rawRate,
      appendRawPlainEventsPerSec: plainRate,
      append100EventsPerSec: a100,
      append10EventsPerSec: a10,
      append1EventsPerSec: a1,
      appendRatioVsPlainTable: a1000 / plainRate,
    },
  };
};
