/**
 * The NATS JetStream adapter of the `EventStore` port (a subject per stream, a message per event).
 * Kept in one file over ~400 lines: the stream set-up, the per-stream append queue with its
 * expected-sequence headers, the position mapping and the ordered-consumer subscription share the
 * connection state and the mapping of versions to sequences, which must stay private.
 */
import { createHash } from 'node:crypto';
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type {
  Consumer,
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  PubAck,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { Observable } from 'rxjs';
import type { NewEvent, RecordedEvent } from '../../lib/event-envelope.js';
import {
  AppError,
  CorruptEventError,
  EventIdConflictError,
  EventStoreClosedError,
  EventStoreErrorCode,
  EventStoreUnavailableError,
  ExpectedVersionConflictError,
  InvalidAppendError,
  isAppError,
} from '../errors.js';
import { connectNats } from '../nats/nats-connection.js';
import type { NatsCredentials } from '../security/security-layout.js';
import { allEventStreamsSubject, eventStreamSubject } from '../nats/event-subject.js';
import { clusterReplicas } from '../bus/nats-durable.js';
import {
  MAX_EVENTS_PER_COMMIT,
  POSITIONS_PER_MESSAGE,
  decodeCommit,
  encodeCommit,
  idHash,
  positionOf,
  recordedEventsOf,
  sequenceOf,
} from './commit-codec.js';
import type { Commit } from './commit-codec.js';
import { contentConflictDetail, contentDifference } from './event-content.js';
import type { EventContent } from './event-content.js';
import type {
  AppendResult,
  EventStore,
  ExpectedVersion,
  ReadAllOptions,
  ReadStreamOptions,
} from './event-store.port.js';
import { subscriptionMayStart, validateAppend, validateReadOption } from './validate-append.js';

export interface JetStreamEventStoreOptions {
  /** server URL(s); ignored when `connection` is given */
  readonly servers?: string | readonly string[];
  /** the identity and CA of the connection it opens (ignored when `connection` is given) */
  readonly credentials?: NatsCredentials | undefined;
  /** an open connection to use; the store then does not close it */
  readonly connection?: NatsConnection;
  /** JetStream stream holding the log (default TRAMWAY_EVENTS), created if missing */
  readonly streamName?: string;
  /** subject prefix; event stream `s` lives on `<prefix>.<token(s)>` (default tramway.es) */
  readonly subjectPrefix?: string;
  /** replicas when the stream is created (default: 3 in a cluster of 3 or more servers, else 1) */
  readonly replicas?: number;
  /** Nats-Msg-Id dedup window in ms when the stream is created (default 10 minutes) */
  readonly duplicateWindowMs?: number;
  /** wall clock for `recordedAt` (ISO 8601) */
  readonly now?: () => string;
  /** JetStream API / publish-ack timeout in ms (default 5000) */
  readonly timeoutMs?: number;
}

/**
 * What this process knows of one event stream; refreshed from the server when in doubt. Event
 * ids are kept only as 30-bit hashes (small integers, no retained strings: the hot path's GC
 * cost): a hash miss proves an id is new; a hit is confirmed by reading the stream (`ExactIds`).
 */
interface StreamState {
  /** stream sequence of the stream's last commit (0: none) */
  lastSeq: number;
  version: number;
  /** global position of the stream's last event (0: none) */
  lastPosition: number;
  readonly idHashes: Set<number>;
}

/** Every event id of a stream with where it is stored and what it holds, read from the server. */
type ExactIds = ReadonlyMap<
  string,
  { readonly version: number; readonly position: number; readonly content: EventContent }
>;

const PUBLISH = { kind: 'publish' } as const;

type Decision =
  | { readonly kind: 'done'; readonly result: AppendResult }
  | { readonly kind: 'publish' }
  | { readonly kind: 'refresh' }
  | { readonly kind: 'verify' }
  | { readonly kind: 'fail'; readonly error: AppError };

const WRONG_LAST_SEQUENCE = 10071;
const MAX_ATTEMPTS = 8;
const READ_BATCH = 1000;
/** how long one pull of a live subscription waits (its idle heartbeats: half of it) */
const LIVE_PULL_MS = 5000;

/**
 * The distributed event log on NATS JetStream (ARCHITECTURE.md "Events and the log"):
 * one JetStream stream, one subject per event stream, one message per append (a commit, see
 * commit-codec.ts for how per-event global positions derive from the message sequence).
 *
 * - Optimistic concurrency: every append is published with `Nats-Expected-Last-Subject-Sequence`
 *   = the sequence of the stream's last commit as this process knows it. The server refuses a stale
 *   one ("wrong last sequence", 10071); the store then re-reads the stream's new commits and
 *   decides again: a conflict if `expected` is stale, otherwise it publishes again.
 * - Stream versions are tracked in each commit (version of its first event); this process caches
 *   each stream's last sequence, version and event ids, loaded lazily from the server.
 * - Idempotency: `Nats-Msg-Id` (the event id, or a hash of the batch's ids) makes a re-publish
 *   within the duplicate window a no-op; beyond it, the id check against the stream's ids (same
 *   rules as the SQLite adapter) does. An id reused in ANOTHER stream is refused only when the
 *   server's dedup still knows it (single-event append within the duplicate window); otherwise,
 *   unlike SQLite, it is not detected (there is no global id index on JetStream). Known ids
 *   (also those of a publish the server dropped as a duplicate) are confirmed by reading the
 *   stream's commits, and their type, schemaVersion and data compared with the stored ones: a
 *   difference refuses the append with `EventIdConflictError`.
 * - Appends to one stream are serialised within this process; appends to different streams run
 *   concurrently (pipelined publishes).
 * - At most MAX_EVENTS_PER_COMMIT (1000) events per append, and the commit must fit the server's
 *   max_payload (1 MB by default).
 * - Durability: that of the server (R1 in dev/CI: acks before fsync; see eventlog-notes §2.4).
 */
export class JetStreamEventStore implements EventStore {
  readonly #nc: NatsConnection;
  readonly #ownsConnection: boolean;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #streamName: string;
  readonly #prefix: string;
  readonly #now: () => string;
  readonly #states = new Map<string, StreamState>();
  /** streams with an append running: its waiting appends (null: none, no array allocated) */
  readonly #queues = new Map<string, (() => void)[] | null>();
  #inflight = 0;
  #idle: (() => void) | undefined;
  readonly #live = new Set<{ readonly stop: () => void }>();
  #closed = false;

  private constructor(
    nc: NatsConnection,
    ownsConnection: boolean,
    jsm: JetStreamManager,
    options: JetStreamEventStoreOptions,
  ) {
    this.#nc = nc;
    this.#ownsConnection = ownsConnection;
    this.#jsm = jsm;
    this.#js = jetstream(nc, { timeout: options.timeoutMs ?? 5000 });
    this.#streamName = options.streamName ?? 'TRAMWAY_EVENTS';
    this.#prefix = options.subjectPrefix ?? 'tramway.es';
    this.#now = options.now ?? cachedIsoClock();
  }

  /**
   * Connects (unless `connection` is given) and makes sure the JetStream stream exists with the
   * subjects of `subjectPrefix`. Rejects with `EventStoreUnavailableError` if the server cannot be
   * reached, or with an AppError when an existing stream does not cover the prefix.
   */
  static async open(options: JetStreamEventStoreOptions): Promise<JetStreamEventStore> {
    const ownsConnection = options.connection === undefined;
    let nc: NatsConnection;
    try {
      nc =
        options.connection ??
        (await connectNats(options.servers ?? [], {
          noAsyncTraces: true, // +48..70% pipelined publish throughput (eventlog-notes §0)
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          credentials: options.credentials,
        }));
    } catch (error) {
      // a refused identity or TLS trust is not "unavailable": a retry will not fix it
      if (isAppError(error) && !error.retryable) throw error;
      throw new EventStoreUnavailableError('connect', error);
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: options.timeoutMs ?? 5000 });
      const store = new JetStreamEventStore(nc, ownsConnection, jsm, options);
      await store.#ensureStream(options);
      return store;
    } catch (error) {
      if (ownsConnection) await nc.close();
      if (error instanceof AppError) throw error;
      throw new EventStoreUnavailableError('open', error);
    }
  }

  async #ensureStream(options: JetStreamEventStoreOptions): Promise<void> {
    const subject = allEventStreamsSubject(this.#prefix);
    const existing = await this.#jsm.streams.info(this.#streamName).catch((error: unknown) => {
      if (error instanceof JetStreamApiError && error.status === 404) return undefined;
      throw error;
    });
    if (existing !== undefined) {
      if (!existing.config.subjects?.includes(subject)) {
        throw new AppError(
          `JetStream stream ${this.#streamName} exists but does not hold subject ${subject} (it holds ${JSON.stringify(existing.config.subjects)})`,
          { code: EventStoreErrorCode.EventStoreMisconfigured, retryable: false },
        );
      }
      return;
    }
    await this.#jsm.streams.add({
      name: this.#streamName,
      subjects: [subject],
      storage: StorageType.File,
      num_replicas: options.replicas ?? clusterReplicas(this.#nc),
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: -1,
      duplicate_window: nanos(options.duplicateWindowMs ?? 10 * 60_000),
      deny_delete: true,
      allow_direct: true,
    });
  }

  append(
    streamId: string,
    expected: ExpectedVersion,
    events: readonly NewEvent[],
  ): Promise<AppendResult> {
    let expectedVersion: number | undefined;
    try {
      expectedVersion = validateAppend(streamId, expected, events);
      if (events.length > MAX_EVENTS_PER_COMMIT) {
        throw new InvalidAppendError(
          'events',
          `has ${events.length} entries; JetStream appends hold at most ${MAX_EVENTS_PER_COMMIT}`,
        );
      }
      this.#assertOpen('append');
    } catch (error) {
      return Promise.reject(error);
    }
    // Appends to one event stream are serialised in this process (each waits for the previous
    // to settle); other streams are not held up. No promise chain per call: this is the hot
    // path of pipelined appends.
    this.#inflight++;
    const waiting = this.#queues.get(streamId);
    if (waiting === undefined) {
      this.#queues.set(streamId, null);
      return this.#appendNow(streamId, expectedVersion, events);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      const run = (): void => {
        this.#appendNow(streamId, expectedVersion, events).then(resolve, reject);
      };
      if (waiting === null) this.#queues.set(streamId, [run]);
      else waiting.push(run);
    });
  }

  /** Hands the stream's queue to the next waiting append (or drops it), once an append settles. */
  #release(streamId: string): void {
    const next = this.#queues.get(streamId)?.shift();
    if (next === undefined) this.#queues.delete(streamId);
    else next();
    if (--this.#inflight === 0) this.#idle?.();
  }

  /** Runs one append; entered only at the head of the stream's queue, releases it when done. */
  async #appendNow(
    streamId: string,
    expected: number | undefined,
    events: readonly NewEvent[],
  ): Promise<AppendResult> {
    try {
      this.#assertOpen('append');
      const subject = eventStreamSubject(this.#prefix, streamId);
      let state = this.#states.get(streamId);
      let fresh = false;
      let exact: ExactIds | undefined;
      let duplicateSeq: number | undefined;
      if (state === undefined) {
        if (expected === 0 && events.length > 0) {
          // optimistic: a new stream needs no read; the server refuses if the subject has commits
          state = emptyState();
        } else {
          state = await this.#refresh(streamId, subject, undefined);
          fresh = true;
        }
      }
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const decision = decide(streamId, state, expected, events, fresh, exact);
        if (decision.kind === 'done') return decision.result;
        if (decision.kind === 'fail') throw decision.error;
        if (decision.kind === 'publish' && duplicateSeq !== undefined) {
          // the server saw this Nats-Msg-Id, but not in this stream: the id belongs to another one
          throw new EventIdConflictError(
            streamId,
            events.map((e) => e.id),
            `match(es) the Nats-Msg-Id of message seq ${duplicateSeq}, which is not in this stream`,
          );
        }
        if (decision.kind === 'verify') {
          ({ state, exact } = await this.#readExact(streamId, subject));
          fresh = true;
          continue;
        }
        if (decision.kind === 'refresh') {
          state = await this.#refresh(streamId, subject, state);
          exact = undefined;
          fresh = true;
          continue;
        }
        const recordedAt = this.#now();
        const body = encodeCommit({ streamId, version: state.version + 1, recordedAt, events });
        let ack: PubAck;
        try {
          ack = await this.#js.publish(subject, body, {
            msgID: commitId(events),
            expect: { lastSubjectSequence: state.lastSeq },
          });
        } catch (error) {
          if (isWrongLastSequence(error)) {
            state = await this.#refresh(streamId, subject, state);
            exact = undefined;
            fresh = true;
            continue;
          }
          // unknown outcome: forget what we know; a retry with the same ids is safe (msg id dedup)
          this.#states.delete(streamId);
          throw toStoreError('append', error);
        }
        if (ack.duplicate) {
          // the same commit id was stored before, within the duplicate window: learn where
          duplicateSeq = ack.seq;
          state = await this.#refresh(streamId, subject, state);
          exact = undefined;
          fresh = true;
          continue;
        }
        const next = applyEvents(state, ack.seq, state.version + 1, events);
        this.#states.set(streamId, next);
        return {
          streamVersion: next.version,
          lastGlobalPosition: positionOf(ack.seq, events.length - 1),
          appended: events.length,
        };
      }
      throw new EventStoreUnavailableError(
        'append',
        new Error(`stream "${streamId}" kept changing during ${MAX_ATTEMPTS} attempts`),
      );
    } finally {
      this.#release(streamId);
    }
  }

  /** Reads the commits of `streamId` newer than `known` and folds them into a new state. */
  async #refresh(
    streamId: string,
    subject: string,
    known: StreamState | undefined,
  ): Promise<StreamState> {
    let state: StreamState = known ?? emptyState();
    const last = await this.#lastCommitSeq(subject);
    if (last > state.lastSeq) {
      for await (const { seq, commit } of this.#commits(subject, state.lastSeq + 1, last)) {
        if (typeof commit === 'string') {
          throw new CorruptEventError(
            `JetStream ${this.#streamName} message seq ${seq} (subject ${subject})`,
            positionOf(seq, 0),
            positionOf(seq, POSITIONS_PER_MESSAGE - 1),
            commit,
          );
        }
        state = applyCommit(state, seq, commit);
      }
    }
    this.#states.set(streamId, state);
    return state;
  }

  /** Reads every commit of `streamId`: a fresh state plus the exact id -> version/position map. */
  async #readExact(
    streamId: string,
    subject: string,
  ): Promise<{ state: StreamState; exact: ExactIds }> {
    const state = emptyState();
    const exact = new Map<string, { version: number; position: number; content: EventContent }>();
    const last = await this.#lastCommitSeq(subject);
    for await (const { seq, commit } of this.#commits(subject, 1, last)) {
      if (typeof commit === 'string') throw this.#corrupt(seq, subject, commit);
      commit.events.forEach((event, index) => {
        exact.set(event.id, {
          version: commit.version + index,
          position: positionOf(seq, index),
          content: event,
        });
      });
      applyCommit(state, seq, commit);
    }
    this.#states.set(streamId, state);
    return { state, exact };
  }

  async #lastCommitSeq(subject: string): Promise<number> {
    try {
      const last = await this.#jsm.streams.getMessage(this.#streamName, { last_by_subj: subject });
      return last?.seq ?? 0;
    } catch (error) {
      throw toStoreError('read', error);
    }
  }

  /**
   * Yields the decoded commits (or the reason one cannot be decoded) with sequence in
   * [fromSeq, toSeq], of `subject` or of the whole stream, through an ordered consumer.
   */
  async *#commits(
    subject: string | undefined,
    fromSeq: number,
    toSeq: number,
  ): AsyncGenerator<{ seq: number; commit: Commit | string }> {
    if (toSeq < 1 || fromSeq > toSeq) return;
    let messages: ConsumerMessages;
    let consumer: Consumer;
    try {
      consumer = await this.#js.consumers.get(this.#streamName, {
        ...(subject === undefined ? {} : { filter_subjects: subject }),
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Math.max(1, fromSeq),
      });
      messages = await consumer.consume({ max_messages: READ_BATCH });
    } catch (error) {
      throw toStoreError('read', error);
    }
    try {
      for await (const m of messages) {
        if (m.seq > toSeq) return;
        yield { seq: m.seq, commit: decodeCommit(m.string()) };
        if (m.seq >= toSeq || m.info.pending === 0) return;
      }
    } finally {
      messages.stop();
      // ordered consumers otherwise linger on the server for their 5-minute inactive threshold
      void consumer.delete().catch(() => false);
    }
  }

  async readStream(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<readonly RecordedEvent[]> {
    validateReadOption('fromVersion', options.fromVersion, 1);
    validateReadOption('limit', options.limit, 0);
    this.#assertOpen('readStream');
    const subject = eventStreamSubject(this.#prefix, streamId);
    const last = await this.#lastCommitSeq(subject);
    const fromVersion = options.fromVersion ?? 1;
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: RecordedEvent[] = [];
    for await (const { seq, commit } of this.#commits(subject, 1, last)) {
      if (typeof commit === 'string') throw this.#corrupt(seq, subject, commit);
      for (const event of recordedEventsOf(commit, seq)) {
        if (event.streamVersion >= fromVersion && out.length < limit) out.push(event);
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    validateReadOption('after', options.after, 0);
    validateReadOption('limit', options.limit, 0);
    this.#assertOpen('readAll');
    const after = options.after ?? 0;
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const head = await this.#headSeq();
    for await (const { seq, commit } of this.#commits(undefined, sequenceOf(after), head)) {
      this.#assertOpen('readAll');
      if (typeof commit === 'string') {
        const error = this.#corrupt(seq, undefined, commit);
        if (error.position <= after) continue;
        if (options.onCorrupt === undefined) throw error;
        options.onCorrupt(error);
        continue;
      }
      for (const event of recordedEventsOf(commit, seq)) {
        if (event.globalPosition <= after) continue;
        yield event;
        if (--remaining <= 0) return;
      }
    }
  }

  subscribe(after = 0): Observable<RecordedEvent> {
    return new Observable<RecordedEvent>((subscriber) => {
      if (!subscriptionMayStart(subscriber, after, this.#closed)) return undefined;
      let messages: ConsumerMessages | undefined;
      let consumer: Consumer | undefined;
      let stopped = false;
      const release = (): void => {
        messages?.stop();
        void consumer?.delete().catch(() => false);
      };
      const entry = {
        stop: () => {
          stopped = true;
          release();
          subscriber.complete();
        },
      };
      this.#live.add(entry);
      /** the position of the last event handed on: a resumed consumer starts after it */
      let handed = after;
      const run = async (): Promise<void> => {
        // the ordered consumer delivers history from `after`, then keeps delivering new commits
        // on the same iterator: catch-up and live are one sequence, so no gap and no duplicate
        consumer = await this.#js.consumers.get(this.#streamName, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: Math.max(1, sequenceOf(handed)),
        });
        if (stopped) {
          release();
          return;
        }
        // short pulls: a pull (and its heartbeats) lost with a stream leader in a cluster is
        // noticed within seconds, and the ordered consumer recreates itself where it was
        messages = await consumer.consume({ max_messages: READ_BATCH, expires: LIVE_PULL_MS });
        if (stopped) {
          release();
          return;
        }
        for await (const m of messages) {
          const commit = decodeCommit(m.string());
          if (typeof commit === 'string') {
            const error = this.#corrupt(m.seq, m.subject, commit);
            if (error.position <= handed) continue;
            throw error;
          }
          for (const event of recordedEventsOf(commit, m.seq)) {
            if (event.globalPosition > handed) {
              handed = event.globalPosition;
              subscriber.next(event);
            }
            if (stopped) return;
          }
        }
      };
      /**
       * Runs the consumer; when it fails for a reason that passes (a stream leader lost in a
       * cluster, a reconnect) it resumes after the last event handed on, with a bounded backoff,
       * so a subscriber sees each event once and in order across the failover.
       */
      const runResuming = async (): Promise<void> => {
        for (let attempt = 0; ; attempt++) {
          try {
            await run();
            if (stopped || this.#closed) return;
          } catch (error) {
            if (stopped || this.#closed) return;
            const storeError = toStoreError('subscribe', error);
            if (error instanceof CorruptEventError || !storeError.retryable || attempt >= 60)
              throw error;
          }
          release();
          messages = undefined;
          consumer = undefined;
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
          if (stopped || this.#closed) return;
        }
      };
      runResuming().then(
        () => {
          this.#live.delete(entry);
          if (!stopped) subscriber.complete();
        },
        (error: unknown) => {
          this.#live.delete(entry);
          release();
          if (!stopped) subscriber.error(toStoreError('subscribe', error));
        },
      );
      return () => {
        stopped = true;
        this.#live.delete(entry);
        release();
      };
    });
  }

  async headPosition(): Promise<number> {
    this.#assertOpen('headPosition');
    const seq = await this.#headSeq();
    if (seq === 0) return 0;
    try {
      const last = await this.#jsm.streams.getMessage(this.#streamName, { seq });
      const commit = last === null ? 'missing' : decodeCommit(last.string());
      return typeof commit === 'string'
        ? positionOf(seq, 0)
        : positionOf(seq, commit.events.length - 1);
    } catch (error) {
      throw toStoreError('headPosition', error);
    }
  }

  async #headSeq(): Promise<number> {
    try {
      return (await this.#jsm.streams.info(this.#streamName)).state.last_seq;
    } catch (error) {
      throw toStoreError('read', error);
    }
  }

  async close(): Promise<Error | undefined> {
    if (this.#closed) return undefined;
    this.#closed = true;
    for (const entry of [...this.#live]) entry.stop();
    this.#live.clear();
    if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    if (!this.#ownsConnection) return undefined;
    try {
      await this.#nc.drain();
      const closed = await this.#nc.closed();
      return closed instanceof Error ? closed : undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new EventStoreClosedError(operation);
  }

  #corrupt(seq: number, subject: string | undefined, reason: string): CorruptEventError {
    return new CorruptEventError(
      `JetStream ${this.#streamName} message seq ${seq}${subject === undefined ? '' : ` (subject ${subject})`}`,
      positionOf(seq, 0),
      positionOf(seq, POSITIONS_PER_MESSAGE - 1),
      reason,
    );
  }
}

/** The wall clock as ISO 8601, formatting at most once per millisecond (hot path). */
const cachedIsoClock = (): (() => string) => {
  let lastMs = -1;
  let lastIso = '';
  return () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
};

/**
 * What to do with an append given what is known of the stream. `fresh` says the state was just
 * read from the server, so a version mismatch is real; `exact` is set after a full read. Ids are
 * checked before versions (eventlog-notes §3.2).
 */
const decide = (
  streamId: string,
  state: StreamState,
  expected: number | undefined,
  events: readonly NewEvent[],
  fresh: boolean,
  exact: ExactIds | undefined,
): Decision => {
  let maybeKnown = false;
  for (const event of events) {
    if (state.idHashes.has(idHash(event.id))) {
      maybeKnown = true;
      break;
    }
  }
  const known = maybeKnown && exact !== undefined ? events.filter((e) => exact.has(e.id)) : [];
  if (maybeKnown && exact === undefined) return { kind: 'verify' };
  if (known.length === 0) {
    if (expected !== undefined && expected !== state.version) {
      return fresh
        ? {
            kind: 'fail',
            error: new ExpectedVersionConflictError(streamId, expected, state.version),
          }
        : { kind: 'refresh' };
    }
    if (events.length > 0) return PUBLISH;
    if (!fresh) return { kind: 'refresh' };
    return {
      kind: 'done',
      result: {
        streamVersion: state.version,
        lastGlobalPosition: state.lastPosition,
        appended: 0,
      },
    };
  }
  if (known.length === events.length) {
    let last = { version: 0, position: 0 };
    const differing: (readonly [string, string])[] = [];
    for (const event of known) {
      const where = exact?.get(event.id);
      if (where === undefined) continue;
      if (where.position > last.position) last = where;
      const difference = contentDifference(where.content, event);
      if (difference !== undefined) differing.push([event.id, difference]);
    }
    if (differing.length > 0) {
      return {
        kind: 'fail',
        error: new EventIdConflictError(
          streamId,
          differing.map(([id]) => id),
          contentConflictDetail(differing),
        ),
      };
    }
    return {
      kind: 'done',
      result: { streamVersion: last.version, lastGlobalPosition: last.position, appended: 0 },
    };
  }
  return {
    kind: 'fail',
    error: new EventIdConflictError(
      streamId,
      known.map((e) => e.id),
      `already in the stream while ${events.length - known.length} other id(s) are new; an append must be all new or an exact retry`,
    ),
  };
};

const emptyState = (): StreamState => ({
  lastSeq: 0,
  version: 0,
  lastPosition: 0,
  idHashes: new Set(),
});

/**
 * Folds the `events` of a commit stored at sequence `seq`, the first of them at stream version
 * `version`, into `state` (in place, no Commit object: hot path).
 */
const applyEvents = (
  state: StreamState,
  seq: number,
  version: number,
  events: readonly NewEvent[],
): StreamState => {
  for (const event of events) state.idHashes.add(idHash(event.id));
  state.lastSeq = seq;
  state.version = version + events.length - 1;
  state.lastPosition = positionOf(seq, events.length - 1);
  return state;
};

/** Folds commit `commit`, stored at sequence `seq`, into `state` (in place). */
const applyCommit = (state: StreamState, seq: number, commit: Commit): StreamState =>
  applyEvents(state, seq, commit.version, commit.events);

const PRINTABLE_ID = /^[\x21-\x7e]{1,200}$/;

/** Nats-Msg-Id of an append: the event id for a single event, else a hash of all ids. */
const commitId = (events: readonly NewEvent[]): string => {
  const only = events.length === 1 ? events[0] : undefined;
  if (only !== undefined && PRINTABLE_ID.test(only.id)) return only.id;
  const hash = createHash('sha256');
  for (const event of events) hash.update(event.id).update('\n');
  return `commit-${hash.digest('base64url')}`;
};

const isWrongLastSequence = (error: unknown): boolean =>
  error instanceof JetStreamApiError && error.apiError().err_code === WRONG_LAST_SEQUENCE;

/** Errors that mean "the server did not answer (yet)": a retry may succeed. */
const TRANSIENT = new Set([
  'TimeoutError',
  'NoResponders',
  'RequestError',
  'ConnectionError',
  'JetStreamNotEnabled',
]);

/** Maps a client/server error to the store's AppErrors (STYLE.md §7). */
const toStoreError = (operation: string, error: unknown): AppError => {
  if (error instanceof AppError) return error;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('max_payload')) {
    return new InvalidAppendError('events', `do not fit one NATS message (${message})`);
  }
  if (TRANSIENT.has(name)) return new EventStoreUnavailableError(operation, error);
  return new AppError(`event store ${operation} failed: ${name}: ${message}`, {
    code: EventStoreErrorCode.EventStoreFailure,
    retryable: false,
    cause: error,
  });
};
