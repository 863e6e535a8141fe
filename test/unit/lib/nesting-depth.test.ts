import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH, nestingExceeds } from '@tramway/shared/lib';

/** Nesting depth of a JSON value, as JSON.stringify writes it. */
const depthOf = (value: unknown): number =>
  typeof value === 'object' && value !== null
    ? 1 + Math.max(0, ...Object.values(value).map(depthOf))
    : 0;

describe('nestingExceeds', () => {
  it('agrees with the depth of any JSON value, brackets inside strings not counted', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 8 }), (value, limit) => {
        const text = JSON.stringify(value);
        expect(nestingExceeds(text, limit)).toBe(depthOf(value) > limit);
      }),
    );
  });

  it('stops at the limit on 200,000 nested brackets', () => {
    expect(nestingExceeds('['.repeat(200_000))).toBe(true);
    expect(nestingExceeds('['.repeat(MAX_NESTING_DEPTH) + ']'.repeat(MAX_NESTING_DEPTH))).toBe(
      false,
    );
    expect(nestingExceeds(`"${'['.repeat(1000)}\\"${'{'.repeat(1000)}"`)).toBe(false);
  });
});
