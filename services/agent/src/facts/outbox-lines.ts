/**
 * The fact outbox as lines (`facts-outbox.jsonl` after its boot header; the memory store keeps
 * the same lines): a fact as first sent, an `acked` line naming the facts the coordinator's log
 * holds, a `trimmed` line naming (id and type) acknowledged facts whose bodies were dropped. A
 * compaction rewrites the lines as one `trimmed` line, the last fact of each type (an outcome
 * the agent compares the next one with), and the facts not acknowledged yet. Pure.
 */
import type { NewEvent } from '@tramway/shared/lib';

export type OutboxLine =
  | { readonly event: NewEvent }
  | { readonly acked: readonly string[] }
  | { readonly trimmed: readonly (readonly [id: string, type: string])[] };

/** What the lines say: every fact kept whole (in order), the acknowledged ids, the trimmed ones. */
export interface OutboxRead {
  readonly events: readonly NewEvent[];
  readonly acked: ReadonlySet<string>;
  readonly trimmed: readonly (readonly [id: string, type: string])[];
}

export const EMPTY_OUTBOX: OutboxRead = { events: [], acked: new Set(), trimmed: [] };

/** One line of the file as JSON text (without its newline). */
export const encodeOutboxLine = (line: OutboxLine): string =>
  JSON.stringify('event' in line ? line.event : line);

/** Parses a line; throws on one that is neither a fact nor an ack/trim record. */
export const decodeOutboxLine = (text: string): OutboxLine => {
  const value = JSON.parse(text) as Record<string, unknown> | null;
  if (value === null || typeof value !== 'object') throw new Error('not a JSON object');
  if (Array.isArray(value['acked'])) return { acked: value['acked'] as string[] };
  if (Array.isArray(value['trimmed'])) return { trimmed: value['trimmed'] as [string, string][] };
  if (typeof value['id'] === 'string' && typeof value['type'] === 'string')
    return { event: value as unknown as NewEvent };
  throw new Error('neither a fact nor an acked/trimmed record');
};

/** Folds lines into what they say. */
export const foldOutbox = (lines: readonly OutboxLine[]): OutboxRead => {
  const events: NewEvent[] = [];
  const acked = new Set<string>();
  const trimmed: (readonly [string, string])[] = [];
  for (const line of lines) {
    if ('event' in line) events.push(line.event);
    else if ('acked' in line) for (const id of line.acked) acked.add(id);
    else trimmed.push(...line.trimmed);
  }
  return { events, acked, trimmed };
};

/** Facts kept whole that are acknowledged (what a compaction would trim). */
export const trimmable = (read: OutboxRead): number =>
  read.events.filter((e) => read.acked.has(e.id)).length;

/**
 * The same outbox in fewest lines: acknowledged facts become ids (except the last of each
 * type, kept whole and acknowledged), the others stay whole in their order.
 */
export const compactOutbox = (read: OutboxRead): OutboxLine[] => {
  const lastOfType = new Map<string, NewEvent>();
  for (const e of read.events) lastOfType.set(e.type, e);
  const keep = new Set([...lastOfType.values()].map((e) => e.id));
  const trimmed = [
    ...read.trimmed,
    ...read.events
      .filter((e) => read.acked.has(e.id) && !keep.has(e.id))
      .map((e) => [e.id, e.type] as const),
  ];
  const kept = read.events.filter((e) => !read.acked.has(e.id) || keep.has(e.id));
  const keptAcked = kept.filter((e) => read.acked.has(e.id)).map((e) => e.id);
  return [
    ...(trimmed.length === 0 ? [] : [{ trimmed }]),
    ...kept.map((event) => ({ event })),
    ...(keptAcked.length === 0 ? [] : [{ acked: keptAcked }]),
  ];
};
