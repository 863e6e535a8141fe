export type { Result } from './result.js';
export { ok, err } from './result.js';
export { assertNever } from './assert-never.js';
export type { EventMetadata, NewEvent, RecordedEvent } from './event-envelope.js';
export { decodeUtf8, encodeUtf8, isAscii } from './utf8.js';
export type { Errno } from './errno.js';
export { ERRNO_ALIASES, ERRNO_NUMBERS, errnoNumber, isErrno } from './errno.js';
export type {
  AttachName,
  AttachPath,
  AttachType,
  KernelProfile,
  MultiLinkProfile,
  TracingKind,
} from './kernel-vocabulary.js';
export {
  ATTACH_PATHS,
  ATTACH_TYPES,
  attachTypeOf,
  formatAttachName,
  isKernelProfile,
  KERNEL_PROFILES,
  MULTI_ATTACH_TYPES,
  MULTI_LINK_PROFILES,
  parseAttachName,
  SINGLE_ATTACH_TYPES,
} from './kernel-vocabulary.js';
export { isoOfEpochMs } from './iso-instant.js';
export { MAX_NESTING_DEPTH, nestingExceeds } from './nesting-depth.js';
export { ownEntry } from './own-entry.js';
export type { LabelBound } from './metric-labels.js';
export {
  attachPathOfType,
  closedLabel,
  createLabelBound,
  errnoLabel,
  OVERFLOW_LABEL,
  statusClass,
  topN,
} from './metric-labels.js';
