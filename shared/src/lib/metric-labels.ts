/**
 * Label values of the Prometheus metrics (docs/metrics.md, "Label cardinality"). Every label
 * takes its values from a closed set (attach paths, errno names, status classes) or from a
 * bounded one (policy names, node ids): a series per value lives as long as the process, so an
 * unbounded value (a function name, a user's string) would grow memory and the scraper's index
 * without end. Pure: the services declare the metrics, these decide the values.
 */
import { ERRNO_NUMBERS, isErrno } from './errno.js';
import type { AttachPath, AttachType } from './kernel-vocabulary.js';

/** The label value that stands for every value past a bound. */
export const OVERFLOW_LABEL = '_other';

/**
 * The rung of the fallback ladder (ARCHITECTURE.md, "The kernel driver") a link of `attachType`
 * was attached on: a tracing multi-link, one fentry/fexit/fmod_ret link per function, or
 * kprobe.multi.
 */
export const attachPathOfType = (attachType: AttachType): AttachPath =>
  attachType === 'BPF_TRACE_KPROBE_MULTI'
    ? 'kprobe-multi'
    : attachType.endsWith('_MULTI')
      ? 'tracing-multi'
      : 'fentry-per-function';

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ERRNO_NUMBERS)
    // the first canonical name of a value wins (ERRNO_NUMBERS lists canonical names only)
    .reverse()
    .map(([name, value]) => [value, name] as const),
);

/**
 * The errno label of a refusal: its canonical name (`ENOSPC`) for a known name or number
 * (positive or negative, as the kernel returns it), `OVERFLOW_LABEL` for anything else.
 */
export const errnoLabel = (errno: number | string): string => {
  if (typeof errno === 'string') return isErrno(errno) ? errno : OVERFLOW_LABEL;
  return ERRNO_NAMES.get(Math.abs(errno)) ?? OVERFLOW_LABEL;
};

/** `2xx`, `4xx`...: the class of an HTTP status, `other` outside 100-599. */
export const statusClass = (status: number): string =>
  Number.isInteger(status) && status >= 100 && status <= 599
    ? `${Math.floor(status / 100)}xx`
    : 'other';

/**
 * The value itself when it belongs to `allowed`, `OVERFLOW_LABEL` otherwise (a closed set
 * whose members are known when the metric is declared: event types, HTTP methods).
 */
export const closedLabel = (allowed: ReadonlySet<string>, value: string): string =>
  allowed.has(value) ? value : OVERFLOW_LABEL;

/** A label whose values are admitted first come, first served, up to a bound. */
export interface LabelBound {
  /** `value` while fewer than `max` distinct values were admitted (or it was), else `OVERFLOW_LABEL` */
  label(value: string): string;
  /** distinct values admitted so far (at most `max`) */
  size(): number;
}

/**
 * Bounds a label whose values come from outside a closed set (policy names: bounded by the
 * policies applied, which the operator controls, but never trusted to be few): the first `max`
 * distinct values are kept, every later one is counted under `OVERFLOW_LABEL`, so one label
 * never has more than `max + 1` values however many names the process sees.
 */
export const createLabelBound = (max: number): LabelBound => {
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`a label bound must be a positive integer, not ${max}`);
  const admitted = new Set<string>();
  return {
    label: (value) => {
      if (admitted.has(value)) return value;
      if (admitted.size >= max || value === OVERFLOW_LABEL) return OVERFLOW_LABEL;
      admitted.add(value);
      return value;
    },
    size: () => admitted.size,
  };
};

/**
 * The `n` entries with the largest `score`, largest first, ties broken by `key` (so that the
 * same state always yields the same series): how a per-(node, function) figure is exposed
 * without a series per function.
 */
export const topN = <T>(
  entries: Iterable<T>,
  n: number,
  score: (entry: T) => number,
  key: (entry: T) => string,
): T[] => {
  if (n <= 0) return [];
  /** a before b: higher score, then smaller key */
  const before = (a: { s: number; e: T }, b: { s: number; e: T }): boolean =>
    a.s !== b.s ? a.s > b.s : key(a.e) < key(b.e);
  // a selection kept sorted, at most n long: O(entries x n), no sort of every entry (a scrape
  // walks every trampoline of the fleet for the 10 fullest)
  const kept: { s: number; e: T }[] = [];
  for (const e of entries) {
    const item = { s: score(e), e };
    if (kept.length === n && !before(item, kept[n - 1]!)) continue;
    let i = kept.length;
    while (i > 0 && before(item, kept[i - 1]!)) i--;
    kept.splice(i, 0, item);
    if (kept.length > n) kept.pop();
  }
  return kept.map((k) => k.e);
};
