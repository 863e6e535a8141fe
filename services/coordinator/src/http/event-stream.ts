/**
 * `GET /v1/events/stream`: the log as Server-Sent Events (docs/fleet-protocol.md, "Live
 * events"), fed by a subscription to the event store. Each event is `id: <global position>`,
 * `event: <type>`, `data: <ConsoleEvent JSON>`; a client that reconnects with `Last-Event-ID`
 * (or `?after=`) resumes after that position. Bounded:
 *
 * - a resume further back than `maxReplay` events is not replayed: the stream sends
 *   `event: reset` (`data: { head }`) and goes on from the head; the client reloads its views;
 * - each connection's unsent output is at most `maxBufferedBytes`: a client that reads slower
 *   than the log grows is dropped (the socket closed), never buffered without bound;
 * - at most `maxPerCredential` streams per credential and `maxStreams` in all: more are a 429.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import { decodeFleetEvent, isFleetEventType } from '@tramway/shared/contracts';
import type { EventStore, Logger } from '@tramway/shared/infra';
import type { ApiResult } from './api-result.js';
import { ApiErrorCode, failure } from './api-result.js';
import { describeEvent } from './console-views.js';

export interface EventStreamLimits {
  /** streams open at once per credential (actor) */
  readonly maxPerCredential: number;
  /** streams open at once in all */
  readonly maxStreams: number;
  /** unsent bytes a connection may hold before it is dropped */
  readonly maxBufferedBytes: number;
  /** events a resume may replay; further back, `reset` */
  readonly maxReplay: number;
  /** a comment line this often keeps proxies from closing an idle stream */
  readonly keepAliveMs: number;
}

export const DEFAULT_EVENT_STREAM_LIMITS: EventStreamLimits = {
  maxPerCredential: 4,
  maxStreams: 64,
  maxBufferedBytes: 1 << 20,
  maxReplay: 10_000,
  keepAliveMs: 15_000,
};

export interface EventStreams {
  /** a 429 when the caller is over its limit, else undefined (then call `open`) */
  refuse(actor: string): ApiResult | undefined;
  open(req: IncomingMessage, res: ServerResponse, actor: string): void;
  /** streams open now, and connections dropped for reading too slowly since start */
  counts(): { open: number; dropped: number };
  closeAll(): void;
}

const POSITION = /^[0-9]{1,15}$/;

/** Where the client says it stands: `Last-Event-ID`, else `?after=`; undefined: from the head. */
const resumeFrom = (req: IncomingMessage): number | undefined => {
  const header = req.headers['last-event-id'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value !== undefined && POSITION.test(value.trim())) return Number(value.trim());
  const after = new URL(req.url ?? '/', 'http://x').searchParams.get('after');
  return after !== null && POSITION.test(after) ? Number(after) : undefined;
};

export const createEventStreams = (
  store: EventStore,
  log: Logger,
  limits: EventStreamLimits = DEFAULT_EVENT_STREAM_LIMITS,
): EventStreams => {
  const perActor = new Map<string, number>();
  const open = new Set<() => void>();
  let dropped = 0;

  const refuse = (actor: string): ApiResult | undefined => {
    if (open.size >= limits.maxStreams)
      return failure(
        429,
        ApiErrorCode.TooManyRequests,
        `the coordinator serves ${limits.maxStreams} event streams at most: retry later`,
        undefined,
        { 'retry-after': '5' },
      );
    if ((perActor.get(actor) ?? 0) >= limits.maxPerCredential)
      return failure(
        429,
        ApiErrorCode.TooManyRequests,
        `${actor} already has ${limits.maxPerCredential} event streams open: close one first`,
        undefined,
        { 'retry-after': '5' },
      );
    return undefined;
  };

  const start = async (req: IncomingMessage, res: ServerResponse, actor: string): Promise<void> => {
    perActor.set(actor, (perActor.get(actor) ?? 0) + 1);
    /** set once the stream runs; `close` may come first */
    const running: { subscription?: Subscription; timer?: ReturnType<typeof setInterval> } = {};
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      open.delete(close);
      const n = (perActor.get(actor) ?? 1) - 1;
      if (n > 0) perActor.set(actor, n);
      else perActor.delete(actor);
      running.subscription?.unsubscribe();
      if (running.timer) clearInterval(running.timer);
      if (!res.destroyed) res.destroy();
    };
    open.add(close);
    req.on('close', close);
    res.on('close', close);
    res.on('error', close);

    /** writes a frame, or drops the client whose unsent output is already over the bound */
    const write = (frame: string): void => {
      if (closed) return;
      if (res.writableLength > limits.maxBufferedBytes) {
        dropped += 1;
        log.warn('event stream dropped: the client reads too slowly', {
          actor,
          buffered: res.writableLength,
        });
        close();
        return;
      }
      res.write(frame);
    };

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    // the first byte now: the client knows the stream is open (and when to reconnect)
    res.write('retry: 2000\n\n');
    const head = await store.headPosition();
    if (closed) return;
    let after = resumeFrom(req) ?? head;
    if (after > head || head - after > limits.maxReplay) {
      write(`event: reset\ndata: ${JSON.stringify({ head })}\n\n`);
      after = head;
    }
    running.timer = setInterval(() => write(': keep-alive\n\n'), limits.keepAliveMs);
    running.subscription = store.subscribe(after).subscribe({
      next: (recorded) => {
        if (!isFleetEventType(recorded.type)) return;
        const decoded = decodeFleetEvent(recorded);
        if (!decoded.ok) return;
        const event = describeEvent(decoded.value);
        write(`id: ${event.position}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      },
      error: () => close(),
      complete: () => close(),
    });
  };

  return {
    refuse,
    open: (req, res, actor) => {
      start(req, res, actor).catch((error: unknown) => {
        log.error('event stream failed', { error: String(error) });
        if (!res.destroyed) res.destroy();
      });
    },
    counts: () => ({ open: open.size, dropped }),
    closeAll: () => {
      for (const close of [...open]) close();
    },
  };
};
