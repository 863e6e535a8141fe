/**
 * The agent's fact outbox (docs/fleet-protocol.md, "Facts and their acknowledgement"): every
 * fact of this boot until the facts stream holds it. New facts are appended to the state store
 * (durably), then each is published on `tramway.factlog.<node>` to the bus's durable stream
 * (JetStream over NATS), as a `FactBatch` of that one fact with its id as `Nats-Msg-Id`; the
 * stream's acknowledgement (PubAck) is what trims it from the outbox (acknowledged in the store,
 * bodies trimmed now and then), so nothing leaves the outbox before the stream holds it. The
 * coordinator consumes the stream at its own pace (down, restarting or slow: the facts wait in
 * the stream). A publish without acknowledgement (no server, no stream, a timeout during a
 * leader election) keeps the fact; it is published again on a retry timer with exponential
 * backoff, and on a resync (at start, when a coordinator re-sends a generation the node has).
 * At most `MAX_FACTS_IN_FLIGHT` publishes wait for their acknowledgement at once. The stream
 * deduplicates by id within its window and the coordinator's log stores each id once, so a
 * second publish is harmless. Publishing never waits for the ack: the agent's kernel work does
 * not stall on the stream.
 */
import { encodeFleetEvent } from '@tramway/shared/contracts';
import type { FleetBus, Logger } from '@tramway/shared/infra';
import { errorText, isAppError } from '@tramway/shared/infra';
import type { NewEvent } from '@tramway/shared/lib';
import type { AssignmentCause } from '@tramway/shared/domain';
import { AgentSubjects } from '../agent-messages.js';
import type { AgentStateStore } from '../state/agent-state.store.js';
import type { IdentifiedFact } from './node-facts.js';
import type { OutboxRead } from './outbox-lines.js';

/** publishes waiting for their acknowledgement at once (the rest wait their turn, in order) */
export const MAX_FACTS_IN_FLIGHT = 256;
/** how long a publish waits for the stream's acknowledgement (default) */
export const DEFAULT_FACT_ACK_TIMEOUT_MS = 10_000;
/** the first retry after a publish without ack, doubled each time up to the maximum */
export const FACT_RETRY_MIN_MS = 1000;
export const FACT_RETRY_MAX_MS = 60_000;

export interface FactOutbox {
  /**
   * Sends new facts (a fact already sent in this boot is skipped: resyncs resend it). `cause`:
   * the assignment they carry out; its correlation id and the id of its AssignmentIssued go
   * on their metadata (who the agent acted for, docs/fleet-protocol.md).
   */
  publish(facts: readonly IdentifiedFact[], cause?: AssignmentCause): Promise<void>;
  /** sends every fact of this boot the coordinator has not acknowledged */
  resync(): Promise<void>;
  /** the outbox of this boot so far (a restart in the same boot: as the store kept it) */
  restore(read: OutboxRead): void;
  /** how many facts of this type were sent in this boot */
  count(type: string): number;
  /** the last fact of this type sent in this boot */
  last(type: string): NewEvent | undefined;
  /** facts not acknowledged yet */
  pending(): readonly NewEvent[];
  /** stops the retry timer (the agent's stop) */
  stop(): void;
}

export const createFactOutbox = (input: {
  readonly nodeId: string;
  readonly bootId: () => string;
  readonly bus: FleetBus;
  readonly store: Pick<AgentStateStore, 'appendFacts' | 'ackFacts'>;
  readonly now: () => Date;
  readonly log: Logger;
  /** default `DEFAULT_FACT_ACK_TIMEOUT_MS` */
  readonly ackTimeoutMs?: number;
  /** first retry delay (default `FACT_RETRY_MIN_MS`) */
  readonly retryMinMs?: number;
}): FactOutbox => {
  const { nodeId, bus, log } = input;
  const ackTimeoutMs = input.ackTimeoutMs ?? DEFAULT_FACT_ACK_TIMEOUT_MS;
  const retryMinMs = input.retryMinMs ?? FACT_RETRY_MIN_MS;
  const subject = AgentSubjects.factLog(nodeId);
  /** not acknowledged, in the order first sent */
  const pending = new Map<string, NewEvent>();
  /** acknowledged: never sent again, skipped when published again */
  const done = new Set<string>();
  const counts = new Map<string, number>();
  const lastOfType = new Map<string, NewEvent>();
  /** facts to publish, in order, not in flight yet (ids, each once) */
  const waiting: string[] = [];
  const queued = new Set<string>();
  /** published, waiting for the stream's acknowledgement */
  const inFlight = new Set<string>();
  /** acknowledged ids not yet recorded in the store (recorded together, in one microtask) */
  let acks: string[] = [];
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retryDelay = retryMinMs;
  let failures = 0;
  let stopped = false;

  const track = (id: string, type: string, event?: NewEvent): void => {
    counts.set(type, (counts.get(type) ?? 0) + 1);
    if (event !== undefined) lastOfType.set(type, event);
  };

  const scheduleRetry = (): void => {
    if (stopped || retryTimer !== undefined || pending.size === 0) return;
    const delay = retryDelay;
    retryDelay = Math.min(retryDelay * 2, FACT_RETRY_MAX_MS);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      send([...pending.values()]);
    }, delay);
    retryTimer.unref?.();
  };

  const recordAcks = (): void => {
    if (acks.length === 0) return;
    const ids = acks;
    acks = [];
    try {
      input.store.ackFacts(ids);
    } catch (error) {
      // not recorded: they are published again after a restart, which the stream and the log
      // answer the same
      log.warn('fact acks not saved', { error: errorText(error) });
    }
  };

  const acknowledged = (id: string): void => {
    if (!pending.delete(id)) return;
    done.add(id);
    // after the agent's stop the store may be closed: the fact is published again next start
    if (stopped) return;
    if (acks.length === 0) queueMicrotask(recordAcks);
    acks.push(id);
    if (failures > 0) log.info('facts acknowledged again', { after: failures });
    failures = 0;
    retryDelay = retryMinMs;
  };

  const notAcknowledged = (error: unknown): void => {
    if (stopped) return;
    failures += 1;
    const refused = isAppError(error) && !error.retryable;
    // said once per outage (or per refusal), then quietly retried with backoff
    if (refused) log.error('fact refused by the bus', { error: errorText(error) });
    else
      (failures === 1 ? log.warn : log.debug)('facts not acknowledged (kept, sent again later)', {
        pending: pending.size,
        error: errorText(error),
        attempts: failures,
      });
    scheduleRetry();
  };

  /** Publishes waiting facts while fewer than `MAX_FACTS_IN_FLIGHT` wait for their ack. */
  const pump = (): void => {
    while (!stopped && inFlight.size < MAX_FACTS_IN_FLIGHT && waiting.length > 0) {
      const id = waiting.shift() as string;
      queued.delete(id);
      const event = pending.get(id);
      if (event === undefined || inFlight.has(id)) continue;
      inFlight.add(id);
      bus
        .persist(
          subject,
          { nodeId, bootId: input.bootId(), events: [event] },
          { msgId: id, timeoutMs: ackTimeoutMs },
        )
        .then(
          () => acknowledged(id),
          (error: unknown) => notAcknowledged(error),
        )
        .finally(() => {
          inFlight.delete(id);
          pump();
        });
    }
  };

  const send = (events: readonly NewEvent[]): void => {
    if (stopped) return;
    for (const e of events) {
      if (queued.has(e.id) || inFlight.has(e.id) || !pending.has(e.id)) continue;
      queued.add(e.id);
      waiting.push(e.id);
    }
    pump();
  };

  return {
    publish: (facts, cause) => {
      if (facts.length === 0) return Promise.resolve();
      const metadata = {
        occurredAt: input.now().toISOString(),
        actor: `agent:${nodeId}`,
        ...(cause?.correlationId === undefined ? {} : { correlationId: cause.correlationId }),
        ...(cause === undefined ? {} : { causationId: cause.eventId }),
      };
      const fresh: NewEvent[] = [];
      for (const f of facts) {
        if (pending.has(f.id) || done.has(f.id)) continue;
        const event = encodeFleetEvent(f.event, { id: f.id, metadata }).event;
        pending.set(f.id, event);
        track(f.id, event.type, event);
        fresh.push(event);
      }
      input.store.appendFacts(fresh);
      send(fresh);
      return Promise.resolve();
    },
    resync: () => {
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      send([...pending.values()]);
      return Promise.resolve();
    },
    restore: (read) => {
      pending.clear();
      done.clear();
      counts.clear();
      lastOfType.clear();
      for (const [id, type] of read.trimmed) {
        done.add(id);
        track(id, type);
      }
      for (const e of read.events) {
        track(e.id, e.type, e);
        if (read.acked.has(e.id)) done.add(e.id);
        else pending.set(e.id, e);
      }
    },
    count: (type) => counts.get(type) ?? 0,
    last: (type) => lastOfType.get(type),
    pending: () => [...pending.values()],
    stop: () => {
      stopped = true;
      recordAcks();
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
    },
  };
};
