/**
 * The live feed: `GET /v1/events/stream` (Server-Sent Events) read with fetch, since EventSource
 * cannot send the bearer token. Each event's `id` is its log position; after a drop the stream
 * is opened again with `Last-Event-ID` set to the last position seen, so nothing is missed and
 * nothing repeats. `reset` (the coordinator would not replay that far back) means: reload.
 */
import { storedToken } from './api.js';
import type { ConsoleEvent } from './types.js';

export type LiveStatus = 'connecting' | 'live' | 'offline';

export interface LiveHandlers {
  readonly event: (e: ConsoleEvent) => void;
  readonly reset: (head: number) => void;
  readonly status: (s: LiveStatus) => void;
}

export interface Live {
  stop(): void;
  /** the last log position received */
  lastId(): number | undefined;
}

/** Splits an SSE byte stream into events (fields `id`, `event`, `data`; comments ignored). */
export const parseSse = (
  buffer: string,
  emit: (frame: { id?: string; event?: string; data: string }) => void,
): string => {
  let rest = buffer;
  for (;;) {
    const end = rest.indexOf('\n\n');
    if (end < 0) return rest;
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    const frame: { id?: string; event?: string; data: string } = { data: '' };
    let hasData = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') frame.id = value;
      else if (field === 'event') frame.event = value;
      else if (field === 'data') {
        frame.data = hasData ? `${frame.data}\n${value}` : value;
        hasData = true;
      }
    }
    if (hasData) emit(frame);
  }
};

export const startLive = (handlers: LiveHandlers, after?: number): Live => {
  let last: number | undefined = after;
  let stopped = false;
  let controller: AbortController | undefined;
  let delay = 1000;

  const run = async (): Promise<void> => {
    while (!stopped) {
      handlers.status('connecting');
      controller = new AbortController();
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        const token = storedToken();
        if (token !== null) headers['authorization'] = `Bearer ${token}`;
        if (last !== undefined) headers['last-event-id'] = String(last);
        const res = await fetch('/v1/events/stream', {
          headers,
          cache: 'no-store',
          credentials: 'omit',
          signal: controller.signal,
        });
        if (!res.ok || res.body === null) throw new Error(`event stream: HTTP ${res.status}`);
        handlers.status('live');
        delay = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer = parseSse(buffer + value, (frame) => {
            if (frame.event === 'reset') {
              const { head } = JSON.parse(frame.data) as { head: number };
              last = head;
              handlers.reset(head);
              return;
            }
            if (frame.id !== undefined && /^[0-9]+$/.test(frame.id)) last = Number(frame.id);
            handlers.event(JSON.parse(frame.data) as ConsoleEvent);
          });
        }
      } catch {
        // dropped or refused: try again after a while (growing to 15 s)
      }
      if (stopped) return;
      handlers.status('offline');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(15_000, delay * 2);
    }
  };
  void run();
  return {
    stop: () => {
      stopped = true;
      controller?.abort();
    },
    lastId: () => last,
  };
};
