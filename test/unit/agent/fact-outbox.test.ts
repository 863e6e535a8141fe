/**
 * The fact outbox's publishes and retries (facts/fact-outbox.ts): each fact is published to the
 * durable stream with its id as the message id; one that gets no ack (refused, or no answer) is
 * kept and published again with exponential backoff, never in a hot loop; the ack, and only the
 * ack, trims it; at most MAX_FACTS_IN_FLIGHT wait for their ack at once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FleetBus } from '@tramway/shared/infra';
import { AppError, createMemoryLogger } from '@tramway/shared/infra';
import type { LogRecord } from '@tramway/shared/infra';
import {
  FACT_RETRY_MAX_MS,
  FACT_RETRY_MIN_MS,
  MAX_FACTS_IN_FLIGHT,
  createFactOutbox,
} from '../../../services/agent/src/facts/fact-outbox.js';
import { moduleLoaded, nodeBooted } from '../../../services/agent/src/facts/node-facts.js';
import { createMemoryStateStore } from '../../../services/agent/src/state/agent-state.store.js';

const scope = { nodeId: 'n1', bootId: 'b1' };

/** A bus whose durable publishes are acknowledged by `answer` (throw: not acknowledged). */
const busAnswering = (answer: (events: { id: string }[]) => unknown) => {
  const sent: number[] = [];
  const bus = {
    persist: (_subject: string, payload: unknown) => {
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
      throw new AppError('the stream refused the message', {
        code: 'PersistRefused',
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
    expect(records.filter((r) => r.msg === 'fact refused by the bus')).toHaveLength(sent.length);
    expect(outbox.pending()).toHaveLength(1);
    outbox.stop();
  });

  it('stops sending once the log holds the facts, and acknowledges them in the store', async () => {
    let refuse = true;
    const { bus, sent } = busAnswering((events) => {
      if (refuse) throw new AppError('busy', { code: 'BusTimeout', retryable: true });
      expect(events).toHaveLength(1);
      return { duplicate: false };
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

  it('keeps a fact in the outbox until its publish is acknowledged, and no more than MAX_FACTS_IN_FLIGHT publishes wait at once', async () => {
    const waiting: { id: string; ack: () => void }[] = [];
    const bus = {
      persist: (_subject: string, payload: unknown, options: { msgId: string }) =>
        new Promise((resolve) => {
          const [event] = (payload as { events: { id: string }[] }).events;
          expect(options.msgId).toBe(event?.id);
          waiting.push({ id: options.msgId, ack: () => resolve({ duplicate: false }) });
        }),
    } as unknown as FleetBus;
    const { outbox, store } = outboxOn(bus, []);
    const facts = Array.from({ length: MAX_FACTS_IN_FLIGHT + 44 }, (_, i) =>
      moduleLoaded(scope, `mod_${i}`, 100 + i),
    );
    await outbox.publish(facts);
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting).toHaveLength(MAX_FACTS_IN_FLIGHT);
    expect(outbox.pending()).toHaveLength(facts.length);
    expect(store.readOutbox('b1').acked.size).toBe(0);
    // the first ten acknowledged: only they leave the outbox, and ten more are published
    for (const w of waiting.slice(0, 10)) w.ack();
    await vi.advanceTimersByTimeAsync(0);
    expect(outbox.pending()).toHaveLength(facts.length - 10);
    expect([...store.readOutbox('b1').acked].sort()).toEqual(
      facts
        .slice(0, 10)
        .map((f) => f.id)
        .sort(),
    );
    expect(waiting).toHaveLength(MAX_FACTS_IN_FLIGHT + 10);
    for (const w of waiting.slice(10)) w.ack();
    await vi.advanceTimersByTimeAsync(0);
    for (const w of waiting.slice(MAX_FACTS_IN_FLIGHT + 10)) w.ack();
    await vi.advanceTimersByTimeAsync(0);
    expect(outbox.pending()).toEqual([]);
    expect(new Set(waiting.map((w) => w.id)).size).toBe(facts.length);
    const read = store.readOutbox('b1');
    // acknowledged: kept whole with an ack, or trimmed to their id by a compaction
    expect(new Set([...read.acked, ...read.trimmed.map(([id]) => id)]).size).toBe(facts.length);
    outbox.stop();
  });
});
