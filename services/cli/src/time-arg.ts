/**
 * The times a command accepts (`audit state --at`, `audit actor --since/--until`, …): an RFC 3339
 * instant (`2026-11-24T14:00:00Z`, `2026-11-24T15:00:00+01:00`, or a date meaning its midnight
 * UTC), `now`, or a duration before now: `90s`, `30m`, `1h`, `2d`, `1w`, combined (`1h30m`) and
 * optionally followed by `ago`. Pure: the caller passes the clock in.
 */

export type TimeParse =
  | { readonly ok: true; readonly iso: string; readonly ms: number }
  | { readonly ok: false; readonly message: string };

const RFC3339 = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2}))?$/;
const RELATIVE = /^((?:\d{1,9}(?:ms|s|m|h|d|w))+)(?:\s+ago)?$/;
const PART = /(\d{1,9})(ms|s|m|h|d|w)/g;
const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
/** Largest duration accepted: 100 years (further back than any log). */
const MAX_AGO_MS = 100 * 365 * 86_400_000;

const EXAMPLES = `an RFC 3339 time (2026-11-24T14:00:00Z), 'now', or a duration ago (90s, 30m, 1h, 2d, 1h30m)`;

/** Parses `text` against the clock `nowMs`; the message names the text and what is accepted. */
export const parseTime = (text: string, nowMs: number): TimeParse => {
  const value = text.trim();
  const bad = (why: string): TimeParse => ({
    ok: false,
    message: `'${text}' ${why}: give ${EXAMPLES}`,
  });
  if (value === '') return bad('is empty');
  if (value.toLowerCase() === 'now') return at(nowMs);
  if (RFC3339.test(value)) {
    const ms = Date.parse(value.replace(' ', 'T'));
    if (Number.isNaN(ms)) return bad('is not a valid date or time');
    // Date.parse rolls 2026-02-30 over to March: refuse what does not read back the same day
    const day = value.slice(0, 10);
    const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
    const check = new Date(Date.UTC(y, mo - 1, d));
    if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d)
      return bad(`is not a valid date (${day})`);
    return at(ms);
  }
  const relative = RELATIVE.exec(value);
  if (relative) {
    let ms = 0;
    for (const m of relative[1]!.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    if (ms > MAX_AGO_MS) return bad('is more than 100 years ago');
    return at(nowMs - ms);
  }
  if (/^-?\d+(\.\d+)?$/.test(value)) return bad('has no unit (s, m, h, d or w)');
  return bad('is not a time');
};

const at = (ms: number): TimeParse => ({ ok: true, iso: new Date(ms).toISOString(), ms });
