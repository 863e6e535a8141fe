import type { EventMetadata, NewEvent, RecordedEvent } from '../../lib/event-envelope.js';

/**
 * The JetStream message body of one append (a "commit", eventlog-notes §2.2): all events of one
 * append travel in ONE message, so they are stored atomically.
 *
 * Global positions: the message's stream sequence times POSITIONS_PER_MESSAGE plus the event's
 * index in the commit, i.e. `seq * 1000 + index`. Positions are strictly increasing over the log
 * (sequences are, and index < 1000), not dense, and `floor(position / 1000)` is the sequence.
 */
export interface Commit {
  readonly streamId: string;
  /** stream version of the first event of the commit */
  readonly version: number;
  readonly recordedAt: string;
  readonly events: readonly NewEvent[];
}

export const POSITIONS_PER_MESSAGE = 1000;
/** At most this many events per append on JetStream (positions would overlap beyond). */
export const MAX_EVENTS_PER_COMMIT = POSITIONS_PER_MESSAGE;

export const positionOf = (seq: number, index: number): number =>
  seq * POSITIONS_PER_MESSAGE + index;
export const sequenceOf = (position: number): number =>
  Math.floor(position / POSITIONS_PER_MESSAGE);

export const encodeCommit = (commit: Commit): string =>
  JSON.stringify({
    streamId: commit.streamId,
    version: commit.version,
    recordedAt: commit.recordedAt,
    events: commit.events.map(({ id, type, schemaVersion, data, metadata }) => ({
      id,
      type,
      schemaVersion,
      data,
      metadata,
    })),
  });

/** Decodes a message body; returns a reason string when it is not a valid commit. */
export const decodeCommit = (body: string): Commit | string => {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return `body is not valid JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  if (typeof value !== 'object' || value === null) return 'body is not a JSON object';
  const commit = value as Record<string, unknown>;
  if (typeof commit.streamId !== 'string' || commit.streamId.length === 0) {
    return 'field streamId is not a non-empty string';
  }
  if (!Number.isSafeInteger(commit.version) || (commit.version as number) < 1) {
    return 'field version is not an integer >= 1';
  }
  if (typeof commit.recordedAt !== 'string') return 'field recordedAt is not a string';
  if (!Array.isArray(commit.events) || commit.events.length === 0) {
    return 'field events is not a non-empty array';
  }
  if (commit.events.length > MAX_EVENTS_PER_COMMIT) return 'field events has too many entries';
  for (let i = 0; i < commit.events.length; i++) {
    const event = commit.events[i] as Record<string, unknown> | null;
    if (typeof event !== 'object' || event === null) return `events[${i}] is not an object`;
    if (typeof event.id !== 'string') return `events[${i}].id is not a string`;
    if (typeof event.type !== 'string') return `events[${i}].type is not a string`;
    if (!Number.isSafeInteger(event.schemaVersion)) {
      return `events[${i}].schemaVersion is not an integer`;
    }
    if (!('data' in event)) return `events[${i}].data is missing`;
    const metadata = event.metadata as Record<string, unknown> | null;
    if (typeof metadata !== 'object' || metadata === null) {
      return `events[${i}].metadata is not an object`;
    }
  }
  return value as Commit;
};

/** The recorded events of a decoded commit stored at stream sequence `seq`. */
export const recordedEventsOf = (commit: Commit, seq: number): RecordedEvent[] =>
  commit.events.map((event, index) => ({
    id: event.id,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata as EventMetadata,
    streamId: commit.streamId,
    streamVersion: commit.version + index,
    globalPosition: positionOf(seq, index),
    recordedAt: commit.recordedAt,
  }));

/**
 * A 30-bit hash of an event id (FNV-1a over UTF-16 code units), small enough for V8 to keep as a
 * small integer. The JetStream store remembers ids this way: a miss proves an id is new.
 */
export const idHash = (id: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
};
