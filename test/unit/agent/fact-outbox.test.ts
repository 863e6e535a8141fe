/**
 * The fact outbox's retries (facts/fact-outbox.ts): a batch that gets no ack (refused, or no
 * answer) is kept and sent again with exponential backoff, never in a hot loop; an ack stops it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FleetBus } from '@tramway/shared/infra';
import { AppError, createMemoryLogger } from '@tramway/shared/infra';
import type { LogRecord } from '@tramway/shared/infra';
import {
  FACT_RETRY_MAX_MS,
  FACT_RETRY_MIN_MS,
  createFactOutbox,
} from '../../../services/agent/src/facts/fact-outbox.js';
import { nodeBooted } from '../../../services/agent/src/facts/node-facts.js';
import { createMemoryStateStore } from '../../../services/agent/src/state/agent-state.store.js';

const scope = { nodeId: 'n1', bootId: 'b1' };

/** A bus whose fact requests are answered by `answer` (throw: an error reply). */
const busAnswering = (answer: (events: { id: string }[]) => unknown) => {
  const sent: number[] = [];
  const bus = {
    request: (_subject: string, payload: unknown) => {
      sent.push(Date.now());
      try {
        return Promise.resolve(answer((payload as { events: { id: string }[] }).events));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
  } as unknown as FleetBus;
  return { bus, sent };
};

describe('fact outbox retries', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const outboxOn = (bus: FleetBus, records: LogRecord[]) => {
    const store = createMemoryStateStore();
    store.resetBoot('b1');
    return {
      store,
      outbox: createFactOutbox({
        nodeId: 'n1',
        bootId: () => 'b1',
        bus,
        store,
        now: () => new Date(0),
        log: createMemoryLogger(records),
      }),
    };
  };

  it('backs off a refused batch exponentially (1 s, 2 s, 4 s...) up to the maximum, logging each refusal', async () => {
    const { bus, sent } = busAnswering(() => {
      throw new AppError('fact batch refused: events[0]: bad', {
        code: 'FactBatchRefused',
        retryable: false,
      });
    });
    const records: LogRecord[] = [];
    const { outbox } = outboxOn(bus, records);
    await outbox.publish([nodeBooted(scope)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    // each retry waits exactly its delay: 1 s doubled each time, up to the maximum
    for (let i = 0; i < 12; i++) {
      const delay = Math.min(FACT_RETRY_MIN_MS * 2 ** i, FACT_RETRY_MAX_MS);
      const before = sent.length;
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(sent.length, `retry ${i + 1} not before ${delay} ms`).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(sent.length, `retry ${i + 1} after ${delay} ms`).toBe(before + 1);
    }
    expect(records.filter((r) => r.msg === 'fact batch refused by the coordinator')).toHaveLength(
      sent.length,
    );
    expect(outbox.pending()).toHaveLength(1);
    outbox.stop();
  });

  it('stops sending once the log holds the facts, and acknowledges them in the store', async () => {
    let refuse = true;
    const { bus, sent } = busAnswering((events) => {
      if (refuse) throw new AppError('busy', { code: 'BusTimeout', retryable: true });
      return { held: events.map((e) => e.id) };
    });
    const records: LogRecord[] = [];
    const { outbox, store } = outboxOn(bus, records);
    await outbox.publish([nodeBooted(scope)]);
    await vi.advanceTimersByTimeAsync(0);
    refuse = false;
    await vi.advanceTimersByTimeAsync(FACT_RETRY_MIN_MS);
    expect(sent).toHaveLength(2);
    expect(outbox.pending()).toEqual([]);
    expect([...store.readOutbox('b1').acked]).toEqual([nodeBooted(scope).id]);
    await vi.advanceTimersByTimeAsync(FACT_RETRY_MAX_MS * 2);
    expect(sent).toHaveLength(2);
    // published again (a restart's start-up facts): already held, not sent
    await outbox.publish([nodeBooted(scope)]);
    expect(sent).toHaveLength(2);
    outbox.stop();
  });
});
