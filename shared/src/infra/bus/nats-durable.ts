/**
 * The durable half of the NATS `FleetBus` (`persist`, `consumePersisted`): a JetStream stream
 * (work-queue retention: a message leaves once the consumer acknowledged it; `Nats-Msg-Id`
 * deduplication within the duplicate window) and a durable pull consumer with explicit
 * acknowledgement. A publisher needs nothing but publish on its subject and its own inbox for the
 * PubAck (no `$JS.API` permission); the consumer's side (the coordinator) creates the stream and
 * the consumer.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { NoRespondersError, TimeoutError, nanos } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { FleetSubjects } from '../../contracts/index.js';
import { AppError } from '../errors.js';
import { decodePayload, encodePayload } from './bus-codec.js';
import {
  BusClosedError,
  BusMalformedMessageError,
  BusNoRespondersError,
  BusTimeoutError,
  DEFAULT_REQUEST_TIMEOUT_MS,
  redeliveryDelayMs,
} from './fleet-bus.port.js';
import type {
  ConsumeOptions,
  PersistAck,
  PersistOptions,
  PersistedHandler,
  Unsubscribe,
} from './fleet-bus.port.js';
import { assertPayloadFits } from './in-process-bus.js';
import { assertConcreteSubject, assertSubjectPattern } from './subject-pattern.js';

/** The JetStream stream of the durable messages (the agents' facts) and its defaults. */
export interface DurableStreamOptions {
  /** default `TRAMWAY_FACTS` */
  readonly name?: string;
  /** default the fact-log subjects, `tramway.factlog.*` */
  readonly subjects?: readonly string[];
  /** replicas when the stream is created (default: `clusterReplicas` of the connection) */
  readonly replicas?: number;
  /** `Nats-Msg-Id` duplicate window (default 10 minutes) */
  readonly duplicateWindowMs?: number;
  /** how long a delivered message may stay unacknowledged before it is delivered again (30 s) */
  readonly ackWaitMs?: number;
}

export const DEFAULT_DURABLE_STREAM = 'TRAMWAY_FACTS';
export const DEFAULT_DUPLICATE_WINDOW_MS = 10 * 60_000;
const DEFAULT_ACK_WAIT_MS = 30_000;
/** messages the consumer's client buffers ahead of the handler */
const CONSUME_BATCH = 256;
/** largest message of the stream (a fact batch of one fact stays well under it) */
const MAX_MSG_BYTES = 1 << 20;
const DURABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Replicas for a stream created through `nc`: 3 when the connection knows of 3 or more servers
 * in its cluster (the servers it was given and the ones the cluster announced), else 1.
 */
export const clusterReplicas = (nc: NatsConnection): number => {
  const announced = nc.info?.connect_urls?.length ?? 0;
  return announced >= 3 ? 3 : 1;
};

/** Creates the durable stream unless it exists (an existing one is left as it is). */
export const ensureDurableStream = async (
  nc: NatsConnection,
  options: DurableStreamOptions = {},
): Promise<string> => {
  const name = options.name ?? DEFAULT_DURABLE_STREAM;
  const jsm = await jetstreamManager(nc);
  const existing = await jsm.streams.info(name).catch((error: unknown) => {
    if (error instanceof JetStreamApiError && error.status === 404) return undefined;
    throw error;
  });
  if (existing !== undefined) return name;
  await jsm.streams.add({
    name,
    subjects: [...(options.subjects ?? [FleetSubjects.allFactLogs()])],
    storage: StorageType.File,
    num_replicas: options.replicas ?? clusterReplicas(nc),
    retention: RetentionPolicy.Workqueue,
    // a full stream refuses new facts (the agents keep them and publish again), never drops any
    discard: DiscardPolicy.New,
    max_msg_size: MAX_MSG_BYTES,
    duplicate_window: nanos(options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS),
  });
  return name;
};

const isClosed = (nc: NatsConnection): boolean => nc.isClosed() || nc.isDraining();

/** The port's errors for a publish that got no PubAck. */
const persistError = (subject: string, timeoutMs: number, error: unknown): unknown => {
  const e = error as { name?: string; cause?: unknown; message?: string };
  const cause = e.cause ?? error;
  if (cause instanceof TimeoutError || e.name === 'TimeoutError')
    return new BusTimeoutError(subject, timeoutMs, error);
  if (
    cause instanceof NoRespondersError ||
    e.name === 'NoRespondersError' ||
    // nats.js names a publish nobody stored (no stream on the subject) this way
    e.name === 'JetStreamNotEnabled' ||
    /no responders/i.test(e.message ?? '')
  )
    return new BusNoRespondersError(subject, error);
  if (error instanceof JetStreamApiError)
    return new AppError(`the stream refused the message on "${subject}": ${error.message}`, {
      code: 'PersistRefused',
      // a full stream, a stream without a leader: the same message may be taken later
      retryable: true,
      cause: error,
    });
  return error;
};

export interface NatsDurable {
  persist(subject: string, payload: unknown, options: PersistOptions): Promise<PersistAck>;
  consumePersisted(
    pattern: string,
    handler: PersistedHandler,
    options: ConsumeOptions,
  ): Promise<Unsubscribe>;
  /** stops every consumer, letting each finish its message in hand */
  close(): Promise<void>;
}

export const createNatsDurable = (
  nc: NatsConnection,
  input: {
    readonly maxPayloadBytes: () => number;
    readonly stream?: DurableStreamOptions;
    readonly closed: () => boolean;
  },
): NatsDurable => {
  const js = jetstream(nc);
  const loops = new Map<ConsumerMessages, Promise<void>>();
  const streamName = input.stream?.name ?? DEFAULT_DURABLE_STREAM;

  return {
    async persist(subject, payload, options) {
      if (input.closed() || isClosed(nc)) throw new BusClosedError(`persist on "${subject}"`);
      assertConcreteSubject(subject);
      const text = encodePayload(subject, payload);
      assertPayloadFits(subject, text, input.maxPayloadBytes());
      const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      try {
        const ack = await js.publish(subject, text, { msgID: options.msgId, timeout: timeoutMs });
        return { duplicate: ack.duplicate };
      } catch (error) {
        throw persistError(subject, timeoutMs, error);
      }
    },

    async consumePersisted(pattern, handler, options) {
      if (input.closed()) throw new BusClosedError(`consume "${pattern}"`);
      assertSubjectPattern(pattern);
      if (!DURABLE_NAME.test(options.durable))
        throw new AppError(
          `durable consumer name ${JSON.stringify(options.durable)}: use 1 to 64 letters, digits, _ and -`,
          { code: 'InvalidConsumerName', retryable: false },
        );
      await ensureDurableStream(nc, input.stream);
      const jsm = await jetstreamManager(nc);
      const config = {
        durable_name: options.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(input.stream?.ackWaitMs ?? DEFAULT_ACK_WAIT_MS),
        filter_subject: pattern,
        max_deliver: -1,
      };
      const known = await jsm.consumers.info(streamName, options.durable).catch(() => undefined);
      if (known === undefined) await jsm.consumers.add(streamName, config);
      const consumer = await js.consumers.get(streamName, options.durable);
      const messages = await consumer.consume({ max_messages: CONSUME_BATCH });
      let active = true;
      const retryMinMs = options.retryMinMs ?? 250;
      const handle = async (msg: JsMsg): Promise<void> => {
        let payload: unknown;
        try {
          payload = decodePayload(msg.subject, msg.data.length === 0 ? '' : msg.string());
        } catch (error) {
          // poison: never delivered again, never blocks the stream
          msg.term();
          options.onMalformed?.(
            error instanceof BusMalformedMessageError
              ? error
              : new BusMalformedMessageError(msg.subject, error),
          );
          return;
        }
        try {
          await handler({
            subject: msg.subject,
            payload,
            msgId: msg.headers?.get('Nats-Msg-Id') || undefined,
            deliveries: msg.info.deliveryCount,
          });
          msg.ack();
        } catch {
          // delivered again after a backoff (the handler logs its own failures)
          msg.nak(redeliveryDelayMs(msg.info.deliveryCount, retryMinMs));
        }
      };
      const loop = (async () => {
        for await (const msg of messages) {
          // stopping: what the client still buffers goes back to the stream at once
          if (!active) msg.nak();
          else await handle(msg);
        }
      })().catch(() => undefined);
      loops.set(messages, loop);
      return () => {
        if (!active) return;
        active = false;
        loops.delete(messages);
        void messages.close().catch(() => undefined);
      };
    },

    async close() {
      const entries = [...loops];
      loops.clear();
      await Promise.all(entries.map(([messages]) => messages.close().catch(() => undefined)));
      await Promise.all(entries.map(([, loop]) => loop));
    },
  };
};
