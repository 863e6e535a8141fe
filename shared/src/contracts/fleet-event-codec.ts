/**
 * Decoding of recorded fleet events (validate, upcast, validate) and encoding of new ones.
 * Untrusted input stops here: what passes has exactly the current `FleetEvent` shape.
 */
import type { z } from 'zod';
import type { EventMetadata, NewEvent, RecordedEvent } from '../lib/event-envelope.js';
import type { Result } from '../lib/result.js';
import { err, ok } from '../lib/result.js';
import type { FleetEvent, FleetRecordedEvent } from '../domain/fleet.events.js';
import { streamOf } from '../domain/fleet-streams.js';
import {
  CURRENT_SCHEMA_VERSION,
  FLEET_EVENT_SCHEMAS,
  isFleetEventType,
} from './fleet-events.contract.js';
import { UPCASTERS } from './upcasters.js';

/** Why an event could not be decoded: the event (type, id, position) and the field path. */
export interface EventDecodeFailure {
  readonly eventType: string;
  readonly eventId: string;
  readonly globalPosition: number;
  readonly streamId: string;
  readonly schemaVersion: number;
  /** field path inside the recorded event, e.g. `data.connections[2].cookie` ('' = the event) */
  readonly path: string;
  readonly problem: string;
}

export const describeDecodeFailure = (f: EventDecodeFailure): string =>
  `${f.eventType} v${f.schemaVersion} (id ${f.eventId}, position ${f.globalPosition}, stream ${f.streamId}): ` +
  `${f.path === '' ? '' : `${f.path}: `}${f.problem}`;

/** A malformed event in the log. Not retryable: reading it again gives the same bytes. */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
  readonly code = 'EventDecodeFailed';
  readonly retryable = false;
  readonly failure: EventDecodeFailure;
  constructor(failure: EventDecodeFailure) {
    super(describeDecodeFailure(failure));
    this.failure = failure;
  }
}

/** `['data', 'connections', 2, 'cookie']` -> `data.connections[2].cookie` */
export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    const k = String(key);
    return acc === '' ? k : `${acc}.${k}`;
  }, '');

const firstIssue = (
  error: z.ZodError,
  prefix: readonly PropertyKey[],
): { path: string; problem: string } => {
  const issue = error.issues[0];
  if (!issue) return { path: formatPath(prefix), problem: 'invalid' };
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    return { path: formatPath([...path, issue.keys[0] ?? '']), problem: 'unknown field' };
  }
  return { path: formatPath(path), problem: issue.message };
};

const ISO_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** ISO 8601 date-time with seconds and a Z or ±hh:mm offset, every field in range (as zod's `z.iso.datetime`). */
const isIsoDateTime = (v: string): boolean => {
  const m = ISO_DATETIME.exec(v);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1];
  const offsetOk = m[7] === undefined || (Number(m[8]) <= 23 && Number(m[9]) <= 59);
  return (
    days !== undefined &&
    day! >= 1 &&
    day! <= days &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    offsetOk
  );
};
const METADATA_KEYS = new Set(['occurredAt', 'actor', 'correlationId', 'causationId']);

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;

/**
 * The envelope check of `RECORDED_ENVELOPE_SCHEMA`, hand-written because it runs on every event
 * of every replay (a third of zod's decode time); test/unit/contracts checks that both agree.
 */
const checkEnvelope = (
  raw: Record<string, unknown>,
): { path: string; problem: string } | undefined => {
  const text = (path: string, v: unknown) =>
    typeof v !== 'string'
      ? { path, problem: `Invalid input: expected string, received ${typeName(v)}` }
      : v.length === 0
        ? { path, problem: 'Too small: expected string to have >=1 characters' }
        : undefined;
  const positive = (path: string, v: unknown) =>
    typeof v !== 'number' || !Number.isSafeInteger(v)
      ? { path, problem: `Invalid input: expected int, received ${typeName(v)}` }
      : v <= 0
        ? { path, problem: 'Too small: expected number to be >0' }
        : undefined;
  const instant = (path: string, v: unknown) =>
    text(path, v) ??
    (isIsoDateTime(v as string) ? undefined : { path, problem: 'Invalid ISO datetime' });
  const metadata = raw['metadata'];
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    return {
      path: 'metadata',
      problem: `Invalid input: expected object, received ${typeName(metadata)}`,
    };
  }
  const m = metadata as Record<string, unknown>;
  const unknownKey = Object.keys(m).find((k) => !METADATA_KEYS.has(k));
  return (
    text('id', raw['id']) ??
    text('type', raw['type']) ??
    positive('schemaVersion', raw['schemaVersion']) ??
    text('streamId', raw['streamId']) ??
    positive('streamVersion', raw['streamVersion']) ??
    positive('globalPosition', raw['globalPosition']) ??
    instant('recordedAt', raw['recordedAt']) ??
    instant('metadata.occurredAt', m['occurredAt']) ??
    text('metadata.actor', m['actor']) ??
    (m['correlationId'] === undefined
      ? undefined
      : text('metadata.correlationId', m['correlationId'])) ??
    (m['causationId'] === undefined ? undefined : text('metadata.causationId', m['causationId'])) ??
    (unknownKey === undefined
      ? undefined
      : { path: `metadata.${unknownKey}`, problem: 'unknown field' })
  );
};

const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/**
 * Validates a recorded event, lifts old schema versions with the upcasters, and returns the
 * event in its current shape. Rejects (as data) an unknown type, a version newer than this
 * code knows, a field that does not match its schema, or an event in the wrong stream.
 */
export const decodeFleetEvent = (
  recorded: RecordedEvent,
): Result<FleetRecordedEvent, EventDecodeFailure> => {
  const raw = recorded as unknown as Record<string, unknown>;
  const fail = (path: string, problem: string) =>
    err<EventDecodeFailure>({
      eventType: str(raw['type'], '?'),
      eventId: str(raw['id'], '?'),
      globalPosition: num(raw['globalPosition']),
      streamId: str(raw['streamId'], '?'),
      schemaVersion: num(raw['schemaVersion']),
      path,
      problem,
    });

  const envelopeProblem = checkEnvelope(raw);
  if (envelopeProblem) return fail(envelopeProblem.path, envelopeProblem.problem);
  const envelope = { data: recorded };
  const { type, schemaVersion } = recorded;
  if (!isFleetEventType(type)) return fail('type', `unknown event type ${JSON.stringify(type)}`);
  const current = CURRENT_SCHEMA_VERSION[type];
  if (schemaVersion > current) {
    return fail('schemaVersion', `version ${schemaVersion} is newer than the known ${current}`);
  }
  const versions = FLEET_EVENT_SCHEMAS[type] as Readonly<Record<number, z.ZodType>>;
  let data: unknown = raw['data'];
  for (let v = schemaVersion; v <= current; v++) {
    const schema = versions[v];
    if (!schema) return fail('schemaVersion', `no schema for version ${v}`);
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const issue = firstIssue(parsed.error, ['data']);
      return fail(
        issue.path,
        v === schemaVersion ? issue.problem : `${issue.problem} (after upcasting to v${v})`,
      );
    }
    data = parsed.data;
    if (v < current) {
      const up = UPCASTERS[type]?.[v];
      if (!up) return fail('schemaVersion', `no upcaster from version ${v}`);
      data = up(data as Record<string, unknown>);
    }
  }
  const event = { type, data } as FleetEvent;
  const expectedStream = streamOf(event);
  if (envelope.data.streamId !== expectedStream) {
    return fail('streamId', `a ${type} belongs to stream ${expectedStream}`);
  }
  const metadata: EventMetadata = envelope.data.metadata;
  return ok({
    id: envelope.data.id,
    type,
    schemaVersion: current,
    data,
    metadata,
    streamId: envelope.data.streamId,
    streamVersion: envelope.data.streamVersion,
    globalPosition: envelope.data.globalPosition,
    recordedAt: envelope.data.recordedAt,
  } as FleetRecordedEvent);
};

/** As `decodeFleetEvent`, but throws `EventDecodeError`: for replays that must stop on corruption. */
export const decodeFleetEventOrThrow = (recorded: RecordedEvent): FleetRecordedEvent => {
  const result = decodeFleetEvent(recorded);
  if (!result.ok) throw new EventDecodeError(result.error);
  return result.value;
};

/** A fleet event ready to append, with its stream. Its data is validated against the current schema. */
export interface EncodedFleetEvent {
  readonly streamId: string;
  readonly event: NewEvent;
}

/**
 * Builds the `NewEvent` for `event` at its current schema version, and the stream it belongs to.
 * Throws `TypeError` naming the field when `event.data` does not match its schema: a producer bug.
 */
export const encodeFleetEvent = (
  event: FleetEvent,
  envelope: { readonly id: string; readonly metadata: EventMetadata },
): EncodedFleetEvent => {
  const version = CURRENT_SCHEMA_VERSION[event.type];
  const schema = (FLEET_EVENT_SCHEMAS[event.type] as Readonly<Record<number, z.ZodType>>)[version];
  const parsed = schema?.safeParse(event.data);
  if (!parsed?.success) {
    const issue = parsed ? firstIssue(parsed.error, ['data']) : { path: '', problem: 'no schema' };
    throw new TypeError(`${event.type} v${version}: ${issue.path}: ${issue.problem}`);
  }
  return {
    streamId: streamOf(event),
    event: {
      id: envelope.id,
      type: event.type,
      schemaVersion: version,
      data: parsed.data,
      metadata: envelope.metadata,
    },
  };
};
