import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CURRENT_SCHEMA_VERSION, FLEET_EVENT_SCHEMAS } from '@tramway/shared/contracts';
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
/** v3: v2 plus an optional `reason` (present, absent, or invalid). */
const linkCreatedV3 = fc
  .tuple(linkCreated, fc.option(mostly(fc.string({ minLength: 1 }), odd), { nil: undefined }))
  .map(([d, reason]) => (reason === undefined ? d : { ...(d as Record<string, unknown>), reason }));
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

/** An object with the given fields (those not in `required` may be absent) and maybe a stray key. */
const shape = (
  fields: Record<string, fc.Arbitrary<unknown>>,
  required: readonly string[],
): fc.Arbitrary<unknown> =>
  mostly(
    fc
      .tuple(fc.record(fields, { requiredKeys: required as string[] }), extra)
      .map(([d, e]) => ({ ...d, ...e })),
    odd,
  );
const text = mostly(fc.string({ minLength: 1 }), odd);
const positive = mostly(
  fc.integer({ min: 1, max: 1e6 }),
  fc.constantFrom<unknown>(0, -1, 1.5, '2'),
);
const attachType = mostly(
  fc.constantFrom('BPF_TRACE_FENTRY_MULTI', 'BPF_MODIFY_RETURN_MULTI', 'BPF_TRACE_FEXIT'),
  odd,
);
const listOf = (item: fc.Arbitrary<unknown>, minLength = 0) =>
  mostly(fc.array(item, { minLength, maxLength: 4 }), fc.constantFrom<unknown>([], null, {}, 'x'));
const plannedTarget = shape(
  {
    function: fnName,
    module: text,
    objId: kernelId,
    btfId: kernelId,
    cookie,
    status: mostly(fc.constantFrom('attach', 'pending', 'rejected', 'trampoline-full'), odd),
    errno: text,
    reason: mostly(fc.string(), fc.constantFrom<unknown>(null, 3, undefined)),
    headroom: mostly(fc.integer({ min: -3, max: 38 }), odd),
  },
  ['function', 'cookie', 'status'],
);
const recordedPlan = shape(
  {
    path: mostly(
      fc.constantFrom('tracing-multi', 'fentry-per-function', 'kprobe-multi', 'none'),
      odd,
    ),
    targets: listOf(plannedTarget),
    unmatched: listOf(
      shape(
        {
          pattern: mostly(fc.string(), fc.constantFrom<unknown>(null, 3)),
          reason: mostly(fc.string(), fc.constantFrom<unknown>(null, 3)),
        },
        ['pattern', 'reason'],
      ),
    ),
  },
  ['path', 'targets', 'unmatched'],
);
const moreTypes: Record<string, fc.Arbitrary<unknown>> = {
  ModuleLoaded: shape({ nodeId: nodeName, module: nodeName, btfObjId: kernelId }, [
    'nodeId',
    'module',
    'btfObjId',
  ]),
  ModuleUnloaded: shape({ nodeId: nodeName, module: nodeName }, ['nodeId', 'module']),
  ProgramLoaded: shape({ nodeId: nodeName, programId: kernelId, name: text, attachType }, [
    'nodeId',
    'programId',
    'name',
    'attachType',
  ]),
  ProgramUnloaded: shape({ nodeId: nodeName, programId: kernelId, name: text }, [
    'nodeId',
    'programId',
    'name',
  ]),
  LinkCreateFailed: shape(
    {
      nodeId: nodeName,
      programId: kernelId,
      programName: text,
      policy: nodeName,
      attachType,
      errno: positive,
      failingTarget: shape(
        { function: fnName, module: nodeName, objId: kernelId, btfId: kernelId },
        ['function'],
      ),
      reason: text,
      observedGeneration: kernelId,
    },
    ['nodeId', 'programId', 'programName', 'attachType', 'errno', 'failingTarget', 'reason'],
  ),
  DriftFound: shape(
    {
      nodeId: nodeName,
      observedGeneration: kernelId,
      items: listOf(
        shape(
          {
            kind: mostly(
              fc.constantFrom('missing-link', 'unexpected-link', 'connection-mismatch'),
              odd,
            ),
            linkId: kernelId,
            function: fnName,
            detail: mostly(fc.string(), fc.constantFrom<unknown>(null, 3)),
          },
          ['kind', 'detail'],
        ),
      ),
    },
    ['nodeId', 'observedGeneration', 'items'],
  ),
  AssignmentIssued: shape(
    {
      nodeId: nodeName,
      generation: kernelId,
      links: listOf(
        shape(
          {
            policy: nodeName,
            policyVersion: positive,
            program: text,
            attachType,
            functions: listOf(text, 1),
          },
          ['policy', 'policyVersion', 'program', 'attachType', 'functions'],
        ),
      ),
      reason: text,
      initiatedBy: text,
      epoch: kernelId,
    },
    ['nodeId', 'generation', 'links'],
  ),
  RolloutStarted: shape(
    {
      rolloutId: nodeName,
      policy: nodeName,
      policyVersion: positive,
      waves: positive,
      waveNodes: listOf(listOf(nodeName)),
      previousVersion: mostly(positive, fc.constantFrom<unknown>(null, 0, 'x')),
      kind: mostly(
        fc.constantFrom<unknown>('apply', 'rollback', 'release'),
        fc.constantFrom<unknown>('delete', 1, null),
      ),
      rollsBack: nodeName,
    },
    ['rolloutId', 'policy', 'policyVersion', 'waves'],
  ),
  WaveStarted: shape({ rolloutId: nodeName, wave: kernelId, nodes: listOf(nodeName) }, [
    'rolloutId',
    'wave',
    'nodes',
  ]),
  WaveCompleted: shape(
    { rolloutId: nodeName, wave: kernelId, succeeded: kernelId, failed: kernelId, reason: text },
    ['rolloutId', 'wave', 'succeeded', 'failed'],
  ),
  RolloutCompleted: shape({ rolloutId: nodeName }, ['rolloutId']),
  PlanRecorded: shape(
    {
      nodeId: nodeName,
      policy: nodeName,
      policyVersion: positive,
      rolloutId: nodeName,
      plan: recordedPlan,
    },
    ['nodeId', 'policy', 'policyVersion', 'plan'],
  ),
  NodeReplanned: shape(
    {
      nodeId: nodeName,
      generation: kernelId,
      policy: nodeName,
      policyVersion: positive,
      reason: text,
      plan: recordedPlan,
    },
    ['nodeId', 'generation', 'policy', 'policyVersion', 'reason', 'plan'],
  ),
};

const agrees = (
  type: keyof typeof FLEET_EVENT_SCHEMAS,
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
      const input =
        viaJson && data !== undefined ? (JSON.parse(JSON.stringify(data)) as unknown) : data;
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
  it('LinkCreated v3 accepts exactly what its zod schema accepts', () =>
    agrees('LinkCreated', 3, linkCreatedV3));
  it('LinkCreated v2 refuses the v3 reason field, as its schema does', () => {
    const data = {
      nodeId: 'node-1',
      linkId: 1,
      programId: 2,
      programName: 'p',
      attachType: 'BPF_TRACE_FENTRY_MULTI',
      connections: [{ function: 'f', objId: 1, btfId: 2, cookie: '0' }],
    };
    expect(FAST_CHECKS.LinkCreated?.[2]?.(data)).toBe(true);
    expect(FAST_CHECKS.LinkCreated?.[2]?.({ ...data, reason: 'adopted' })).toBe(false);
    expect(FAST_CHECKS.LinkCreated?.[3]?.({ ...data, reason: 'adopted' })).toBe(true);
    expect(FAST_CHECKS.LinkCreated?.[3]?.({ ...data, reason: '' })).toBe(false);
  });
  it('LinkReleased v1 accepts exactly what its zod schema accepts', () =>
    agrees('LinkReleased', 1, linkReleased));
  for (const [type, arb] of Object.entries(moreTypes)) {
    it(`${type} v1 accepts exactly what its zod schema accepts`, () =>
      agrees(type as keyof typeof FLEET_EVENT_SCHEMAS, 1, arb));
  }
  it('checks the current version of every type it checks (a new version would fall back to zod on every replay)', () => {
    const stale = Object.entries(FAST_CHECKS)
      .filter(
        ([type, checks]) =>
          !(CURRENT_SCHEMA_VERSION[type as keyof typeof CURRENT_SCHEMA_VERSION] in checks),
      )
      .map(([type]) => type);
    expect(stale).toEqual([]);
  });
  it('has a property test for every hand-written check', () => {
    const tested = ['LinkCreated', 'LinkReleased', ...Object.keys(moreTypes)].sort();
    expect(Object.keys(FAST_CHECKS).sort()).toEqual(tested);
  });
});
