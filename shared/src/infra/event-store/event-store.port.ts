import type { Observable } from 'rxjs';
import type { NewEvent, RecordedEvent } from '../../lib/event-envelope.js';
import type { CorruptEventError } from '../errors.js';

/**
 * What an append expects of the stream: its current version (0 = the stream has no events),
 * `'no-stream'` (same as 0), or `'any'` (no concurrency check).
 */
export type ExpectedVersion = number | 'no-stream' | 'any';

export interface AppendResult {
  /**
   * the stream's version after the append; for an exact retry (every id already stored, with
   * the same content), the version of the last of those events, as the original append answered
   */
  readonly streamVersion: number;
  /**
   * global position of the last event of this append; for an exact retry, that of the last of
   * the stored events; for an empty append, that of the stream's last event (0 if none)
   */
  readonly lastGlobalPosition: number;
  /** how many events were written; 0 when every event id was already in the log */
  readonly appended: number;
}

export interface ReadStreamOptions {
  /** first stream version to return (default 1) */
  readonly fromVersion?: number;
  readonly limit?: number;
}

export interface ReadAllOptions {
  /** return events with a global position strictly greater than this (default 0: from the start) */
  readonly after?: number;
  readonly limit?: number;
  /**
   * Called for each entry that cannot be decoded, which is then skipped. Without it, readAll
   * rejects with the `CorruptEventError` (resume past it with `after: error.resumeAfter`).
   */
  readonly onCorrupt?: (error: CorruptEventError) => void;
}

/**
 * The event log (ARCHITECTURE.md): one total order by global position, streams with their own
 * versions for optimistic concurrency, idempotent appends by event id. Implemented by the
 * SQLite and NATS JetStream adapters and checked by one conformance suite.
 *
 * Errors: `append` rejects with `ExpectedVersionConflictError` (retryable) when `expected` is stale,
 * `EventIdConflictError` when a batch mixes stored and new event ids or resends a stored id with
 * different content, `InvalidAppendError` for malformed arguments; reads reject with
 * `CorruptEventError` naming the position of an event that cannot be decoded. Every method
 * rejects with `EventStoreClosedError` after `close`.
 *
 * Idempotency: an append whose ids are ALL already stored in the stream, each with the same
 * content, is an exact retry: it writes nothing and resolves with the original result
 * (`appended: 0`), whatever `expected` says. Content is `type`, `schemaVersion` and `data`
 * (compared as JSON, whatever the order of object keys); `metadata` is NOT compared, since a
 * re-send may carry its own occurredAt or actor, and the stored metadata is kept. If any stored id
 * comes back with a different type, schemaVersion or data, the whole append is refused with
 * `EventIdConflictError` (naming the id, the stream and what differs, e.g. `data differs`) and
 * nothing is written: the log keeps what it stored first and says so.
 */
export interface EventStore {
  /** Appends all `events` to `streamId` atomically, or none. */
  append(
    streamId: string,
    expected: ExpectedVersion,
    events: readonly NewEvent[],
  ): Promise<AppendResult>;
  /** The stream's events in version order. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<readonly RecordedEvent[]>;
  /** Every event in global order, in pages, lazily. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /** Catches up from `after`, then stays live; completes when the store closes. */
  subscribe(after?: number): Observable<RecordedEvent>;
  /** Global position of the last event (0 for an empty log). */
  headPosition(): Promise<number>;
  /** Releases resources; resolves with the first error met while closing, never rejects. */
  close(): Promise<Error | undefined>;
}
