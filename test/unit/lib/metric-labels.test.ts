import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  OVERFLOW_LABEL,
  attachPathOfType,
  closedLabel,
  createLabelBound,
  errnoLabel,
  statusClass,
  topN,
} from '@tramway/shared/lib';

describe('createLabelBound', () => {
  it('admits the first max distinct values and maps every later one to _other', () => {
    const sut = createLabelBound(2);
    expect(['a', 'b', 'a', 'c', 'b', 'd'].map(sut.label)).toEqual([
      'a',
      'b',
      'a',
      OVERFLOW_LABEL,
      'b',
      OVERFLOW_LABEL,
    ]);
    expect(sut.size()).toBe(2);
  });

  it('never yields more than max + 1 distinct values, whatever it is fed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.string()), (max, values) => {
        const sut = createLabelBound(max);
        expect(new Set(values.map(sut.label)).size).toBeLessThanOrEqual(max + 1);
      }),
    );
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => createLabelBound(0)).toThrow(/positive integer, not 0/);
    expect(() => createLabelBound(1.5)).toThrow(RangeError);
  });
});

describe('metric label values', () => {
  it('maps attach types to the rung of the fallback ladder', () => {
    expect(attachPathOfType('BPF_TRACE_FENTRY_MULTI')).toBe('tracing-multi');
    expect(attachPathOfType('BPF_TRACE_FSESSION_MULTI')).toBe('tracing-multi');
    expect(attachPathOfType('BPF_TRACE_FEXIT')).toBe('fentry-per-function');
    expect(attachPathOfType('BPF_TRACE_KPROBE_MULTI')).toBe('kprobe-multi');
  });

  it('names errnos from the one table, anything else is _other', () => {
    expect(errnoLabel(28)).toBe('ENOSPC');
    expect(errnoLabel(-7)).toBe('E2BIG');
    expect(errnoLabel('EBUSY')).toBe('EBUSY');
    expect(errnoLabel('tcp_sendmsg')).toBe(OVERFLOW_LABEL);
    expect(errnoLabel(123456)).toBe(OVERFLOW_LABEL);
  });

  it('classes HTTP statuses', () => {
    expect([200, 204, 301, 404, 503].map(statusClass)).toEqual(['2xx', '2xx', '3xx', '4xx', '5xx']);
    expect(statusClass(0)).toBe('other');
  });

  it('keeps closed sets closed', () => {
    expect(closedLabel(new Set(['GET']), 'GET')).toBe('GET');
    expect(closedLabel(new Set(['GET']), 'get')).toBe(OVERFLOW_LABEL);
  });

  it('takes the top N by score, ties by key, deterministically', () => {
    const entries = [
      { k: 'b', v: 3 },
      { k: 'a', v: 3 },
      { k: 'c', v: 9 },
      { k: 'd', v: 1 },
    ];
    expect(
      topN(
        entries,
        3,
        (e) => e.v,
        (e) => e.k,
      ).map((e) => e.k),
    ).toEqual(['c', 'a', 'b']);
    expect(
      topN(
        entries,
        0,
        (e) => e.v,
        (e) => e.k,
      ),
    ).toEqual([]);
  });

  it('agrees with a full sort for any entries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ k: fc.string({ maxLength: 3 }), v: fc.integer({ min: 0, max: 5 }) })),
        fc.integer({ min: 0, max: 8 }),
        (entries, n) => {
          const sorted = [...entries]
            .sort((a, b) => b.v - a.v || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
            .slice(0, n);
          expect(
            topN(
              entries,
              n,
              (e) => e.v,
              (e) => e.k,
            ).map((e) => [e.v, e.k]),
          ).toEqual(sorted.map((e) => [e.v, e.k]));
        },
      ),
    );
  });
});
