import type { Subscriber } from 'rxjs';
import type { NewEvent } from '../../lib/event-envelope.js';
import { InvalidAppendError, InvalidReadOptionsError } from '../errors.js';

/**
 * Validates the arguments of `EventStore.append` at the edge (they may come from untrusted
 * callers) and returns the expected version as a number, or `undefined` for `'any'`.
 * Throws `InvalidAppendError` naming the field path.
 */
export const validateAppend = (
  streamId: unknown,
  expected: unknown,
  events: unknown,
): number | undefined => {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidAppendError('streamId', 'must be a non-empty string');
  }
  if (!Array.isArray(events)) throw new InvalidAppendError('events', 'must be an array');
  for (let i = 0; i < events.length; i++) validateNewEvent(events[i], `events[${i}]`);
  if (events.length > 1) {
    const seen = new Set<string>();
    for (let i = 0; i < events.length; i++) {
      const id = (events[i] as NewEvent).id;
      if (seen.has(id)) throw new InvalidAppendError(`events[${i}].id`, `"${id}" appears twice`);
      seen.add(id);
    }
  }
  return validateExpected(expected);
};

const validateExpected = (expected: unknown): number | undefined => {
  if (expected === 'any') return undefined;
  if (expected === 'no-stream') return 0;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) {
    return expected;
  }
  throw new InvalidAppendError(
    'expected',
    `must be a version (integer >= 0), 'no-stream' or 'any', got ${JSON.stringify(expected)}`,
  );
};

const validateNewEvent = (value: unknown, path: string): void => {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidAppendError(path, 'must be an object');
  }
  const event = value as Partial<Record<keyof NewEvent, unknown>>;
  if (typeof event.id !== 'string' || event.id.length === 0) {
    throw new InvalidAppendError(`${path}.id`, 'must be a non-empty string');
  }
  if (typeof event.type !== 'string' || event.type.length === 0) {
    throw new InvalidAppendError(`${path}.type`, 'must be a non-empty string');
  }
  if (
    typeof event.schemaVersion !== 'number' ||
    !Number.isSafeInteger(event.schemaVersion) ||
    event.schemaVersion < 1
  ) {
    throw new InvalidAppendError(`${path}.schemaVersion`, 'must be an integer >= 1');
  }
  if (event.data === undefined) throw new InvalidAppendError(`${path}.data`, 'is missing');
  const metadata = event.metadata as Record<string, unknown> | undefined | null;
  if (typeof metadata !== 'object' || metadata === null) {
    throw new InvalidAppendError(`${path}.metadata`, 'must be an object');
  }
  if (typeof metadata.occurredAt !== 'string') {
    throw new InvalidAppendError(`${path}.metadata.occurredAt`, 'must be an ISO 8601 string');
  }
  if (typeof metadata.actor !== 'string') {
    throw new InvalidAppendError(`${path}.metadata.actor`, 'must be a string');
  }
};

/**
 * Validates read options at the edge: `field` must be undefined or a safe integer >= `min`.
 * Throws `InvalidReadOptionsError` naming the field.
 */
export const validateReadOption = (field: string, value: unknown, min: number): void => {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidReadOptionsError(
      field,
      `must be an integer >= ${min}, got ${JSON.stringify(value)}`,
    );
  }
};

/**
 * How every `EventStore.subscribe` starts (event-store.port.ts): a bad `after` errors the
 * subscriber, a closed store completes it at once. Answers whether the subscription goes on.
 */
export const subscriptionMayStart = (
  subscriber: Pick<Subscriber<unknown>, 'error' | 'complete'>,
  after: unknown,
  closed: boolean,
): boolean => {
  try {
    validateReadOption('after', after, 0);
  } catch (error) {
    subscriber.error(error);
    return false;
  }
  if (closed) {
    subscriber.complete();
    return false;
  }
  return true;
};
