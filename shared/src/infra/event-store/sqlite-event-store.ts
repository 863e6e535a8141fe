/**
 * The SQLite adapter of the `EventStore` port (WAL, raw prepared statements on the hot path).
 * Kept in one file over ~400 lines: the append transaction, the batching queue, the paged reader
 * and the live subscription share the prepared statements and the writer's lock, and splitting
 * them would expose those internals between modules.
 */
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { Observable } from 'rxjs';
import type { EventMetadata, NewEvent, RecordedEvent } from '../../lib/event-envelope.js';
import { err, ok } from '../../lib/result.js';
import type { Result } from '../../lib/result.js';
import {
  CorruptEventError,
  EventIdConflictError,
  EventStoreClosedError,
  ExpectedVersionConflictError,
} from '../errors.js';
import { migrateFolder } from '../sqlite/migrate-folder.js';
import { openDatabase } from '../sqlite/open-database.js';
import type { OpenDatabaseOptions } from '../sqlite/open-database.js';
import { contentConflictDetail, contentDifference } from './event-content.js';
import type {
  AppendResult,
  EventStore,
  ExpectedVersion,
  ReadAllOptions,
  ReadStreamOptions,
} from './event-store.port.js';
import { subscriptionMayStart, validateAppend, validateReadOption } from './validate-append.js';

/** migrations/event-store at the repository root (same depth from src/ and dist/). */
export const EVENT_STORE_MIGRATIONS_FOLDER = fileURLToPath(
  new URL('../../../../migrations/event-store', import.meta.url),
);
export const EVENT_STORE_MIGRATION_TABLE = 'migrations_event_store';

export interface EventStoreTables {
  events: {
    global_position: number;
    event_id: string;
    stream_id: string;
    stream_position: number;
    type: string;
    schema_version: number;
    data: string;
    metadata: string;
    recorded_at: string;
  };
  streams: { stream_id: string; stream_position: number };
  checkpoints: { processor_id: string; position: number };
}

export interface SqliteEventStoreOptions extends OpenDatabaseOptions {
  /** path of the SQLite file (created if missing) */
  readonly path: string;
  /** folder of the event-store SQL migrations (default EVENT_STORE_MIGRATIONS_FOLDER) */
  readonly migrationsFolder?: string;
  /** wall clock for `recordedAt` (ISO 8601); injected so tests can fix it */
  readonly now?: () => string;
  /**
   * How often live subscriptions look for events written by OTHER connections to the same file,
   * in ms (default 500; 0 disables). Appends through this store wake subscribers at once.
   */
  readonly pollIntervalMs?: number;
  /** rows per page for readAll and subscription catch-up (default 1000) */
  readonly pageSize?: number;
}

type EventRow = EventStoreTables['events'];
/** What an append's id check reads of a stored event with the same id. */
type StoredIdRow = Pick<
  EventRow,
  'global_position' | 'stream_id' | 'stream_position' | 'type' | 'schema_version' | 'data'
>;
/** An events row as `READ_COLUMNS` lists it, from a `.raw(true)` statement. */
type RawEventRow = [
  globalPosition: number,
  eventId: string,
  streamId: string,
  streamPosition: number,
  type: string,
  schemaVersion: number,
  data: string,
  metadata: string,
  recordedAt: string,
];
const READ_COLUMNS =
  'global_position, event_id, stream_id, stream_position, type, schema_version, data, metadata, recorded_at';
interface PendingAppend {
  readonly streamId: string;
  readonly expected: number | undefined;
  readonly events: readonly NewEvent[];
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}
type Wake = { readonly wake: () => void; readonly complete: () => void };

/** Rows per multi-VALUES insert statement on the append path (eventlog-notes §4.4). */
const INSERT_CHUNK = 64;
const EVENT_COLUMNS =
  'event_id, stream_id, stream_position, type, schema_version, data, metadata, recorded_at';

/**
 * The embedded event log: SQLite through better-sqlite3 (WAL, synchronous=NORMAL, see
 * `openDatabase` for the durability trade-off), schema applied by kysely's Migrator.
 *
 * Hot paths (append, readAll pages, subscription catch-up) use cached raw prepared statements:
 * kysely re-prepares every statement, which costs 30% to 5x on inserts (eventlog-notes §4.1, §6.1).
 * kysely is used for migrations and the cold reads (readStream, headPosition).
 *
 * Semantics shared with every adapter (test/integration/event-store/event-store.contract.ts):
 * - an append is one transaction: all its events or none;
 * - an append whose event ids are ALL already in the log, each with the same type,
 *   schemaVersion and data (canonical JSON; metadata is not compared), writes nothing and
 *   resolves with the original result (`appended: 0`, the version and position of the last of
 *   those events), whatever `expected` says: that is how a retry after a lost answer looks;
 *   if any of them differs, it is refused with `EventIdConflictError` naming what differs;
 * - an append that MIXES known and new ids, or reuses an id of another stream, is refused with
 *   `EventIdConflictError` and writes nothing;
 * - otherwise a stale `expected` is refused with `ExpectedVersionConflictError`.
 */
export class SqliteEventStore implements EventStore {
  readonly #sqlite: Database.Database;
  readonly #db: Kysely<EventStoreTables>;
  readonly #now: () => string;
  readonly #pollIntervalMs: number;
  readonly #pageSize: number;
  readonly #subscribers = new Set<Wake>();
  #closed = false;

  readonly #selectStreamPosition: Database.Statement<[string], { stream_position: number }>;
  readonly #insertStream: Database.Statement<[string, number]>;
  readonly #updateStream: Database.Statement<[number, string]>;
  readonly #insertOne: Database.Statement<unknown[]>;
  readonly #insertChunk: Database.Statement<unknown[]>;
  readonly #selectById: Database.Statement<[string], StoredIdRow>;
  readonly #selectPage: Database.Statement<[number, number], EventRow>;
  /** readAll pages as raw rows (arrays in READ_COLUMNS order): no per-row object to build */
  readonly #selectPageRaw: Database.Statement<[number, number], RawEventRow>;
  #pending: PendingAppend[] = [];
  readonly #groupTx: Database.Transaction<
    (batch: readonly PendingAppend[]) => Result<AppendResult, unknown>[]
  >;
  readonly #appendTx: Database.Transaction<
    (streamId: string, expected: number | undefined, events: readonly NewEvent[]) => AppendResult
  >;

  private constructor(
    opened: { sqlite: Database.Database; db: Kysely<EventStoreTables> },
    options: SqliteEventStoreOptions,
  ) {
    this.#sqlite = opened.sqlite;
    this.#db = opened.db;
    this.#now = options.now ?? (() => new Date().toISOString());
    this.#pollIntervalMs = options.pollIntervalMs ?? 500;
    this.#pageSize = options.pageSize ?? 1000;
    const s = this.#sqlite;
    this.#selectStreamPosition = s.prepare(
      'SELECT stream_position FROM streams WHERE stream_id = ?',
    );
    this.#insertStream = s.prepare(
      'INSERT INTO streams (stream_id, stream_position) VALUES (?, ?)',
    );
    this.#updateStream = s.prepare('UPDATE streams SET stream_position = ? WHERE stream_id = ?');
    const row = '(?, ?, ?, ?, ?, ?, ?, ?)';
    this.#insertOne = s.prepare(`INSERT INTO events (${EVENT_COLUMNS}) VALUES ${row}`);
    this.#insertChunk = s.prepare(
      `INSERT INTO events (${EVENT_COLUMNS}) VALUES ${Array(INSERT_CHUNK).fill(row).join(', ')}`,
    );
    this.#selectById = s.prepare(
      'SELECT global_position, stream_id, stream_position, type, schema_version, data FROM events WHERE event_id = ?',
    );
    this.#selectPage = s.prepare(
      'SELECT * FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?',
    );
    this.#selectPageRaw = (
      s.prepare(
        `SELECT ${READ_COLUMNS} FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?`,
      ) as unknown as Database.Statement<[number, number], RawEventRow>
    ).raw(true);
    this.#appendTx = s.transaction((streamId, expected, events) =>
      this.#appendInTransaction(streamId, expected, events),
    );
    // inside #groupTx, each #appendTx call is a SAVEPOINT (better-sqlite3 nests transactions)
    this.#groupTx = s.transaction((batch: readonly PendingAppend[]) =>
      batch.map((request) => this.#appendOne(request, this.#appendTx)),
    );
  }

  /** the connection's `synchronous` pragma as SQLite reports it (NORMAL or FULL, `openDatabase`) */
  get synchronous(): string {
    const level = this.#sqlite.pragma('synchronous', { simple: true }) as number;
    return ['OFF', 'NORMAL', 'FULL', 'EXTRA'][level] ?? String(level);
  }

  /**
   * Opens the store at `options.path` and applies pending migrations. Rejects with
   * `MigrationFailedError` (naming the migration) if the schema cannot be brought up to date.
   */
  static async open(options: SqliteEventStoreOptions): Promise<SqliteEventStore> {
    const opened = openDatabase<EventStoreTables>(options.path, options);
    const { error } = await migrateFolder(
      opened.db as Kysely<unknown>,
      options.migrationsFolder ?? EVENT_STORE_MIGRATIONS_FOLDER,
      EVENT_STORE_MIGRATION_TABLE,
    );
    if (error !== undefined) {
      await opened.db.destroy();
      throw error;
    }
    return new SqliteEventStore(opened, options);
  }

  append(
    streamId: string,
    expected: ExpectedVersion,
    events: readonly NewEvent[],
  ): Promise<AppendResult> {
    let expectedVersion: number | undefined;
    try {
      expectedVersion = validateAppend(streamId, expected, events);
      this.#assertOpen('append');
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.#pending.push({ streamId, expected: expectedVersion, events, resolve, reject });
      if (this.#pending.length === 1) queueMicrotask(() => this.#flush());
    });
  }

  /**
   * Group commit: every append requested in the same tick is written in ONE transaction
   * (BEGIN IMMEDIATE: the write lock is taken before any version is read, so another process
   * waits for busy_timeout instead of failing on lock upgrade), each append in its own savepoint,
   * so a refused append rolls back alone. A caller awaiting each append gets one transaction per
   * append; concurrent callers share the commit, which is what costs on small appends.
   */
  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (this.#closed) {
      for (const request of batch) request.reject(new EventStoreClosedError('append'));
      return;
    }
    let outcomes: readonly Result<AppendResult, unknown>[];
    try {
      outcomes =
        batch.length === 1
          ? [this.#appendOne(batch[0] as PendingAppend, this.#appendTx.immediate)]
          : this.#groupTx.immediate(batch);
    } catch (error) {
      for (const request of batch) request.reject(error);
      return;
    }
    let wrote = false;
    batch.forEach((request, i) => {
      const outcome = outcomes[i] as Result<AppendResult, unknown>;
      if (outcome.ok) {
        wrote ||= outcome.value.appended > 0;
        request.resolve(outcome.value);
      } else request.reject(outcome.error);
    });
    if (wrote) for (const subscriber of this.#subscribers) subscriber.wake();
  }

  /**
   * Runs one append through `run` (a transaction, or a savepoint inside the group transaction).
   * The fast path does no id lookups; a failure (stale version, UNIQUE(event_id)) is classified
   * afterwards, ids first, so a retry of a stored append is not reported as a conflict
   * (eventlog-notes §3.2).
   */
  #appendOne(
    request: PendingAppend,
    run: (
      streamId: string,
      expected: number | undefined,
      events: readonly NewEvent[],
    ) => AppendResult,
  ): Result<AppendResult, unknown> {
    try {
      return ok(run(request.streamId, request.expected, request.events));
    } catch (error) {
      return this.#classifyFailure(request.streamId, request.events, error);
    }
  }

  async readStream(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<readonly RecordedEvent[]> {
    validateReadOption('fromVersion', options.fromVersion, 1);
    validateReadOption('limit', options.limit, 0);
    this.#assertOpen('readStream');
    let query = this.#db
      .selectFrom('events')
      .selectAll()
      .where('stream_id', '=', streamId)
      .where('stream_position', '>=', options.fromVersion ?? 1)
      .orderBy('stream_position');
    if (options.limit !== undefined) query = query.limit(options.limit);
    const rows = await query.execute();
    return rows.map(decodeRow);
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    // A hand-written iterator over synchronous pages: one already-settled promise per event
    // instead of an async generator's resumption (replay speed, eventlog-notes §4.4). Checks run
    // on the first `next()`, so a bad call rejects like the async methods do.
    return { [Symbol.asyncIterator]: () => this.#pages(options) };
  }

  #pages(options: ReadAllOptions): AsyncIterator<RecordedEvent> {
    let started = false;
    let after = options.after ?? 0;
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    let page: RawEventRow[] = [];
    let index = 0;
    let lastPage = false;
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    const step = (): IteratorResult<RecordedEvent> => {
      if (!started) {
        validateReadOption('after', options.after, 0);
        validateReadOption('limit', options.limit, 0);
        started = true;
      }
      for (;;) {
        if (remaining <= 0) return done;
        if (index >= page.length) {
          if (lastPage) return done;
          this.#assertOpen('readAll');
          page = this.#selectPageRaw.all(after, Math.min(this.#pageSize, remaining));
          index = 0;
          lastPage = page.length < this.#pageSize;
          if (page.length === 0) return done;
        }
        const row = page[index++] as RawEventRow;
        after = row[0];
        remaining--;
        try {
          return { done: false, value: decodeRawRow(row) };
        } catch (error) {
          if (options.onCorrupt === undefined || !(error instanceof CorruptEventError)) throw error;
          options.onCorrupt(error);
        }
      }
    };
    return {
      next: () => {
        try {
          return Promise.resolve(step());
        } catch (error) {
          remaining = 0;
          return Promise.reject(error);
        }
      },
      return: () => {
        remaining = 0;
        return Promise.resolve(done);
      },
    };
  }

  subscribe(after = 0): Observable<RecordedEvent> {
    return new Observable<RecordedEvent>((subscriber) => {
      if (!subscriptionMayStart(subscriber, after, this.#closed)) return undefined;
      let last = after;
      let scheduled = false;
      let stopped = false;
      // Reads everything after `last`, page by page, yielding to the event loop between pages.
      // `last` only moves forward, so the hand-over from catch-up to live has no gap and no
      // duplicate: live events are read from the table, not passed around.
      const pump = (): void => {
        scheduled = false;
        if (stopped || this.#closed) return;
        const rows = this.#selectPage.all(last, this.#pageSize);
        for (const row of rows) {
          let event: RecordedEvent;
          try {
            event = decodeRow(row);
          } catch (error) {
            stopped = true;
            subscriber.error(error);
            return;
          }
          last = row.global_position;
          subscriber.next(event);
          if (stopped) return;
        }
        if (rows.length === this.#pageSize) wake();
      };
      const wake = (): void => {
        if (scheduled || stopped) return;
        scheduled = true;
        setImmediate(pump);
      };
      const entry: Wake = {
        wake,
        complete: () => {
          stopped = true;
          subscriber.complete();
        },
      };
      this.#subscribers.add(entry);
      const timer =
        this.#pollIntervalMs > 0 ? setInterval(wake, this.#pollIntervalMs).unref() : undefined;
      wake();
      return () => {
        stopped = true;
        this.#subscribers.delete(entry);
        if (timer !== undefined) clearInterval(timer);
      };
    });
  }

  async headPosition(): Promise<number> {
    this.#assertOpen('headPosition');
    const row = await this.#db
      .selectFrom('events')
      .select((eb) => eb.fn.max('global_position').as('head'))
      .executeTakeFirst();
    return Number(row?.head ?? 0);
  }

  async close(): Promise<Error | undefined> {
    if (this.#closed) return undefined;
    if (this.#pending.length > 0) this.#flush(); // appends requested before close still commit
    this.#closed = true;
    for (const subscriber of [...this.#subscribers]) subscriber.complete();
    this.#subscribers.clear();
    try {
      await this.#db.destroy();
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new EventStoreClosedError(operation);
  }

  #appendInTransaction(
    streamId: string,
    expected: number | undefined,
    events: readonly NewEvent[],
  ): AppendResult {
    const current = this.#selectStreamPosition.get(streamId)?.stream_position ?? 0;
    if (expected !== undefined && expected !== current) {
      throw new ExpectedVersionConflictError(streamId, expected, current);
    }
    if (events.length === 0) {
      return {
        streamVersion: current,
        lastGlobalPosition: this.#lastPositionOf(streamId, current),
        appended: 0,
      };
    }
    const recordedAt = this.#now();
    let version = current;
    let lastPosition = 0;
    let i = 0;
    for (; i + INSERT_CHUNK <= events.length; i += INSERT_CHUNK) {
      const params: unknown[] = [];
      for (let j = i; j < i + INSERT_CHUNK; j++) {
        pushRow(params, streamId, ++version, events[j] as NewEvent, recordedAt);
      }
      lastPosition = Number(this.#insertChunk.run(params).lastInsertRowid);
    }
    for (; i < events.length; i++) {
      const params: unknown[] = [];
      pushRow(params, streamId, ++version, events[i] as NewEvent, recordedAt);
      lastPosition = Number(this.#insertOne.run(params).lastInsertRowid);
    }
    if (current === 0) this.#insertStream.run(streamId, version);
    else this.#updateStream.run(version, streamId);
    return { streamVersion: version, lastGlobalPosition: lastPosition, appended: events.length };
  }

  #lastPositionOf(streamId: string, version: number): number {
    if (version === 0) return 0;
    const row = this.#sqlite
      .prepare<[string, number], { global_position: number }>(
        'SELECT global_position FROM events WHERE stream_id = ? AND stream_position = ?',
      )
      .get(streamId, version);
    return row?.global_position ?? 0;
  }

  /** Turns a failed fast-path append into the answer the contract promises. */
  #classifyFailure(
    streamId: string,
    events: readonly NewEvent[],
    error: unknown,
  ): Result<AppendResult, unknown> {
    const known = events.flatMap((event) => {
      const row = this.#selectById.get(event.id);
      return row === undefined ? [] : [{ event, id: event.id, row }];
    });
    if (known.length === 0) return err(error);
    const elsewhere = known.filter((k) => k.row?.stream_id !== streamId);
    if (elsewhere.length > 0) {
      return err(
        new EventIdConflictError(
          streamId,
          elsewhere.map((k) => k.id),
          `already belong(s) to stream "${elsewhere[0]?.row.stream_id}"`,
        ),
      );
    }
    if (known.length < events.length) {
      return err(
        new EventIdConflictError(
          streamId,
          known.map((k) => k.id),
          `already in the stream while ${events.length - known.length} other id(s) are new; an append must be all new or an exact retry`,
        ),
      );
    }
    const differing = known.flatMap(({ event, id, row }) => {
      const difference = storedDifference(row, event);
      return difference === undefined ? [] : [[id, difference] as const];
    });
    if (differing.length > 0) {
      return err(
        new EventIdConflictError(
          streamId,
          differing.map(([id]) => id),
          contentConflictDetail(differing),
        ),
      );
    }
    return ok(originalResult(known.map((k) => k.row)));
  }
}

const originalResult = (
  rows: readonly { global_position: number; stream_position: number }[],
): AppendResult => {
  let last = { global_position: 0, stream_position: 0 };
  for (const row of rows) if (row.global_position > last.global_position) last = row;
  return {
    streamVersion: last.stream_position,
    lastGlobalPosition: last.global_position,
    appended: 0,
  };
};

/** How `sent` differs from the stored row of its id (see `contentDifference`), if it does. */
const storedDifference = (row: StoredIdRow, sent: NewEvent): string | undefined => {
  let data: unknown;
  try {
    data = JSON.parse(row.data);
  } catch {
    return 'data differs (the stored data is not valid JSON)';
  }
  return contentDifference({ type: row.type, schemaVersion: row.schema_version, data }, sent);
};

const pushRow = (
  params: unknown[],
  streamId: string,
  version: number,
  event: NewEvent,
  recordedAt: string,
): void => {
  params.push(
    event.id,
    streamId,
    version,
    event.type,
    event.schemaVersion,
    JSON.stringify(event.data),
    JSON.stringify(event.metadata),
    recordedAt,
  );
};

const corruptRow = (row: EventRow, reason: string, cause?: unknown): CorruptEventError =>
  new CorruptEventError(
    `events row global_position=${row.global_position} (stream "${row.stream_id}" version ${row.stream_position})`,
    row.global_position,
    row.global_position,
    reason,
    cause,
  );

/** Decodes one row; throws `CorruptEventError` naming the row if its JSON is broken. */
const decodeRow = (row: EventRow): RecordedEvent => {
  let data: unknown;
  let metadata: unknown;
  try {
    data = JSON.parse(row.data);
  } catch (error) {
    throw corruptRow(row, 'column data is not valid JSON', error);
  }
  try {
    metadata = JSON.parse(row.metadata);
  } catch (error) {
    throw corruptRow(row, 'column metadata is not valid JSON', error);
  }
  if (typeof metadata !== 'object' || metadata === null) {
    throw corruptRow(row, 'column metadata is not a JSON object');
  }
  return {
    id: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data,
    metadata: metadata as EventMetadata,
    streamId: row.stream_id,
    streamVersion: row.stream_position,
    globalPosition: row.global_position,
    recordedAt: row.recorded_at,
  };
};

/** `decodeRow` for a raw row of the readAll page statement (same checks, same errors). */
const decodeRawRow = (row: RawEventRow): RecordedEvent => {
  let data: unknown;
  let metadata: unknown;
  try {
    data = JSON.parse(row[6]);
  } catch (error) {
    throw corruptRow(rowObject(row), 'column data is not valid JSON', error);
  }
  try {
    metadata = JSON.parse(row[7]);
  } catch (error) {
    throw corruptRow(rowObject(row), 'column metadata is not valid JSON', error);
  }
  if (typeof metadata !== 'object' || metadata === null) {
    throw corruptRow(rowObject(row), 'column metadata is not a JSON object');
  }
  return {
    id: row[1],
    type: row[4],
    schemaVersion: row[5],
    data,
    metadata: metadata as EventMetadata,
    streamId: row[2],
    streamVersion: row[3],
    globalPosition: row[0],
    recordedAt: row[8],
  };
};

const rowObject = (row: RawEventRow): EventRow => ({
  global_position: row[0],
  event_id: row[1],
  stream_id: row[2],
  stream_position: row[3],
  type: row[4],
  schema_version: row[5],
  data: row[6],
  metadata: row[7],
  recorded_at: row[8],
});
