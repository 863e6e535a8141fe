import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoOfEpochMs } from '@tramway/shared/lib';

/** 9999-12-31T23:59:59.999Z: the last instant `toISOString` writes with a 4-digit year. */
const MAX_MS = 253_402_300_799_999;
const DAY_MS = 86_400_000;

describe('isoOfEpochMs', () => {
  it('writes what Date#toISOString writes for every integer ms from 1970 to the end of 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MS }), (ms) => {
        expect(isoOfEpochMs(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  it('gets the instants around each midnight right (month, year and leap-day edges)', () => {
    const lastDay = Math.floor(MAX_MS / DAY_MS);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: lastDay }),
        fc.constantFrom(0, 1, 999, 1000, DAY_MS - 1),
        (day, offset) => {
          const ms = day * DAY_MS + offset;
          expect(isoOfEpochMs(ms)).toBe(new Date(ms).toISOString());
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('gets the first and last days of each month around February and the year end right', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1970, max: 9999 }),
        fc.constantFrom([0, 1], [1, 28], [1, 29], [2, 1], [11, 30], [11, 31]),
        fc.constantFrom(0, DAY_MS - 1),
        (year, [month, day], offset) => {
          const ms = Date.UTC(year, month!, day) + offset;
          expect(isoOfEpochMs(ms)).toBe(new Date(ms).toISOString());
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it.each([
    ['the epoch', 0],
    ['the last instant of 9999', MAX_MS],
    [
      '29 February 2000 (a 400-year leap day: the last day of an era of civil_from_days)',
      Date.parse('2000-02-29T12:34:56.789Z'),
    ],
    ['1 March 2100 (no leap day in 2100)', Date.parse('2100-03-01T00:00:00.000Z')],
    ['31 December 2024 (day 366 of a leap year)', Date.parse('2024-12-31T23:59:59.999Z')],
    ['31 December 2000', Date.parse('2000-12-31T00:00:00.000Z')],
    ['31 December 2400', Date.parse('2400-12-31T23:59:59.999Z')],
  ])('writes %s', (_what, ms) => {
    expect(isoOfEpochMs(ms)).toBe(new Date(ms).toISOString());
  });
});
