/**
 * The agent's fact outbox (docs/fleet-protocol.md, "Facts and their acknowledgement"): every
 * fact of this boot until the coordinator's log holds it. New facts are appended to the state
 * store (durably), then sent in batches as requests on `tramway.facts.<node>`; the reply
 * (`FactAck`) names the ids the log holds, which are acknowledged in the store (their bodies
 * trimmed now and then) and never sent again. What is not acknowledged is sent again on a
 * resync (at start, after the coordinator was unreachable, when a coordinator re-sends a
 * generation the node has) and on a retry timer with exponential backoff after a send that
 * got no ack (a timeout: an older coordinator that only listens, or none; an error reply: a
 * refused batch, logged with the coordinator's reason). The log stores each id once, so a
 * resend is harmless. Sending never waits for the ack: the agent's kernel work does not stall
 * on the coordinator.
 */
import { decodeMessage, encodeFleetEvent } from '@tramway/shared/contracts';
import type { FleetBus, Logger } from '@tramway/shared/infra';
import { errorText, isAppError } from '@tramway/shared/infra';
import type { NewEvent } from '@tramway/shared/lib';
import type { AssignmentCause } from '@tramway/shared/domain';
import { AgentSubjects } from '../agent-messages.js';
import type { AgentStateStore } from '../state/agent-state.store.js';
import type { IdentifiedFact } from './node-facts.js';
import type { OutboxRead } from './outbox-lines.js';

/** facts per published batch (keeps a NATS message well under the default 1 MB payload) */
const FACT_BATCH_SIZE = 200;
/** how long a batch waits for its ack before it counts as not acknowledged (default) */
export const DEFAULT_FACT_ACK_TIMEOUT_MS = 10_000;
/** the first retry after a send without ack, doubled each time up to the maximum */
export const FACT_RETRY_MIN_MS = 1000;
export const FACT_RETRY_MAX_MS = 300_000;

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
  /** not acknowledged, in the order first sent */
  const pending = new Map<string, NewEvent>();
  /** acknowledged (or refused for good): never sent again, skipped when published again */
  const done = new Set<string>();
  const counts = new Map<string, number>();
  const lastOfType = new Map<string, NewEvent>();
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
      void send([...pending.values()]);
    }, delay);
    retryTimer.unref?.();
  };

  const acknowledge = (reply: unknown, sent: readonly NewEvent[]): void => {
    const decoded = decodeMessage('FactAck', reply);
    if (!decoded.ok) {
      // an older coordinator answering something else: as no ack
      log.warn('fact batch reply is not an ack', { error: decoded.error.message });
      scheduleRetry();
      return;
    }
    const inBatch = new Set(sent.map((e) => e.id));
    const ids = [...decoded.value.held, ...decoded.value.refused.map((r) => r.id)].filter(
      (id) => inBatch.has(id) && pending.has(id),
    );
    if (decoded.value.refused.length > 0)
      log.error('the coordinator refused facts for good (their ids hold other content)', {
        refused: decoded.value.refused,
      });
    if (ids.length > 0) {
      try {
        input.store.ackFacts(ids);
      } catch (error) {
        // not recorded: they are sent again after a restart, which the log answers the same
        log.warn('fact acks not saved', { error: errorText(error) });
      }
      for (const id of ids) {
        pending.delete(id);
        done.add(id);
      }
    }
    if (failures > 0) log.info('facts acknowledged again', { after: failures });
    failures = 0;
    retryDelay = retryMinMs;
    // a batch partly held: what is left goes again later
    if (sent.some((e) => pending.has(e.id))) scheduleRetry();
  };

  const notAcknowledged = (error: unknown, count: number): void => {
    if (stopped) return;
    failures += 1;
    const refused = isAppError(error) && !error.retryable;
    // said once per outage (or per refusal), then quietly retried with backoff
    if (refused)
      log.error('fact batch refused by the coordinator', { count, error: errorText(error) });
    else
      (failures === 1 ? log.warn : log.debug)('facts not acknowledged (kept, sent again later)', {
        count,
        error: errorText(error),
        attempts: failures,
      });
    scheduleRetry();
  };

  const send = (events: readonly NewEvent[]): Promise<void> => {
    if (events.length === 0 || stopped) return Promise.resolve();
    for (let i = 0; i < events.length; i += FACT_BATCH_SIZE) {
      const batch = events.slice(i, i + FACT_BATCH_SIZE);
      // sent now, in order; the ack is handled when it comes
      bus
        .request(
          AgentSubjects.facts(nodeId),
          { nodeId, bootId: input.bootId(), events: batch },
          { timeoutMs: ackTimeoutMs },
        )
        .then(
          (reply) => acknowledge(reply, batch),
          (error: unknown) => notAcknowledged(error, batch.length),
        );
    }
    return Promise.resolve();
  };

  return {
    publish: async (facts, cause) => {
      if (facts.length === 0) return;
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
      await send(fresh);
    },
    resync: () => {
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      return send([...pending.values()]);
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
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
    },
  };
};
