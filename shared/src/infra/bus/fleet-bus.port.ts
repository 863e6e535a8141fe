import { AppError } from '../errors.js';

/**
 * The one transport port of the fleet (docs/fleet-protocol.md, "Subjects and messages").
 * Payloads are JSON values: every implementation encodes them as JSON, so a receiver always gets
 * its own copy, `undefined` travels as `null`, and a value JSON cannot carry (a bigint, a cycle)
 * is refused at the sender with a `BusEncodingError`. Validating a payload against its zod schema
 * is the receiver's job (`decodeMessage`, shared/src/contracts/fleet-messages.contract.ts).
 *
 * Delivery: each handler (subscriber or responder) gets its messages one at a time, in the order
 * they were published, asynchronously (never inside the publisher's call), and an async handler is
 * awaited before the next message. Core NATS semantics: at most once, no persistence.
 */
export interface FleetBus {
  /**
   * Fire and forget. Rejects (without sending) on an invalid subject, an unencodable payload, a
   * payload over the limit (`BusPayloadTooLargeError`), or a closed bus.
   */
  publish(subject: string, payload: unknown): Promise<void>;
  /**
   * Receives every message published (or requested) on subjects matching `pattern`
   * (`*` = one token, `>` = one or more trailing tokens). Throws `BusInvalidSubjectError` /
   * `BusClosedError` synchronously.
   */
  subscribe(pattern: string, handler: BusHandler): Unsubscribe;
  /**
   * Sends `payload` to one responder of `subject` and resolves with its reply. Rejects with
   * `BusTimeoutError` (retryable) after `timeoutMs` (default 5000), `BusNoRespondersError`
   * (retryable) when nobody responds on that subject, or `BusResponderError` when the responder
   * failed (its code and retryability travel back). A payload over the bus's limit
   * (`maxPayloadBytes`) rejects at the sender with `BusPayloadTooLargeError`; a reply over it is
   * replaced by an error reply and rejects with `BusReplyTooLargeError` (the responder goes on).
   */
  request(subject: string, payload: unknown, options?: RequestOptions): Promise<unknown>;
  /**
   * Answers requests on subjects matching `pattern` with what `responder` returns (or resolves
   * to). A responder that throws makes the request reject with `BusResponderError` carrying the
   * thrown error's `code` and `retryable` when it is an AppError (`ResponderFailed`, not retryable,
   * otherwise). When several responders match, exactly one answers each request (a queue group).
   */
  respond(pattern: string, responder: BusResponder): Unsubscribe;
  /**
   * At least once: resolves once the bus's durable stream holds the message (NATS: the JetStream
   * PubAck of the facts stream; in-process: the bus's queue). `msgId` deduplicates: a message
   * whose id the stream already holds (within its duplicate window) is acknowledged as
   * `duplicate` and stored once. Rejects with a retryable error when it is not acknowledged
   * (`BusTimeoutError`, `BusNoRespondersError`: no stream, no server) and the same errors as
   * `publish` otherwise; the caller keeps the message and publishes it again.
   */
  persist(subject: string, payload: unknown, options: PersistOptions): Promise<PersistAck>;
  /**
   * Consumes the durable stream's messages on subjects matching `pattern` as the durable consumer
   * `options.durable` (kept by the server across restarts: what was not acknowledged is delivered
   * again to the next consumer of that name). One message at a time, in stream order: a handler
   * that resolves acknowledges its message; one that throws has it delivered again after a
   * backoff (in-process: before the next one; NATS: later messages may come first), so the
   * handler must be idempotent and answer poison itself, by resolving. NATS: the stream (created
   * here when missing) must cover `pattern`, and one durable name serves each filter. A message whose bytes are not JSON
   * is acknowledged and reported to `options.onMalformed` (never blocks the stream). Resolves once
   * the consumer exists.
   */
  consumePersisted(
    pattern: string,
    handler: PersistedHandler,
    options: ConsumeOptions,
  ): Promise<Unsubscribe>;
  /** Resolves once every subscription made so far is effective (NATS: a server round trip). */
  flush(): Promise<void>;
  /**
   * Stops accepting calls, lets the handlers finish the messages already delivered to them, and
   * resolves. Pending requests of this bus reject with `BusClosedError`. Idempotent.
   */
  close(): Promise<void>;
}

export interface BusMessage {
  /** the concrete subject the message was sent to */
  readonly subject: string;
  /** the decoded JSON payload: unknown until validated */
  readonly payload: unknown;
}

export type BusHandler = (message: BusMessage) => void | Promise<void>;
export type BusResponder = (request: BusMessage) => unknown;
/** Stops a subscription or responder; no message is handed to it afterwards. Idempotent. */
export type Unsubscribe = () => void;

export interface PersistOptions {
  /** the idempotency key (NATS: `Nats-Msg-Id`) */
  readonly msgId: string;
  /** how long to wait for the stream's acknowledgement (default `DEFAULT_REQUEST_TIMEOUT_MS`) */
  readonly timeoutMs?: number;
}

export interface PersistAck {
  /** the stream already held a message with this id: stored once */
  readonly duplicate: boolean;
}

export interface PersistedMessage extends BusMessage {
  /** the message's id (`Nats-Msg-Id`), when it has one */
  readonly msgId: string | undefined;
  /** how many times it was delivered (1: the first time) */
  readonly deliveries: number;
}

export type PersistedHandler = (message: PersistedMessage) => Promise<void>;

export interface ConsumeOptions {
  /** the durable consumer's name (one token: letters, digits, `_`, `-`) */
  readonly durable: string;
  /** a message that is not JSON (acknowledged, never delivered to the handler) */
  readonly onMalformed?: (error: BusMalformedMessageError) => void;
  /** first redelivery delay after a handler failure, doubled up to 30 s (default 250 ms) */
  readonly retryMinMs?: number;
}

/** Redelivery delay after the `deliveries`-th failed delivery (bounded exponential backoff). */
export const redeliveryDelayMs = (deliveries: number, minMs = 250, maxMs = 30_000): number =>
  Math.min(maxMs, minMs * 2 ** Math.min(20, Math.max(0, deliveries - 1)));

export interface RequestOptions {
  /** milliseconds; default `DEFAULT_REQUEST_TIMEOUT_MS` */
  readonly timeoutMs?: number;
}

export interface FleetBusOptions {
  /**
   * Called when a subscriber throws, or when a message that is not JSON arrives (NATS only:
   * `BusMalformedMessageError`). The subscription keeps going. Default: rethrow outside the bus
   * (an escaping handler error is a bug, STYLE.md §7: it crashes the process).
   */
  readonly onHandlerError?: (error: unknown, message: { subject: string }) => void;
  /**
   * Largest encoded payload (bytes) of a message, request or reply. In-process: this, default
   * `DEFAULT_MAX_PAYLOAD_BYTES`. NATS: the server's `max_payload` from the connection's server
   * info (this option only when the server announces none).
   */
  readonly maxPayloadBytes?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** The in-process bus's payload limit, NATS's default `max_payload` rounded to 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20;

export const BusErrorCode = {
  BusTimeout: 'BusTimeout',
  BusNoResponders: 'BusNoResponders',
  ResponderFailed: 'ResponderFailed',
  BusClosed: 'BusClosed',
  BusInvalidSubject: 'BusInvalidSubject',
  BusEncoding: 'BusEncoding',
  BusMalformedMessage: 'BusMalformedMessage',
  PayloadTooLarge: 'PayloadTooLarge',
  ReplyTooLarge: 'ReplyTooLarge',
} as const;
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

/** No reply within the timeout. Retryable: the responder may be busy or restarting. */
export class BusTimeoutError extends AppError {
  override readonly name = 'BusTimeoutError';
  readonly subject: string;
  readonly timeoutMs: number;

  constructor(subject: string, timeoutMs: number, cause?: unknown) {
    super(`request on "${subject}" timed out after ${timeoutMs} ms`, {
      code: BusErrorCode.BusTimeout,
      retryable: true,
      cause,
    });
    this.subject = subject;
    this.timeoutMs = timeoutMs;
  }
}

/** Nobody responds on that subject. Retryable: the agent may not have started yet. */
export class BusNoRespondersError extends AppError {
  override readonly name = 'BusNoRespondersError';
  readonly subject: string;

  constructor(subject: string, cause?: unknown) {
    super(`no responder on "${subject}"`, {
      code: BusErrorCode.BusNoResponders,
      retryable: true,
      cause,
    });
    this.subject = subject;
  }
}

/** The responder failed; `remoteCode` and `retryable` are the responder's. */
export class BusResponderError extends AppError {
  override readonly name = 'BusResponderError';
  readonly subject: string;
  readonly remoteCode: string;

  constructor(subject: string, remoteCode: string, message: string, retryable: boolean) {
    super(`responder on "${subject}" failed (${remoteCode}): ${message}`, {
      code: BusErrorCode.ResponderFailed,
      retryable,
    });
    this.subject = subject;
    this.remoteCode = remoteCode;
  }
}

export class BusClosedError extends AppError {
  override readonly name = 'BusClosedError';

  constructor(operation: string) {
    super(`bus is closed: cannot ${operation}`, { code: BusErrorCode.BusClosed, retryable: false });
  }
}

export class BusInvalidSubjectError extends AppError {
  override readonly name = 'BusInvalidSubjectError';
  readonly subject: string;

  constructor(subject: string, reason: string) {
    super(`invalid subject ${JSON.stringify(subject)}: ${reason}`, {
      code: BusErrorCode.BusInvalidSubject,
      retryable: false,
    });
    this.subject = subject;
  }
}

/** The payload cannot be encoded as JSON (a bigint, a cycle...). Nothing was sent. */
export class BusEncodingError extends AppError {
  override readonly name = 'BusEncodingError';

  constructor(subject: string, cause: unknown) {
    super(
      `payload for "${subject}" is not JSON-encodable: ${cause instanceof Error ? cause.message : String(cause)}`,
      { code: BusErrorCode.BusEncoding, retryable: false, cause },
    );
  }
}

/** A received message's bytes are not JSON. The message is dropped (and reported). */
export class BusMalformedMessageError extends AppError {
  override readonly name = 'BusMalformedMessageError';
  readonly subject: string;

  constructor(subject: string, cause: unknown) {
    super(
      `message on "${subject}" is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
      { code: BusErrorCode.BusMalformedMessage, retryable: false, cause },
    );
    this.subject = subject;
  }
}

/** A payload to send is over the bus's limit. Nothing was sent; not retryable (it will not shrink). */
export class BusPayloadTooLargeError extends AppError {
  override readonly name = 'BusPayloadTooLargeError';
  readonly subject: string;
  readonly size: number;
  readonly limit: number;

  constructor(subject: string, size: number, limit: number) {
    super(`payload for "${subject}" is ${size} bytes, over the bus limit of ${limit} bytes`, {
      code: BusErrorCode.PayloadTooLarge,
      retryable: false,
    });
    this.subject = subject;
    this.size = size;
    this.limit = limit;
  }
}

/**
 * The responder's reply was over the bus's limit, so an error reply was sent instead (the
 * responder keeps answering). Not retryable: the same request gets the same reply.
 */
export class BusReplyTooLargeError extends AppError {
  override readonly name = 'BusReplyTooLargeError';
  readonly subject: string;

  constructor(subject: string, message: string) {
    super(`responder on "${subject}" failed (${BusErrorCode.ReplyTooLarge}): ${message}`, {
      code: BusErrorCode.ReplyTooLarge,
      retryable: false,
    });
    this.subject = subject;
  }
}

/** The message of the error reply that replaces a reply over the limit. */
export const replyTooLargeMessage = (size: number, limit: number): string =>
  `the reply is too large: ${size} bytes, over the bus limit of ${limit} bytes`;

/** The failure a requester sees for an error reply: a named error for a reply over the limit. */
export const responderFailureError = (
  subject: string,
  code: string,
  message: string,
  retryable: boolean,
): AppError =>
  code === BusErrorCode.ReplyTooLarge
    ? new BusReplyTooLargeError(subject, message)
    : new BusResponderError(subject, code, message, retryable);
