import { describe, expect, it } from 'vitest';
import { parseTime } from '../../../services/cli/src/time-arg.js';
import { parseInstant } from '../../../services/cli/src/commands/audit-args.js';
import { UsageError } from '../../../services/cli/src/cli-command.js';

const NOW = Date.parse('2026-12-02T10:00:00.000Z');
const iso = (text: string): string => {
  const r = parseTime(text, NOW);
  if (!r.ok) throw new Error(r.message);
  return r.iso;
};
const problem = (text: string): string => {
  const r = parseTime(text, NOW);
  if (r.ok) throw new Error(`${text} parsed as ${r.iso}`);
  return r.message;
};

describe('parseTime', () => {
  it('reads RFC 3339 instants with Z or an offset, and a date as its midnight UTC', () => {
    expect(iso('2026-11-24T14:00:00Z')).toBe('2026-11-24T14:00:00.000Z');
    expect(iso('2026-11-24T15:00:00+01:00')).toBe('2026-11-24T14:00:00.000Z');
    expect(iso('2026-11-24t14:00:00.123456z')).toBe('2026-11-24T14:00:00.123Z');
    expect(iso('2026-11-24 14:00Z')).toBe('2026-11-24T14:00:00.000Z');
    expect(iso('2026-11-24')).toBe('2026-11-24T00:00:00.000Z');
  });

  it('reads now and durations before now, alone, combined or followed by "ago"', () => {
    expect(iso('now')).toBe('2026-12-02T10:00:00.000Z');
    expect(iso('NOW')).toBe('2026-12-02T10:00:00.000Z');
    expect(iso('90s')).toBe('2026-12-02T09:58:30.000Z');
    expect(iso('30m')).toBe('2026-12-02T09:30:00.000Z');
    expect(iso('1h')).toBe('2026-12-02T09:00:00.000Z');
    expect(iso('2d')).toBe('2026-11-30T10:00:00.000Z');
    expect(iso('1w')).toBe('2026-11-25T10:00:00.000Z');
    expect(iso('1h30m')).toBe('2026-12-02T08:30:00.000Z');
    expect(iso('1h ago')).toBe('2026-12-02T09:00:00.000Z');
    expect(iso('250ms')).toBe('2026-12-02T09:59:59.750Z');
  });

  it('refuses bad input naming it and saying what is accepted', () => {
    expect(problem('tuesday')).toBe(
      "'tuesday' is not a time: give an RFC 3339 time (2026-11-24T14:00:00Z), 'now', or a duration ago (90s, 30m, 1h, 2d, 1h30m)",
    );
    expect(problem('')).toMatch(/^'' is empty: give /);
    expect(problem('15')).toMatch(/^'15' has no unit \(s, m, h, d or w\)/);
    expect(problem('1y')).toMatch(/is not a time/);
    expect(problem('-1h')).toMatch(/is not a time/);
    expect(problem('1h later')).toMatch(/is not a time/);
    expect(problem('2026-02-30T00:00:00Z')).toMatch(/is not a valid date \(2026-02-30\)/);
    expect(problem('2026-13-01')).toMatch(/is not a valid date/);
    expect(problem('2026-11-24T14:00:00')).toMatch(/is not a time/); // no zone: ambiguous
    expect(problem('999999999w')).toMatch(/more than 100 years ago/);
  });
});

describe('parseInstant (the audit options)', () => {
  it('names the option in the usage error', () => {
    expect(parseInstant('--since', '1h', NOW)).toBe('2026-12-02T09:00:00.000Z');
    expect(() => parseInstant('--at', 'soon', NOW)).toThrow(UsageError);
    expect(() => parseInstant('--at', 'soon', NOW)).toThrow(/^--at 'soon' is not a time: give /);
  });
});
