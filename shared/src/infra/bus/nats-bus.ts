import {
  ClosedConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
  headers,
} from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { decodePayload, encodePayload } from './bus-codec.js';
import {
  BusClosedError,
  BusNoRespondersError,
  BusTimeoutError,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  responderFailureError,
} from './fleet-bus.port.js';
import type {
  BusResponder,
  FleetBus,
  FleetBusOptions,
  RequestOptions,
  Unsubscribe,
} from './fleet-bus.port.js';
import {
  assertPayloadFits,
  describeResponderFailure,
  replyOverLimit,
  rethrowOutsideBus,
} from './in-process-bus.js';
import type { ResponderFailure } from './in-process-bus.js';
import { assertConcreteSubject, assertSubjectPattern } from './subject-pattern.js';
import { connectNats } from '../nats/nats-connection.js';
import { createNatsDurable } from './nats-durable.js';
import type { DurableStreamOptions } from './nats-durable.js';
import type { NatsCredentials } from '../security/security-layout.js';

/** Reply headers of a failed responder (the NATS micro-services convention, plus retryability). */
export const ERROR_CODE_HEADER = 'Nats-Service-Error-Code';
export const ERROR_MESSAGE_HEADER = 'Nats-Service-Error';
export const RETRYABLE_HEADER = 'Tramway-Retryable';
/** Responders join this queue group, so exactly one of several answers each request. */
export const RESPONDER_QUEUE_GROUP = 'tramway-responders';

export interface NatsBusOptions extends FleetBusOptions {
  /** `close()` also drains and closes the connection (default false: the caller owns `nc`) */
  readonly closeConnection?: boolean;
  /** the JetStream stream behind `persist` / `consumePersisted` (default: the facts stream) */
  readonly durableStream?: DurableStreamOptions;
}

const textOf = (msg: Msg): string => (msg.data.length === 0 ? '' : msg.string());

const isClosedError = (error: unknown): boolean =>
  error instanceof ClosedConnectionError || error instanceof DrainingConnectionError;

/** Maps a nats.js request failure onto the port's errors. */
const toBusError = (subject: string, timeoutMs: number, error: unknown): unknown => {
  const cause = error instanceof RequestError && error.cause !== undefined ? error.cause : error;
  if (cause instanceof TimeoutError) return new BusTimeoutError(subject, timeoutMs, error);
  if (
    cause instanceof NoRespondersError ||
    (error instanceof RequestError && error.isNoResponders())
  ) {
    return new BusNoRespondersError(subject, error);
  }
  if (isClosedError(cause)) return new BusClosedError(`request on "${subject}"`);
  return error;
};

/**
 * The `FleetBus` over core NATS (JSON payloads; errors of responders travel in reply headers).
 * The connection stays the caller's unless `closeConnection` is set.
 */
export const createNatsBus = (nc: NatsConnection, options: NatsBusOptions = {}): FleetBus => {
  const onHandlerError = options.onHandlerError ?? rethrowOutsideBus;
  const subscriptions = new Map<Subscription, Promise<void>>();
  const pending = new Set<(error: Error) => void>();
  let closed = false;
  /** The server's max_payload (known once connected), else the option, else the default. */
  const maxPayloadBytes = (): number => {
    const announced = nc.info?.max_payload;
    return typeof announced === 'number' && announced > 0
      ? announced
      : (options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
  };

  const durable = createNatsDurable(nc, {
    maxPayloadBytes,
    closed: () => closed,
    ...(options.durableStream === undefined ? {} : { stream: options.durableStream }),
  });

  const consume = (sub: Subscription, onMessage: (msg: Msg) => Promise<void>): Unsubscribe => {
    let active = true;
    const loop = (async () => {
      for await (const msg of sub) {
        if (!active) continue;
        // The handlers catch their own errors; this is the last line, so one message can never
        // end the loop (and with it every later message of the subscription).
        try {
          await onMessage(msg);
        } catch (error) {
          if (!isClosedError(error)) onHandlerError(error, { subject: msg.subject });
        }
      }
    })();
    subscriptions.set(sub, loop);
    return () => {
      if (!active) return;
      active = false;
      subscriptions.delete(sub);
      if (!sub.isClosed()) sub.unsubscribe();
    };
  };

  const replyFailure = (msg: Msg, failure: ResponderFailure): void => {
    const h = headers();
    h.set(ERROR_CODE_HEADER, failure.code);
    h.set(ERROR_MESSAGE_HEADER, failure.message.replace(/[\r\n]+/g, ' '));
    h.set(RETRYABLE_HEADER, String(failure.retryable));
    msg.respond(undefined, { headers: h });
  };

  return {
    publish(subject, payload) {
      try {
        if (closed) throw new BusClosedError(`publish on "${subject}"`);
        assertConcreteSubject(subject);
        const text = encodePayload(subject, payload);
        assertPayloadFits(subject, text, maxPayloadBytes());
        nc.publish(subject, text);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(
          isClosedError(error) ? new BusClosedError(`publish on "${subject}"`) : (error as Error),
        );
      }
    },

    subscribe(pattern, handler) {
      if (closed) throw new BusClosedError(`subscribe to "${pattern}"`);
      assertSubjectPattern(pattern);
      return consume(nc.subscribe(pattern), async (msg) => {
        try {
          await handler({ subject: msg.subject, payload: decodePayload(msg.subject, textOf(msg)) });
        } catch (error) {
          onHandlerError(error, { subject: msg.subject });
        }
      });
    },

    async request(subject, payload, requestOptions: RequestOptions = {}) {
      const timeoutMs = requestOptions.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      if (closed) throw new BusClosedError(`request on "${subject}"`);
      assertConcreteSubject(subject);
      const text = encodePayload(subject, payload);
      assertPayloadFits(subject, text, maxPayloadBytes());
      let rejectOnClose: ((error: Error) => void) | undefined;
      const closedWhileWaiting = new Promise<never>((_, reject) => {
        rejectOnClose = reject;
      });
      const cancel = rejectOnClose as (error: Error) => void;
      pending.add(cancel);
      try {
        const reply = await Promise.race([
          nc.request(subject, text, { timeout: timeoutMs }).catch((error: unknown) => {
            throw toBusError(subject, timeoutMs, error);
          }),
          closedWhileWaiting,
        ]);
        const code = reply.headers?.get(ERROR_CODE_HEADER);
        if (code !== undefined && code !== '') {
          throw responderFailureError(
            subject,
            code,
            reply.headers?.get(ERROR_MESSAGE_HEADER) ?? '',
            reply.headers?.get(RETRYABLE_HEADER) === 'true',
          );
        }
        return decodePayload(subject, textOf(reply));
      } finally {
        pending.delete(cancel);
      }
    },

    respond(pattern, responder: BusResponder) {
      if (closed) throw new BusClosedError(`respond on "${pattern}"`);
      assertSubjectPattern(pattern);
      return consume(nc.subscribe(pattern, { queue: RESPONDER_QUEUE_GROUP }), async (msg) => {
        const wantsReply = msg.reply !== undefined && msg.reply !== '';
        let reply: string;
        try {
          const payload = decodePayload(msg.subject, textOf(msg));
          reply = encodePayload(msg.subject, await responder({ subject: msg.subject, payload }));
        } catch (error) {
          if (wantsReply) replyFailure(msg, describeResponderFailure(error));
          return;
        }
        if (!wantsReply) return;
        const tooLarge = replyOverLimit(reply, maxPayloadBytes());
        if (tooLarge !== undefined) {
          replyFailure(msg, tooLarge);
          return;
        }
        try {
          msg.respond(reply);
        } catch (error) {
          // Not sent (the client refused it): the requester hears why instead of timing out.
          if (isClosedError(error)) return;
          replyFailure(msg, describeResponderFailure(error));
        }
      });
    },

    persist: (subject, payload, persistOptions) =>
      durable.persist(subject, payload, persistOptions),

    consumePersisted: (pattern, handler, consumeOptions) =>
      durable.consumePersisted(pattern, handler, consumeOptions),

    async flush() {
      if (closed) throw new BusClosedError('flush');
      await nc.flush();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const cancel of [...pending]) cancel(new BusClosedError('wait for a reply'));
      await durable.close();
      const entries = [...subscriptions];
      subscriptions.clear();
      if (!nc.isClosed()) {
        await Promise.all(entries.map(([sub]) => (sub.isClosed() ? undefined : sub.drain())));
      }
      await Promise.all(entries.map(([, loop]) => loop));
      if (options.closeConnection === true && !nc.isClosed()) await nc.drain();
    },
  };
};

/**
 * Connects to NATS (as `credentials`' identity, over TLS when they name a CA) and returns a bus
 * that owns the connection (closing the bus closes it). A refused connection rejects with an
 * AppError naming the server and the reason.
 */
export const connectNatsBus = async (
  servers: string | string[],
  options: FleetBusOptions & {
    readonly name?: string;
    /** the JetStream stream behind `persist` / `consumePersisted` (default: the facts stream) */
    readonly durableStream?: DurableStreamOptions;
    readonly credentials?: NatsCredentials | undefined;
    /**
     * errors the server reports on the connection (a permission violation: a subject this
     * identity may not use), for the log; without it they go unseen
     */
    readonly onServerError?: (error: Error) => void;
  } = {},
): Promise<FleetBus> => {
  const nc = await connectNats(servers, {
    ...(options.name === undefined ? {} : { name: options.name }),
    credentials: options.credentials,
  });
  const onServerError = options.onServerError;
  if (onServerError !== undefined)
    void (async () => {
      for await (const status of nc.status())
        if (status.type === 'error') onServerError(status.error);
    })();
  return createNatsBus(nc, { ...options, closeConnection: true });
};
