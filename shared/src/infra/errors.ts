/**
 * Edge failures (STYLE.md §7): every error raised by infra code is an `AppError` with a stable
 * `code`, a `retryable` flag and the `cause` it wraps. Guards check `code`, not only
 * `instanceof`, so errors that cross realms (worker, child process, duplicated module) still match.
 */
export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly code: string;
  readonly retryable: boolean;

  constructor(message: string, options: { code: string; retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable;
  }
}

/** The codes of the event-store errors, for `isAppError(e, code)`. */
export const EventStoreErrorCode = {
  ExpectedVersionConflict: 'ExpectedVersionConflict',
  EventIdConflict: 'EventIdConflict',
  CorruptEvent: 'CorruptEvent',
  InvalidAppend: 'InvalidAppend',
  InvalidReadOptions: 'InvalidReadOptions',
  EventStoreClosed: 'EventStoreClosed',
  EventStoreUnavailable: 'EventStoreUnavailable',
  /** the backing service refused the operation for a reason a retry will not fix */
  EventStoreFailure: 'EventStoreFailure',
  /** an existing JetStream stream does not match the store's configuration */
  EventStoreMisconfigured: 'EventStoreMisconfigured',
  MigrationFailed: 'MigrationFailed',
} as const;
export type EventStoreErrorCode = (typeof EventStoreErrorCode)[keyof typeof EventStoreErrorCode];

/** The message of a thrown value, whatever was thrown (for logs and replies). */
export const errorText = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** True when `error` is an AppError (by shape, cross-realm safe), optionally with this `code`. */
export const isAppError = (error: unknown, code?: string): error is AppError => {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { code?: unknown; retryable?: unknown };
  if (typeof candidate.code !== 'string' || typeof candidate.retryable !== 'boolean') return false;
  return code === undefined || candidate.code === code;
};

/**
 * An append's expected stream version is stale: someone else appended first. Retryable: reload
 * the stream, decide again, append with the new version.
 */
export class ExpectedVersionConflictError extends AppError {
  override readonly name = 'ExpectedVersionConflictError';
  readonly streamId: string;
  readonly expected: number;
  readonly actual: number;

  constructor(streamId: string, expected: number, actual: number, cause?: unknown) {
    super(
      `stream "${streamId}": expected version ${expected}, but the stream is at version ${actual}`,
      { code: EventStoreErrorCode.ExpectedVersionConflict, retryable: true, cause },
    );
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * An append mixes event ids that are already in the log with new ones (or reuses an id of
 * another stream). Nothing was written. Not retryable: the batch itself is wrong.
 */
export class EventIdConflictError extends AppError {
  override readonly name = 'EventIdConflictError';
  readonly streamId: string;
  readonly knownIds: readonly string[];

  constructor(streamId: string, knownIds: readonly string[], detail: string) {
    super(
      `append to stream "${streamId}" refused: event id(s) ${knownIds
        .slice(0, 5)
        .map((id) => `"${id}"`)
        .join(', ')}${knownIds.length > 5 ? ` and ${knownIds.length - 5} more` : ''} ${detail}`,
      { code: EventStoreErrorCode.EventIdConflict, retryable: false },
    );
    this.streamId = streamId;
    this.knownIds = knownIds;
  }
}

/**
 * A stored event (SQLite row or JetStream message) cannot be decoded. `position` is the global
 * position of the broken entry; `resumeAfter` is the position to pass as `after` to read past it.
 */
export class CorruptEventError extends AppError {
  override readonly name = 'CorruptEventError';
  readonly position: number;
  readonly resumeAfter: number;

  constructor(
    where: string,
    position: number,
    resumeAfter: number,
    reason: string,
    cause?: unknown,
  ) {
    super(`corrupt event at ${where} (global position ${position}): ${reason}`, {
      code: EventStoreErrorCode.CorruptEvent,
      retryable: false,
      cause,
    });
    this.position = position;
    this.resumeAfter = resumeAfter;
  }
}

/** The arguments of an append are malformed (names the field path). Not retryable. */
export class InvalidAppendError extends AppError {
  override readonly name = 'InvalidAppendError';
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`invalid append: ${field} ${reason}`, {
      code: EventStoreErrorCode.InvalidAppend,
      retryable: false,
    });
    this.field = field;
  }
}

/** The options of a read (readStream, readAll, subscribe) are malformed (names the field). */
export class InvalidReadOptionsError extends AppError {
  override readonly name = 'InvalidReadOptionsError';
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`invalid read options: ${field} ${reason}`, {
      code: EventStoreErrorCode.InvalidReadOptions,
      retryable: false,
    });
    this.field = field;
  }
}

/** The store was closed; the call was not executed. */
export class EventStoreClosedError extends AppError {
  override readonly name = 'EventStoreClosedError';

  constructor(operation: string) {
    super(`event store is closed: cannot ${operation}`, {
      code: EventStoreErrorCode.EventStoreClosed,
      retryable: false,
    });
  }
}

/** The backing service did not answer (timeout, no responders, leader election). Retryable. */
export class EventStoreUnavailableError extends AppError {
  override readonly name = 'EventStoreUnavailableError';

  constructor(operation: string, cause: unknown) {
    super(`event store unavailable during ${operation}: ${describe(cause)}`, {
      code: EventStoreErrorCode.EventStoreUnavailable,
      retryable: true,
      cause,
    });
  }
}

/** A schema migration failed; names the migration. */
export class MigrationFailedError extends AppError {
  override readonly name = 'MigrationFailedError';

  constructor(folder: string, migration: string | undefined, cause: unknown) {
    super(
      `migration ${migration === undefined ? '' : `"${migration}" `}in ${folder} failed: ${describe(cause)}`,
      { code: EventStoreErrorCode.MigrationFailed, retryable: false, cause },
    );
  }
}

const describe = (cause: unknown): string =>
  cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
