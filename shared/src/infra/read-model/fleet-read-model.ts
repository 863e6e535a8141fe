import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { FleetRecordedEvent } from '../../domain/fleet.events.js';
import { decodeFleetEvent, isFleetEventType, EventDecodeError } from '../../contracts/index.js';
import type { Cell, Row, RowChange } from '../../projections/fleet-read-model.projection.js';
import type { FleetState, TimeTarget } from '../../projections/index.js';
import { SNAPSHOT_VERSION, restoreSnapshot, takeSnapshot } from '../../projections/index.js';
import { READ_MODEL_TABLES, toRowChanges } from '../../projections/fleet-read-model.projection.js';
import type { EventStore } from '../event-store/event-store.port.js';
import { AppError } from '../errors.js';
import { migrateFolder } from '../sqlite/migrate-folder.js';
import { openDatabase } from '../sqlite/open-database.js';
import type { OpenDatabaseOptions } from '../sqlite/open-database.js';
import type { ReadModelDb } from './read-model.tables.js';

/** migrations/read-model at the repository root (same depth from src/ and dist/). */
export const READ_MODEL_MIGRATIONS_FOLDER = fileURLToPath(
  new URL('../../../../migrations/read-model', import.meta.url),
);
export const READ_MODEL_MIGRATION_TABLE = 'migrations_read_model';
/** Indexes the apply path itself reads (release of a link's open rows); never deferred. */
const APPLY_INDEXES = new Set(['rm_links_v1_open', 'rm_connections_v1_open']);
const DEFERRED_INDEXES = 'rm_deferred_indexes_v1';

/** Name of this projection's row in rm_checkpoints_v1. */
export const FLEET_READ_MODEL_CHECKPOINT = 'fleet-read-model-v1';

export interface FleetReadModelOptions extends OpenDatabaseOptions {
  /** SQLite file of the read model; may be the event log's own file (other tables) */
  readonly path: string;
  readonly migrationsFolder?: string;
}

export interface CatchUpOptions {
  /** events per transaction (default 1000) */
  readonly batchSize?: number;
  /** stop after this global position (default: the head at the time of the call and beyond) */
  readonly until?: number;
}

export interface CatchUpResult {
  /** fleet events applied by this call */
  readonly applied: number;
  /** events of other types passed over (the log is shared with other event families) */
  readonly skipped: number;
  /** the checkpoint after the call */
  readonly position: number;
}

/** A row change the read model could not apply: a bug in the mapper or a schema mismatch. */
export class ReadModelApplyError extends AppError {
  override readonly name = 'ReadModelApplyError';
  readonly position: number;
  constructor(position: number, change: RowChange, cause: unknown) {
    super(
      `read model: cannot apply ${change.op} on ${change.table} for the event at position ${position}: ${
        (cause as Error).message
      }`,
      { code: 'ReadModelApplyFailed', retryable: false, cause },
    );
    this.position = position;
  }
}

type AnyDb = Record<string, Record<string, Cell>>;
interface Prepared {
  readonly statement: Database.Statement<[Cell[]]>;
  /**
   * The parameters of `change` in the order of the statement's SQL, written into one array
   * per statement: better-sqlite3 binds them during `run` and keeps nothing.
   */
  readonly params: (change: RowChange) => Cell[];
}

/**
 * One node of the statement cache, a trie over the column names of a change (in order, with
 * `IS NULL` conditions apart): finding the statement of a change walks its keys, where a
 * string key per change would be built and hashed for each of the millions of a rebuild.
 */
interface ShapeNode {
  prepared: Prepared | undefined;
  readonly next: Map<string, ShapeNode>;
  readonly nextIsNull: Map<string, ShapeNode>;
}
const shapeNode = (): ShapeNode => ({
  prepared: undefined,
  next: new Map(),
  nextIsNull: new Map(),
});
/** Between the two column lists of an upsert (key, values) or an update (set, where). */
const SEPARATOR = '';

const child = (node: ShapeNode, key: string, isNull: boolean): ShapeNode => {
  const map = isNull ? node.nextIsNull : node.next;
  let found = map.get(key);
  if (found === undefined) {
    found = shapeNode();
    map.set(key, found);
  }
  return found;
};
const walk = (node: ShapeNode, row: Row, nullMatters: boolean): ShapeNode => {
  let at = node;
  for (const key in row) at = child(at, key, nullMatters && row[key] === null);
  return at;
};

/** Writes the values of `row` into `into` from `at` (all, or only the non-null ones); the next index. */
const fill = (into: Cell[], at: number, row: Row, skipNull: boolean): number => {
  let i = at;
  for (const key in row) {
    const value = row[key] as Cell;
    if (!skipNull || value !== null) into[i++] = value;
  }
  return i;
};

/**
 * The fleet read model in SQLite: applies `toRowChanges` of each event and moves its checkpoint
 * in the same transaction, so that after any crash the tables match exactly the events up to
 * the checkpoint (eventlog-notes §3.2). Catch-up replays from the checkpoint; rebuild empties
 * the tables and the checkpoint in one transaction, then replays from position 0.
 *
 * SQL is generated by kysely (one compile per statement shape) and run through cached
 * better-sqlite3 statements: kysely re-prepares on every execution (eventlog-notes §4.1).
 */
export class FleetReadModel {
  readonly #sqlite: Database.Database;
  readonly #db: Kysely<ReadModelDb>;
  readonly #shapes = new Map<string, ShapeNode>();
  readonly #readCheckpoint: Database.Statement<[string], { position: number }>;
  readonly #writeCheckpoint: Database.Statement<[string, number]>;
  readonly #applyTx: Database.Transaction<
    (events: readonly FleetRecordedEvent[], upTo: number) => number
  >;
  readonly #resetTx: () => void;
  readonly #deferIndexesTx: () => void;
  readonly #restoreIndexesTx: () => void;

  private constructor(opened: { sqlite: Database.Database; db: Kysely<ReadModelDb> }) {
    this.#sqlite = opened.sqlite;
    // 64 MiB of page cache (default 2 MiB): catch-up touches every index of 10^6-row tables
    this.#sqlite.pragma('cache_size = -65536');
    this.#db = opened.db;
    const cp = READ_MODEL_TABLES.checkpoints;
    this.#readCheckpoint = this.#sqlite.prepare(`SELECT position FROM ${cp} WHERE name = ?`);
    this.#writeCheckpoint = this.#sqlite.prepare(
      `INSERT INTO ${cp} (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
    );
    // The checkpoint is read inside the (IMMEDIATE) transaction: two processes catching up the
    // same file at once apply each event once, the later one skipping what the first wrote.
    this.#applyTx = this.#sqlite.transaction(
      (events: readonly FleetRecordedEvent[], upTo: number): number => {
        const from = this.position();
        let last = Math.max(from, upTo);
        for (const event of events) {
          if (event.globalPosition <= from) continue;
          for (const change of toRowChanges(event)) this.#run(event.globalPosition, change);
          if (event.globalPosition > last) last = event.globalPosition;
        }
        if (last > from) this.#writeCheckpoint.run(FLEET_READ_MODEL_CHECKPOINT, last);
        return last;
      },
    );
    this.#resetTx = this.#sqlite.transaction(() => {
      for (const table of Object.values(READ_MODEL_TABLES)) {
        if (table !== READ_MODEL_TABLES.checkpoints)
          this.#sqlite.prepare(`DELETE FROM ${table}`).run();
      }
      this.#writeCheckpoint.run(FLEET_READ_MODEL_CHECKPOINT, 0);
    });
    this.#deferIndexesTx = this.#sqlite.transaction(() => {
      const indexes = this.#sqlite
        .prepare<[], { name: string; sql: string }>(
          `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${Object.values(
            READ_MODEL_TABLES,
          )
            .map((t) => `'${t}'`)
            .join(', ')})`,
        )
        .all()
        .filter((i) => !APPLY_INDEXES.has(i.name));
      const save = this.#sqlite.prepare(
        `INSERT INTO ${DEFERRED_INDEXES} (name, sql) VALUES (?, ?)`,
      );
      for (const index of indexes) {
        save.run(index.name, index.sql);
        this.#sqlite.prepare(`DROP INDEX ${index.name}`).run();
      }
    });
    this.#restoreIndexesTx = this.#sqlite.transaction(() => {
      const waiting = this.#sqlite
        .prepare<[], { sql: string }>(`SELECT sql FROM ${DEFERRED_INDEXES} ORDER BY name`)
        .all();
      for (const index of waiting) this.#sqlite.prepare(index.sql).run();
      this.#sqlite.prepare(`DELETE FROM ${DEFERRED_INDEXES}`).run();
    });
    // a rebuild that crashed left its deferred indexes here
    this.#restoreIndexesTx();
  }

  /** Opens (creating if needed) the read model and applies its migrations. Rejects with `MigrationFailedError`. */
  static async open(options: FleetReadModelOptions): Promise<FleetReadModel> {
    const opened = openDatabase<ReadModelDb>(options.path, options);
    const { error } = await migrateFolder(
      opened.db as Kysely<unknown>,
      options.migrationsFolder ?? READ_MODEL_MIGRATIONS_FOLDER,
      READ_MODEL_MIGRATION_TABLE,
    );
    if (error !== undefined) {
      await opened.db.destroy();
      throw error;
    }
    return new FleetReadModel(opened);
  }

  /** kysely over the read model, for queries (audit). */
  get db(): Kysely<ReadModelDb> {
    return this.#db;
  }

  /** Global position of the last event applied (0: none). */
  position(): number {
    return this.#readCheckpoint.get(FLEET_READ_MODEL_CHECKPOINT)?.position ?? 0;
  }

  /**
   * Applies decoded events in one transaction, with the checkpoint. Events at or before the
   * checkpoint are skipped (at-least-once delivery becomes exactly-once in effect). `upTo`
   * moves the checkpoint past events of other families that preceded or followed these.
   */
  apply(events: readonly FleetRecordedEvent[], upTo?: number): number {
    return this.#applyTx.immediate(events, upTo ?? 0);
  }

  /**
   * Reads the log after the checkpoint and applies it in batches (one transaction each).
   * Rejects with `EventDecodeError` naming the first malformed fleet event; the batches before
   * it stay applied, so the checkpoint points just before it.
   */
  async catchUp(store: EventStore, options: CatchUpOptions = {}): Promise<CatchUpResult> {
    const batchSize = options.batchSize ?? 1000;
    let applied = 0;
    let skipped = 0;
    let batch: FleetRecordedEvent[] = [];
    let seen = this.position();
    const flush = (): void => {
      this.apply(batch, seen);
      applied += batch.length;
      batch = [];
    };
    for await (const recorded of store.readAll({ after: seen })) {
      if (options.until !== undefined && recorded.globalPosition > options.until) break;
      if (!isFleetEventType(recorded.type)) {
        skipped += 1;
        seen = recorded.globalPosition;
        continue;
      }
      const decoded = decodeFleetEvent(recorded);
      if (!decoded.ok) {
        flush();
        throw new EventDecodeError(decoded.error);
      }
      batch.push(decoded.value);
      seen = recorded.globalPosition;
      if (batch.length >= batchSize) flush();
    }
    flush();
    return { applied, skipped, position: this.position() };
  }

  /**
   * Empties every table and the checkpoint (one transaction), then catches up from position 0.
   * The audit-only indexes are dropped during the replay and created once at the end (faster
   * than maintaining them row by row); queries meanwhile are correct, only slower.
   */
  async rebuild(store: EventStore, options: CatchUpOptions = {}): Promise<CatchUpResult> {
    this.#deferIndexesTx();
    this.#resetTx();
    try {
      return await this.catchUp(store, { batchSize: 10_000, ...options });
    } finally {
      this.#restoreIndexesTx();
    }
  }

  /**
   * The latest cached snapshot at or before `target` (by position, or by recordedAt for an
   * instant), or undefined. Snapshots of another SNAPSHOT_VERSION are passed over.
   */
  nearestSnapshot(target: TimeTarget): FleetState | undefined {
    const rows =
      'position' in target
        ? this.#sqlite
            .prepare<[number, number], { snapshot: string }>(
              'SELECT snapshot FROM rm_snapshots_v1 WHERE position <= ? AND version = ? ORDER BY position DESC LIMIT 1',
            )
            .all(target.position, SNAPSHOT_VERSION)
        : this.#sqlite
            .prepare<[number, number], { snapshot: string }>(
              'SELECT snapshot FROM rm_snapshots_v1 WHERE recorded_ms <= ? AND version = ? ORDER BY position DESC LIMIT 1',
            )
            .all(Date.parse(target.at), SNAPSHOT_VERSION);
    const restored = rows[0] === undefined ? undefined : restoreSnapshot(rows[0].snapshot);
    return restored?.ok ? restored.value : undefined;
  }

  /** Caches a snapshot of `state` (a no-op when one exists at that position). */
  saveSnapshot(state: FleetState): void {
    if (state.position === 0 || state.recordedAt === null) return;
    this.#sqlite
      .prepare(
        'INSERT INTO rm_snapshots_v1 (position, recorded_ms, version, snapshot) VALUES (?, ?, ?, ?) ON CONFLICT (position) DO NOTHING',
      )
      .run(state.position, Date.parse(state.recordedAt), SNAPSHOT_VERSION, takeSnapshot(state));
  }

  /** Names of the indexes of the read model tables (for checks). */
  indexNames(): readonly string[] {
    return this.#sqlite
      .prepare<[], { name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND name LIKE 'rm\\_%' ESCAPE '\\' ORDER BY name`,
      )
      .all()
      .map((r) => r.name);
  }

  /** Closes the connection; resolves with the error met while closing, never rejects. */
  async close(): Promise<Error | undefined> {
    try {
      await this.#db.destroy();
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  #run(position: number, change: RowChange): void {
    const node = this.#shapeOf(change);
    let prepared = node.prepared;
    if (prepared === undefined) {
      prepared = this.#prepare(change);
      node.prepared = prepared;
    }
    try {
      prepared.statement.run(prepared.params(change));
    } catch (error) {
      throw new ReadModelApplyError(position, change, error);
    }
  }

  /** The cache node of the statement shape of `change` (op, table, columns, IS NULL conditions). */
  #shapeOf(change: RowChange): ShapeNode {
    const byTable = `${change.op}:${change.table}`;
    let root = this.#shapes.get(byTable);
    if (root === undefined) {
      root = shapeNode();
      this.#shapes.set(byTable, root);
    }
    switch (change.op) {
      case 'insert':
        return walk(root, change.values, false);
      case 'upsert':
        return walk(child(walk(root, change.key, false), SEPARATOR, false), change.values, false);
      case 'update':
        return walk(child(walk(root, change.set, false), SEPARATOR, false), change.where, true);
      case 'delete':
        return walk(root, change.where, true);
    }
  }

  #prepare(change: RowChange): Prepared {
    const db = this.#db as unknown as Kysely<AnyDb>;
    const whereAll = <Q extends { where: (c: string, op: 'is' | '=', v: Cell) => Q }>(
      query: Q,
      where: Row,
    ): Q =>
      Object.entries(where).reduce<Q>(
        (q, [column, value]) =>
          value === null ? q.where(column, 'is', null) : q.where(column, '=', value),
        query,
      );
    let compiled: { sql: string; parameters: readonly unknown[] };
    let params: (c: RowChange) => Cell[];
    switch (change.op) {
      case 'insert': {
        compiled = db.insertInto(change.table).values(change.values).compile();
        const args: Cell[] = [];
        params = (c) => {
          fill(args, 0, (c as typeof change).values, false);
          return args;
        };
        break;
      }
      case 'upsert': {
        const keys = Object.keys(change.key);
        compiled = db
          .insertInto(change.table)
          .values({ ...change.key, ...change.values })
          .onConflict((oc) => oc.columns(keys).doUpdateSet(change.values))
          .compile();
        const args: Cell[] = [];
        params = (c) => {
          const u = c as typeof change;
          fill(args, fill(args, fill(args, 0, u.key, false), u.values, false), u.values, false);
          return args;
        };
        break;
      }
      case 'update': {
        compiled = whereAll(db.updateTable(change.table).set(change.set), change.where).compile();
        const args: Cell[] = [];
        params = (c) => {
          const u = c as typeof change;
          fill(args, fill(args, 0, u.set, false), u.where, true);
          return args;
        };
        break;
      }
      case 'delete': {
        compiled = whereAll(db.deleteFrom(change.table), change.where).compile();
        const args: Cell[] = [];
        params = (c) => {
          fill(args, 0, (c as typeof change).where, true);
          return args;
        };
        break;
      }
    }
    // Guard the hand-written parameter order against the SQL kysely generated, once per shape.
    const mine = params(change);
    if (JSON.stringify(mine) !== JSON.stringify(compiled.parameters)) {
      throw new Error(
        `read model: parameter order differs from kysely's for ${describeShape(change)}`,
      );
    }
    return { statement: this.#sqlite.prepare<[Cell[]]>(compiled.sql), params };
  }
}

/** The statement shape of a change, for messages. */
const describeShape = (change: RowChange): string => {
  switch (change.op) {
    case 'insert':
      return `insert ${change.table} ${Object.keys(change.values).join(',')}`;
    case 'upsert':
      return `upsert ${change.table} ${Object.keys(change.key).join(',')} ${Object.keys(change.values).join(',')}`;
    case 'update':
      return `update ${change.table} ${Object.keys(change.set).join(',')} ${whereShape(change.where)}`;
    case 'delete':
      return `delete ${change.table} ${whereShape(change.where)}`;
  }
};

const whereShape = (where: Row): string =>
  Object.entries(where)
    .map(([k, v]) => (v === null ? `${k}:null` : k))
    .join(',');
