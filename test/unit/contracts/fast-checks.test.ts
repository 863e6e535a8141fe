import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FLEET_EVENT_SCHEMAS } from '@tramway/shared/contracts';
import { FAST_CHECKS } from '../../../shared/src/contracts/fast-checks.js';

/** Mostly valid values (so that both answers occur), sometimes invalid ones. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: valid, weight: 30 }, { arbitrary: invalid, weight: 1 });
const odd = fc.constantFrom<unknown>(
  null,
  '',
  'x y',
  -1,
  1.5,
  2 ** 53,
  '7',
  [],
  {},
  true,
  undefined,
  '__proto__',
);
const kernelId = mostly(fc.nat(), odd);
const nodeName = mostly(fc.constantFrom('node-1', 'n.2', 'a:b@c', 'X_9'), odd);
const fnName = mostly(
  fc.constantFrom('tcp_sendmsg', '_x', 'a.b', 'f9'),
  fc.constantFrom<unknown>('9f', 'a-b', '', '__proto__', 3),
);
const cookie = mostly(
  fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
    fc.constantFrom('0', '18446744073709551615', '9999999999999999999'),
  ),
  fc.constantFrom<unknown>(
    '18446744073709551616',
    '99999999999999999999',
    '01',
    '-1',
    '1e3',
    5,
    '',
  ),
);
const extra = mostly(fc.constant({}), fc.constant({ surprise: 1 }));
const connection = fc
  .tuple(
    fc.record(
      { function: fnName, module: nodeName, objId: kernelId, btfId: kernelId, cookie },
      { requiredKeys: ['function', 'objId', 'btfId', 'cookie'] },
    ),
    extra,
  )
  .map(([c, e]) => ({ ...c, ...e }));
const linkCreated = fc
  .tuple(
    fc.record(
      {
        nodeId: nodeName,
        linkId: kernelId,
        programId: kernelId,
        programName: mostly(fc.string({ minLength: 1 }), odd),
        policy: nodeName,
        attachType: mostly(fc.constantFrom('BPF_TRACE_FENTRY_MULTI', 'BPF_TRACE_FEXIT'), odd),
        connections: mostly(
          fc.array(connection, { minLength: 1, maxLength: 4 }),
          fc.constantFrom<unknown>([], null, {}),
        ),
        observedGeneration: kernelId,
      },
      {
        requiredKeys: ['nodeId', 'linkId', 'programId', 'programName', 'attachType', 'connections'],
      },
    ),
    extra,
  )
  .map(([d, e]) => ({ ...d, ...e }));
const linkReleased = fc
  .tuple(
    fc.record(
      {
        nodeId: nodeName,
        linkId: kernelId,
        reason: mostly(fc.string({ minLength: 1 }), odd),
        observedGeneration: kernelId,
      },
      { requiredKeys: ['nodeId', 'linkId', 'reason'] },
    ),
    extra,
  )
  .map(([d, e]) => ({ ...d, ...e }));

const agrees = (
  type: 'LinkCreated' | 'LinkReleased',
  version: number,
  arb: fc.Arbitrary<unknown>,
) => {
  const check = FAST_CHECKS[type]?.[version];
  const schema = (
    FLEET_EVENT_SCHEMAS[type] as Record<number, { safeParse: (d: unknown) => { success: boolean } }>
  )[version];
  if (!check || !schema) throw new Error(`no fast check for ${type} v${version}`);
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(arb, fc.boolean(), (data, viaJson) => {
      const input = viaJson ? (JSON.parse(JSON.stringify(data)) as unknown) : data;
      const byZod = schema.safeParse(input).success;
      if (byZod) accepted += 1;
      else refused += 1;
      expect(check(input)).toBe(byZod);
    }),
    { numRuns: 4000 },
  );
  expect(Math.min(accepted, refused)).toBeGreaterThan(100);
};

describe('FAST_CHECKS', () => {
  it('LinkCreated v2 accepts exactly what its zod schema accepts', () =>
    agrees('LinkCreated', 2, linkCreated));
  it('LinkReleased v1 accepts exactly what its zod schema accepts', () =>
    agrees('LinkReleased', 1, linkReleased));
});
