import { isAppError } from '../errors.js';
import { decodePayload, encodePayload } from './bus-codec.js';
import {
  BusClosedError,
  BusErrorCode,
  BusNoRespondersError,
  BusPayloadTooLargeError,
  BusTimeoutError,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  replyTooLargeMessage,
  responderFailureError,
} from './fleet-bus.port.js';
import { redeliveryDelayMs } from './fleet-bus.port.js';
import type {
  BusHandler,
  BusResponder,
  FleetBus,
  FleetBusOptions,
  PersistedHandler,
  RequestOptions,
} from './fleet-bus.port.js';
import { assertConcreteSubject, assertSubjectPattern, subjectMatches } from './subject-pattern.js';

type Job = () => Promise<void>;

interface Handle {
  readonly pattern: string;
  readonly queue: Job[];
  active: boolean;
  draining: Promise<void> | undefined;
}

/** A message of the in-process durable stream, until a consumer acknowledges it. */
interface StoredMessage {
  readonly subject: string;
  readonly text: string;
  readonly msgId: string;
  deliveries: number;
}

interface DurableConsumer {
  readonly pattern: string;
  readonly handler: PersistedHandler;
  readonly retryMinMs: number;
  active: boolean;
  running: Promise<void> | undefined;
  /** ends the wait before a redelivery (unsubscribe, close) */
  wake: (() => void) | undefined;
}

/** How many message ids the in-process stream remembers for deduplication. */
export const IN_PROCESS_DEDUP_IDS = 100_000;

interface PendingRequest {
  readonly reject: (error: Error) => void;
}

/** What a responder's failure becomes on the wire (same shape as the NATS error headers). */
export interface ResponderFailure {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/** Describes a responder's thrown error: an AppError keeps its code and retryability. */
export const describeResponderFailure = (error: unknown): ResponderFailure =>
  isAppError(error)
    ? { code: error.code, message: error.message, retryable: error.retryable }
    : {
        code: BusErrorCode.ResponderFailed,
        message: error instanceof Error ? error.message : String(error),
        retryable: false,
      };

/** Bytes of a payload's JSON text on the wire (UTF-8). */
export const payloadBytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Throws `BusPayloadTooLargeError` when the encoded payload is over `limit` bytes. */
export const assertPayloadFits = (subject: string, text: string, limit: number): void => {
  // A UTF-8 byte is at least a UTF-16 unit and at most three: only measure near the limit.
  if (text.length * 3 <= limit) return;
  const size = payloadBytes(text);
  if (size > limit) throw new BusPayloadTooLargeError(subject, size, limit);
};

/** The failure that replaces a reply over `limit` bytes (undefined when it fits). */
export const replyOverLimit = (text: string, limit: number): ResponderFailure | undefined => {
  if (text.length * 3 <= limit) return undefined;
  const size = payloadBytes(text);
  return size <= limit
    ? undefined
    : {
        code: BusErrorCode.ReplyTooLarge,
        message: replyTooLargeMessage(size, limit),
        retryable: false,
      };
};

/** The default for `onHandlerError`: an escaping handler error is a bug, so it crashes (STYLE.md §7). */
export const rethrowOutsideBus = (error: unknown): void => {
  queueMicrotask(() => {
    throw error;
  });
};

/**
 * The in-process `FleetBus` of the embedded mode: same semantics as NATS core (JSON copies,
 * wildcards, one responder per request, no-responders and timeout errors), without a server.
 */
export const createInProcessBus = (options: FleetBusOptions = {}): FleetBus => {
  const onHandlerError = options.onHandlerError ?? rethrowOutsideBus;
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const subscribers: (Handle & { readonly handler: BusHandler })[] = [];
  const responders: { handle: Handle; responder: BusResponder }[] = [];
  const pending = new Set<PendingRequest>();
  let closed = false;
  let nextResponder = 0;
  /** the durable stream: messages not acknowledged yet, in order, and the ids it has held */
  const stored: StoredMessage[] = [];
  const storedIds = new Set<string>();
  const consumers = new Map<string, DurableConsumer>();

  /** Delivers the consumer's messages one at a time until none is left (or it stops). */
  const pump = (consumer: DurableConsumer): void => {
    if (consumer.running !== undefined) return;
    consumer.running = (async () => {
      await Promise.resolve();
      for (;;) {
        if (!consumer.active) break;
        const next = stored.find((m) => subjectMatches(consumer.pattern, m.subject));
        if (next === undefined) break;
        next.deliveries += 1;
        try {
          await consumer.handler({
            subject: next.subject,
            payload: decodePayload(next.subject, next.text),
            msgId: next.msgId,
            deliveries: next.deliveries,
          });
          remove(stored, next);
        } catch {
          // delivered again after a backoff (the handler logs its own failures)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(
              resolve,
              redeliveryDelayMs(next.deliveries, consumer.retryMinMs),
            );
            consumer.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          consumer.wake = undefined;
        }
      }
      consumer.running = undefined;
    })();
  };

  const enqueue = (handle: Handle, job: Job): void => {
    handle.queue.push(job);
    if (handle.draining !== undefined) return;
    handle.draining = (async () => {
      await Promise.resolve();
      for (let next = handle.queue.shift(); next !== undefined; next = handle.queue.shift()) {
        if (handle.active) await next();
      }
      handle.draining = undefined;
    })();
  };

  const newHandle = (pattern: string): Handle => ({
    pattern,
    queue: [],
    active: true,
    draining: undefined,
  });

  const remove = <T>(list: T[], item: T): void => {
    const index = list.indexOf(item);
    if (index >= 0) list.splice(index, 1);
  };

  const pickResponder = (subject: string) => {
    const matching = responders.filter(
      (r) => r.handle.active && subjectMatches(r.handle.pattern, subject),
    );
    if (matching.length === 0) return undefined;
    return matching[nextResponder++ % matching.length];
  };

  const deliverToSubscribers = (subject: string, text: string): void => {
    for (const handle of subscribers) {
      if (!subjectMatches(handle.pattern, subject)) continue;
      const { handler } = handle;
      enqueue(handle, async () => {
        try {
          await handler({ subject, payload: decodePayload(subject, text) });
        } catch (error) {
          onHandlerError(error, { subject });
        }
      });
    }
  };

  /** Runs the responder; resolves with the reply text, or the failure to send back. */
  const answer = async (
    responder: BusResponder,
    subject: string,
    text: string,
  ): Promise<{ ok: true; text: string } | { ok: false; failure: ResponderFailure }> => {
    try {
      const reply = await responder({ subject, payload: decodePayload(subject, text) });
      const replyText = encodePayload(subject, reply);
      const tooLarge = replyOverLimit(replyText, maxPayloadBytes);
      return tooLarge === undefined
        ? { ok: true, text: replyText }
        : { ok: false, failure: tooLarge };
    } catch (error) {
      return { ok: false, failure: describeResponderFailure(error) };
    }
  };

  return {
    publish(subject, payload) {
      try {
        if (closed) throw new BusClosedError(`publish on "${subject}"`);
        assertConcreteSubject(subject);
        const text = encodePayload(subject, payload);
        assertPayloadFits(subject, text, maxPayloadBytes);
        deliverToSubscribers(subject, text);
        const chosen = pickResponder(subject);
        if (chosen !== undefined) {
          enqueue(chosen.handle, async () => {
            await answer(chosen.responder, subject, text);
          });
        }
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },

    subscribe(pattern, handler) {
      if (closed) throw new BusClosedError(`subscribe to "${pattern}"`);
      assertSubjectPattern(pattern);
      const handle = Object.assign(newHandle(pattern), { handler });
      subscribers.push(handle);
      return () => {
        handle.active = false;
        remove(subscribers, handle);
      };
    },

    request(subject, payload, requestOptions: RequestOptions = {}) {
      const timeoutMs = requestOptions.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      let text: string;
      try {
        if (closed) throw new BusClosedError(`request on "${subject}"`);
        assertConcreteSubject(subject);
        text = encodePayload(subject, payload);
        assertPayloadFits(subject, text, maxPayloadBytes);
      } catch (error) {
        return Promise.reject(error as Error);
      }
      deliverToSubscribers(subject, text);
      const chosen = pickResponder(subject);
      if (chosen === undefined) return Promise.reject(new BusNoRespondersError(subject));
      return new Promise<unknown>((resolve, reject) => {
        let settled = false;
        const entry: PendingRequest = {
          reject: (error) => settle(() => reject(error)),
        };
        const timer = setTimeout(
          () => settle(() => reject(new BusTimeoutError(subject, timeoutMs))),
          timeoutMs,
        );
        function settle(action: () => void): void {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          pending.delete(entry);
          action();
        }
        pending.add(entry);
        enqueue(chosen.handle, async () => {
          const outcome = await answer(chosen.responder, subject, text);
          if (outcome.ok) {
            settle(() => resolve(decodePayload(subject, outcome.text)));
          } else {
            const { code, message, retryable } = outcome.failure;
            settle(() => reject(responderFailureError(subject, code, message, retryable)));
          }
        });
      });
    },

    respond(pattern, responder) {
      if (closed) throw new BusClosedError(`respond on "${pattern}"`);
      assertSubjectPattern(pattern);
      const entry = { handle: newHandle(pattern), responder };
      responders.push(entry);
      return () => {
        entry.handle.active = false;
        remove(responders, entry);
      };
    },

    persist(subject, payload, persistOptions) {
      try {
        if (closed) throw new BusClosedError(`persist on "${subject}"`);
        assertConcreteSubject(subject);
        const text = encodePayload(subject, payload);
        assertPayloadFits(subject, text, maxPayloadBytes);
        const { msgId } = persistOptions;
        if (storedIds.has(msgId)) return Promise.resolve({ duplicate: true });
        storedIds.add(msgId);
        if (storedIds.size > IN_PROCESS_DEDUP_IDS)
          storedIds.delete(storedIds.values().next().value as string);
        stored.push({ subject, text, msgId, deliveries: 0 });
        for (const consumer of consumers.values())
          if (subjectMatches(consumer.pattern, subject)) pump(consumer);
        return Promise.resolve({ duplicate: false });
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },

    consumePersisted(pattern, handler, consumeOptions) {
      if (closed) return Promise.reject(new BusClosedError(`consume "${pattern}"`));
      assertSubjectPattern(pattern);
      if (consumers.has(consumeOptions.durable))
        return Promise.reject(
          new Error(`durable consumer ${consumeOptions.durable} is already consuming`),
        );
      const consumer: DurableConsumer = {
        pattern,
        handler,
        retryMinMs: consumeOptions.retryMinMs ?? 250,
        active: true,
        running: undefined,
        wake: undefined,
      };
      consumers.set(consumeOptions.durable, consumer);
      pump(consumer);
      return Promise.resolve(() => {
        if (!consumer.active) return;
        consumer.active = false;
        consumer.wake?.();
        consumers.delete(consumeOptions.durable);
      });
    },

    flush() {
      return closed ? Promise.reject(new BusClosedError('flush')) : Promise.resolve();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const consumer of consumers.values()) {
        consumer.active = false;
        consumer.wake?.();
      }
      await Promise.all([...consumers.values()].map((c) => c.running));
      consumers.clear();
      for (const entry of [...pending]) entry.reject(new BusClosedError('wait for a reply'));
      const handles = [...subscribers, ...responders.map((r) => r.handle)];
      await Promise.all(handles.map((h) => h.draining));
      for (const handle of handles) handle.active = false;
      subscribers.length = 0;
      responders.length = 0;
    },
  };
};
