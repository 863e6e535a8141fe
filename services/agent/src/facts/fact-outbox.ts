/**
 * The agent's fact outbox: every fact of this boot, as first sent, by event id. New facts are
 * appended to the state store, then published in batches; the whole outbox is published again
 * on a resync (after the coordinator was unreachable, at start, when a coordinator re-sends a
 * generation the node has). The log stores each event id once, so resending is harmless.
 */
import { encodeFleetEvent } from '@tramway/shared/contracts';
import type { FleetBus, Logger } from '@tramway/shared/infra';
import type { NewEvent } from '@tramway/shared/lib';
import type { AssignmentCause } from '@tramway/shared/domain';
import { AgentSubjects } from '../agent-messages.js';
import type { AgentStateStore } from '../state/agent-state.store.js';
import type { IdentifiedFact } from './node-facts.js';

/** facts per published batch (keeps a NATS message well under the default 1 MB payload) */
const FACT_BATCH_SIZE = 200;

export interface FactOutbox {
  /**
   * Sends new facts (a fact already in the outbox is skipped: resyncs resend it). `cause`: the
   * assignment they carry out; its correlation id and the id of its AssignmentIssued go on
   * their metadata (who the agent acted for, docs/fleet-protocol.md).
   */
  publish(facts: readonly IdentifiedFact[], cause?: AssignmentCause): Promise<void>;
  /** publishes every fact of this boot again */
  resync(): Promise<void>;
  /** empties the outbox and fills it with `events` (a restart in the same boot: its facts so far) */
  restore(events: readonly NewEvent[]): void;
  /** the facts of this boot of one type, in the order they were sent */
  sent(type: string): readonly NewEvent[];
}

export const createFactOutbox = (input: {
  readonly nodeId: string;
  readonly bootId: () => string;
  readonly bus: FleetBus;
  readonly store: Pick<AgentStateStore, 'appendFacts'>;
  readonly now: () => Date;
  readonly log: Logger;
}): FactOutbox => {
  const { nodeId, bus, log } = input;
  const outbox = new Map<string, NewEvent>();

  const send = async (events: readonly NewEvent[]): Promise<void> => {
    if (events.length === 0) return;
    try {
      for (let i = 0; i < events.length; i += FACT_BATCH_SIZE)
        await bus.publish(AgentSubjects.facts(nodeId), {
          nodeId,
          bootId: input.bootId(),
          events: events.slice(i, i + FACT_BATCH_SIZE),
        });
    } catch (error) {
      // core NATS is at most once anyway: the outbox is re-published on the next resync
      log.warn('facts not published', { count: events.length, error: String(error) });
    }
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
        if (outbox.has(f.id)) continue;
        const event = encodeFleetEvent(f.event, { id: f.id, metadata }).event;
        outbox.set(f.id, event);
        fresh.push(event);
      }
      input.store.appendFacts(fresh);
      await send(fresh);
    },
    resync: () => send([...outbox.values()]),
    restore: (events) => {
      outbox.clear();
      for (const e of events) outbox.set(e.id, e);
    },
    sent: (type) => [...outbox.values()].filter((e) => e.type === type),
  };
};
