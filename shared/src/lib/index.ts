export type { Result } from './result.js';
export { ok, err } from './result.js';
export { assertNever } from './assert-never.js';
export type { EventMetadata, NewEvent, RecordedEvent } from './event-envelope.js';
export { decodeUtf8, encodeUtf8, isAscii } from './utf8.js';
export { isoOfEpochMs } from './iso-instant.js';
