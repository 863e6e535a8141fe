import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RECORDED_ENVELOPE_SCHEMA, decodeFleetEvent } from '@tramway/shared/contracts';

/** Mostly valid values (so that both answers occur), sometimes invalid ones. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: invalid, weight: 1 });
const anyText = mostly(
  fc.string({ minLength: 1 }),
  fc.oneof(fc.constant(''), fc.integer(), fc.constant(null)),
);
const anyCount = mostly(
  fc.integer({ min: 1, max: 1e9 }),
  fc.constantFrom(0, -1, 1.5, '3', Number.NaN),
);
const anyInstant = mostly(
  fc.oneof(
    fc
      .date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) })
      .map((d) => d.toISOString()),
    fc.constantFrom(
      '2026-11-24T14:00:00Z',
      '2026-11-24T14:00:00.123456789Z',
      '2026-11-24T14:00:00+01:00',
      '2026-11-24T14:00:00-05:30',
      '2024-02-29T23:59:59.999Z',
      '2000-02-29T00:00:00.000Z',
    ),
  ),
  fc.constantFrom(
    '2026-11-24T14:00:00+0100',
    '2026-11-24T14:00Z',
    '2026-11-24T14:00:00',
    '2026-11-24',
    '2026-13-40T25:61:00Z',
    'yesterday',
    '',
    7,
    '2026-02-30T14:00:00Z',
    '2024-02-29T14:00:00Z',
    '2026-11-24T24:00:00Z',
    '2026-11-24T14:00:60Z',
    '2026-11-24T14:00:00+24:00',
    '2026-11-24T14:00:00.Z',
    // the millisecond form of Date#toISOString, which the decoder checks without a regex
    '2026-02-29T14:00:00.000Z',
    '2100-02-29T00:00:00.000Z',
    '2026-00-10T00:00:00.000Z',
    '2026-11-31T00:00:00.000Z',
    '2026-11-24T24:00:00.000Z',
    '2026-11-24T14:60:00.000Z',
    '2026-11-24T14:00:60.000Z',
    '2026-1a-24T14:00:00.000Z',
    '2026-11-24T14:00:00.00aZ',
    '2026-11-24T14:00:00,000Z',
    '2026-11-24 14:00:00.000Z',
  ),
);
const envelope = fc.record({
  id: anyText,
  type: fc.constant('NodeBooted'),
  schemaVersion: fc.constant(1),
  streamId: fc.constant('node-n1'),
  streamVersion: anyCount,
  globalPosition: anyCount,
  recordedAt: anyInstant,
  data: fc.constant({ nodeId: 'n1', bootId: 'b' }),
  metadata: mostly(
    fc.record(
      {
        occurredAt: anyInstant,
        actor: anyText,
        correlationId: anyText,
        causationId: anyText,
        extra: fc.constant(1),
      },
      { requiredKeys: ['occurredAt', 'actor'] },
    ),
    fc.constantFrom(null, [], 'm'),
  ),
});

describe('decodeFleetEvent envelope check', () => {
  it('accepts exactly the envelopes RECORDED_ENVELOPE_SCHEMA accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(envelope, (candidate) => {
        const byZod = RECORDED_ENVELOPE_SCHEMA.safeParse(candidate).success;
        if (byZod) accepted += 1;
        const decoded = decodeFleetEvent(candidate as never);
        expect(decoded.ok, JSON.stringify(decoded.ok ? null : decoded.error)).toBe(byZod);
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(20); // both answers were exercised
  });
});
