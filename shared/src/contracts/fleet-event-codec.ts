/**
 * Decoding of recorded fleet events (validate, upcast, validate) and encoding of new ones.
 * Untrusted input stops here: what passes has exactly the current `FleetEvent` shape.
 */
import type { z } from 'zod';
import type { EventMetadata, NewEvent, RecordedEvent } from '../lib/event-envelope.js';
import type { Result } from '../lib/result.js';
import { err, ok } from '../lib/result.js';
import type { FleetEvent, FleetRecordedEvent } from '../domain/fleet.events.js';
import { belongsToStream, streamOf } from '../domain/fleet-streams.js';
import {
  CURRENT_SCHEMA_VERSION,
  FLEET_EVENT_SCHEMAS,
  isFleetEventType,
} from './fleet-events.contract.js';
import { UPCASTERS } from './upcasters.js';
import { FAST_CHECKS } from './fast-checks.js';

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

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const isLeap = (year: number): boolean => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

/** The two-digit number at `i` in `v`, or -1 when either character is not a digit. */
const twoDigits = (v: string, i: number): number => {
  const a = v.charCodeAt(i) - 48;
  const b = v.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
};

/**
 * The form every timestamp of the log has (`Date#toISOString`: `YYYY-MM-DDTHH:MM:SS.sssZ`),
 * checked without a regex match and its capture strings; true only for a valid instant.
 */
const isCanonicalInstant = (v: string): boolean => {
  if (v.length !== 24 || v.charCodeAt(23) !== 90 /* Z */) return false;
  if (v[4] !== '-' || v[7] !== '-' || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':') return false;
  if (v[19] !== '.') return false;
  const century = twoDigits(v, 0);
  const yy = twoDigits(v, 2);
  const month = twoDigits(v, 5);
  const day = twoDigits(v, 8);
  const ms = twoDigits(v, 20);
  const ms3 = v.charCodeAt(22) - 48;
  if (century < 0 || yy < 0 || ms < 0 || ms3 < 0 || ms3 > 9) return false;
  const days = month === 2 && isLeap(century * 100 + yy) ? 29 : DAYS_IN_MONTH[month - 1];
  const hour = twoDigits(v, 11);
  const minute = twoDigits(v, 14);
  const second = twoDigits(v, 17);
  return (
    days !== undefined &&
    day >= 1 &&
    day <= days &&
    hour >= 0 &&
    hour <= 23 &&
    minute >= 0 &&
    minute <= 59 &&
    second >= 0 &&
    second <= 59
  );
};

/** ISO 8601 date-time with seconds and a Z or ±hh:mm offset, every field in range (as zod's `z.iso.datetime`). */
const isIsoDateTime = (v: string): boolean => {
  if (isCanonicalInstant(v)) return true;
  const m = ISO_DATETIME.exec(v);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const days = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1];
  return (
    days !== undefined &&
    day >= 1 &&
    day <= days &&
    Number(m[4]) <= 23 &&
    Number(m[5]) <= 59 &&
    Number(m[6]) <= 59 &&
    (m[7] === undefined || (Number(m[8]) <= 23 && Number(m[9]) <= 59))
  );
};

const METADATA_KEYS = new Set([
  'occurredAt',
  'actor',
  'correlationId',
  'causationId',
  'onBehalfOf',
]);

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;

/**
 * The envelope check of `RECORDED_ENVELOPE_SCHEMA`, hand-written because it runs on every event
 * of every replay (a third of zod's decode time); test/unit/contracts checks that both agree.
 */
type Problem = { readonly path: string; readonly problem: string } | undefined;

// Module-level (not per call): these run for every event of every replay.
const checkText = (path: string, v: unknown): Problem =>
  typeof v !== 'string'
    ? { path, problem: `Invalid input: expected string, received ${typeName(v)}` }
    : v.length === 0
      ? { path, problem: 'Too small: expected string to have >=1 characters' }
      : undefined;
const checkPositive = (path: string, v: unknown): Problem =>
  typeof v !== 'number' || !Number.isSafeInteger(v)
    ? { path, problem: `Invalid input: expected int, received ${typeName(v)}` }
    : v <= 0
      ? { path, problem: 'Too small: expected number to be >0' }
      : undefined;
const checkInstant = (path: string, v: unknown): Problem =>
  checkText(path, v) ??
  (isIsoDateTime(v as string) ? undefined : { path, problem: 'Invalid ISO datetime' });
const checkOptionalText = (path: string, v: unknown): Problem =>
  v === undefined ? undefined : checkText(path, v);

const checkEnvelope = (raw: Record<string, unknown>): Problem => {
  const metadata = raw['metadata'];
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    return {
      path: 'metadata',
      problem: `Invalid input: expected object, received ${typeName(metadata)}`,
    };
  }
  const m = metadata as Record<string, unknown>;
  for (const key in m) {
    if (!METADATA_KEYS.has(key)) {
      return checkMetadata(raw, m) ?? { path: `metadata.${key}`, problem: 'unknown field' };
    }
  }
  return checkMetadata(raw, m);
};

const checkMetadata = (raw: Record<string, unknown>, m: Record<string, unknown>): Problem =>
  checkText('id', raw['id']) ??
  checkText('type', raw['type']) ??
  checkPositive('schemaVersion', raw['schemaVersion']) ??
  checkText('streamId', raw['streamId']) ??
  checkPositive('streamVersion', raw['streamVersion']) ??
  checkPositive('globalPosition', raw['globalPosition']) ??
  checkInstant('recordedAt', raw['recordedAt']) ??
  checkInstant('metadata.occurredAt', m['occurredAt']) ??
  checkText('metadata.actor', m['actor']) ??
  checkOptionalText('metadata.correlationId', m['correlationId']) ??
  checkOptionalText('metadata.causationId', m['causationId']) ??
  checkOptionalText('metadata.onBehalfOf', m['onBehalfOf']);

const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

const failure = (raw: Record<string, unknown>, path: string, problem: string) =>
  err<EventDecodeFailure>({
    eventType: str(raw['type'], '?'),
    eventId: str(raw['id'], '?'),
    globalPosition: num(raw['globalPosition']),
    streamId: str(raw['streamId'], '?'),
    schemaVersion: num(raw['schemaVersion']),
    path,
    problem,
  });

/**
 * Validates a recorded event, lifts old schema versions with the upcasters, and returns the
 * event in its current shape. Rejects (as data) an unknown type, a version newer than this
 * code knows, a field that does not match its schema, or an event in the wrong stream.
 */
export const decodeFleetEvent = (
  recorded: RecordedEvent,
): Result<FleetRecordedEvent, EventDecodeFailure> => {
  const raw = recorded as unknown as Record<string, unknown>;
  const envelopeProblem = checkEnvelope(raw);
  if (envelopeProblem) return failure(raw, envelopeProblem.path, envelopeProblem.problem);
  const { type, schemaVersion } = recorded;
  if (!isFleetEventType(type))
    return failure(raw, 'type', `unknown event type ${JSON.stringify(type)}`);
  const current = CURRENT_SCHEMA_VERSION[type];
  if (schemaVersion > current) {
    return failure(
      raw,
      'schemaVersion',
      `version ${schemaVersion} is newer than the known ${current}`,
    );
  }
  const versions = FLEET_EVENT_SCHEMAS[type] as Readonly<Record<number, z.ZodType>>;
  let data: unknown = raw['data'];
  for (let v = schemaVersion; v <= current; v++) {
    const schema = versions[v];
    if (!schema) return failure(raw, 'schemaVersion', `no schema for version ${v}`);
    if (FAST_CHECKS[type]?.[v]?.(data) !== true) {
      const parsed = schema.safeParse(data);
      if (!parsed.success) {
        const issue = firstIssue(parsed.error, ['data']);
        return failure(
          raw,
          issue.path,
          v === schemaVersion ? issue.problem : `${issue.problem} (after upcasting to v${v})`,
        );
      }
      data = parsed.data;
    }
    if (v < current) {
      const up = UPCASTERS[type]?.[v];
      if (!up) return failure(raw, 'schemaVersion', `no upcaster from version ${v}`);
      data = up(data as Record<string, unknown>);
    }
  }
  const event = { type, data } as FleetEvent;
  if (!belongsToStream(event, recorded.streamId)) {
    return failure(raw, 'streamId', `a ${type} belongs to stream ${streamOf(event)}`);
  }
  return ok({
    id: recorded.id,
    type,
    schemaVersion: current,
    data,
    metadata: recorded.metadata,
    streamId: recorded.streamId,
    streamVersion: recorded.streamVersion,
    globalPosition: recorded.globalPosition,
    recordedAt: recorded.recordedAt,
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
