import fc from 'fast-check';
import type {
  KernelOp,
  KernelProfile,
  KernelSpec,
  KernelState,
  TargetRef,
} from '@tramway/shared/kernel';

/** A small kernel for random operation sequences: a dozen functions, 3 modules, tiny limits. */
export const smallSpec = (profile: KernelProfile, maxTrampLinks: number): KernelSpec => ({
  profile,
  limits: { maxTrampLinks, maxMultiCount: 4 },
  types: [{ kind: 'struct', name: 'S2', size: 16, members: 2 }],
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [
        { name: 'a1', ret: 'int', params: ['int'], errorInjectable: true },
        { name: 'a2', ret: 'int', params: ['int', 'u64'] },
        { name: 'a3', ret: 'int', params: ['struct S2', 'int'] },
        { name: 'a4', ret: 'long', params: ['long'], errorInjectable: true },
        { name: 'a5', ret: 'void', params: ['void *'] },
        { name: 'security_a6', ret: 'int', params: ['int'] },
        { name: 'noaddr', ret: 'int', params: ['int'], address: false },
      ],
    },
    {
      name: 'A',
      kind: 'module',
      functions: [
        { name: 'x1', ret: 'int', params: ['int'], errorInjectable: true },
        { name: 'x2', ret: 'int', params: ['int', 'u64'] },
      ],
    },
    { name: 'B', kind: 'module', functions: [{ name: 'y1', ret: 'int', params: ['int'] }] },
    {
      name: 'C',
      kind: 'module',
      loaded: false,
      functions: [{ name: 'z1', ret: 'int', params: ['int'] }],
    },
  ],
});

const GOOD = ['a1', 'a2', 'a3', 'a4', 'a5', 'security_a6', 'A:x1', 'A:x2', 'B:y1'];
const BAD = ['noaddr', 'C:z1', 'nope'];

const named = (n: string): TargetRef => {
  const i = n.indexOf(':');
  return i < 0 ? { name: n } : { object: n.slice(0, i), name: n.slice(i + 1) };
};

/** Mostly resolvable, attachable functions; a few unresolvable, address-less, id-0 or non-FUNC targets. */
const targetArb: fc.Arbitrary<TargetRef> = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom('a1', 'a1', 'a2', 'A:x1').map(named) },
  { weight: 10, arbitrary: fc.constantFrom(...GOOD).map(named) },
  { weight: 3, arbitrary: fc.constantFrom(...BAD).map(named) },
  { weight: 1, arbitrary: fc.constant<TargetRef>({ object: 'vmlinux', btfId: 0 }) },
  { weight: 1, arbitrary: fc.constant<TargetRef>({ object: 'vmlinux', type: 'S2' }) },
);

const progId = fc.integer({ min: 1, max: 6 });
const linkId = fc.integer({ min: 1, max: 6 });
const mod = fc.constantFrom('A', 'B', 'C');

const MODIFIABLE = ['a1', 'a4', 'security_a6', 'A:x1'];
const SLEEPABLE = ['a1', 'a4', 'A:x1'];

/** Loadable (attach, origin) pairs per profile; V26 multi programs take no origin. */
const validLoads = (profile: KernelProfile): readonly [string, string | null][] => {
  const singles: [string, string | null][] = [
    ...GOOD.map((o): [string, string] => ['fentry', o]),
    ...GOOD.map((o): [string, string] => ['fexit', o]),
    ...MODIFIABLE.map((o): [string, string] => ['fmod_ret', o]),
  ];
  if (profile === 'v26')
    return [
      ...singles,
      ['fentry.multi', null],
      ['fexit.multi', null],
      ['fsession.multi', null],
      ['fentry.multi.s', null],
    ];
  return [
    ...singles,
    ...GOOD.map((o): [string, string] => ['fentry.multi', o]),
    ...GOOD.map((o): [string, string] => ['fexit.multi', o]),
    ...MODIFIABLE.map((o): [string, string] => ['fmod_ret.multi', o]),
    ...SLEEPABLE.map((o): [string, string] => ['fentry.multi.s', o]),
  ];
};

const ALL_ATTACH = [
  'fentry',
  'fexit',
  'fmod_ret',
  'fentry.multi',
  'fexit.multi',
  'fmod_ret.multi',
  'fsession.multi',
  'fentry.multi.s',
];

/** Mostly loadable programs for the profile, some with ctx reads, plus arbitrary (often rejected) shapes. */
const progLoadArb = (profile: KernelProfile): fc.Arbitrary<KernelOp> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .record({
          pair: fc.constantFrom(...validLoads(profile)),
          object: fc.constantFrom(undefined, undefined, 'A', 'B'),
          reads: fc.oneof(
            { weight: 4, arbitrary: fc.constant([] as (number | 'ret')[]) },
            {
              weight: 1,
              arbitrary: fc.array(fc.constantFrom<number | 'ret'>(0, 1, 'ret'), { maxLength: 2 }),
            },
          ),
          returns: fc.constantFrom(0n, 0n, 3n),
        })
        .map(({ pair: [attach, origin], object, reads, returns }): KernelOp => ({
          op: 'prog_load',
          name: `p_${attach}`,
          attach,
          ...(origin !== null ? { origin: named(origin) } : object !== undefined ? { object } : {}),
          ...(origin !== null && reads.length > 0 ? { reads } : {}),
          ...(attach.startsWith('fmod_ret') ? { returns } : {}),
        })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({
          attach: fc.constantFrom(...ALL_ATTACH),
          origin: fc.option(targetArb, { nil: undefined }),
          reads: fc.array(fc.constantFrom<number | 'ret'>(0, 1, 'ret'), { maxLength: 2 }),
        })
        .map(({ attach, origin, reads }): KernelOp => ({
          op: 'prog_load',
          name: `x_${attach}`,
          attach,
          ...(origin !== undefined ? { origin } : {}),
          reads,
        })),
    },
  );

export const opArb = (profile: KernelProfile): fc.Arbitrary<KernelOp> =>
  fc.oneof(
    { weight: 2, arbitrary: progLoadArb(profile) },
    {
      weight: 6,
      arbitrary: fc
        .record({
          prog: progId,
          targets: fc.oneof(
            { weight: 2, arbitrary: fc.constant([] as TargetRef[]) },
            { weight: 3, arbitrary: fc.array(targetArb, { minLength: 1, maxLength: 3 }) },
          ),
          cookies: fc.oneof(
            { weight: 3, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.array(fc.bigInt({ min: 0n, max: 9n }), { maxLength: 3 }) },
          ),
          count: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined, freq: 10 }),
        })
        .map((r): KernelOp => ({
          op: 'link_create',
          prog: r.prog,
          targets: r.targets,
          ...(r.cookies !== undefined ? { cookies: r.cookies } : {}),
          ...(r.count !== undefined ? { count: r.count } : {}),
        })),
    },
    { weight: 1, arbitrary: progId.map((prog): KernelOp => ({ op: 'prog_release', prog })) },
    {
      weight: 3,
      arbitrary: fc
        .record({
          op: fc.constantFrom('link_release', 'link_pin', 'link_unpin', 'link_detach'),
          link: linkId,
        })
        .map((r): KernelOp => ({ op: r.op, link: r.link }) as KernelOp),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ link: linkId, prog: progId })
        .map((r): KernelOp => ({ op: 'link_update', ...r })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ op: fc.constantFrom('module_load', 'module_unload'), module: mod })
        .map((r): KernelOp => ({ op: r.op, module: r.module }) as KernelOp),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ module: mod, state: fc.constantFrom('live', 'live', 'going') })
        .map((r): KernelOp => ({
          op: 'module_set_state',
          module: r.module,
          state: r.state as 'live' | 'going',
        })),
    },
    { weight: 1, arbitrary: targetArb.map((f): KernelOp => ({ op: 'trigger', function: f })) },
    { weight: 1, arbitrary: linkId.map((link): KernelOp => ({ op: 'fdinfo', link })) },
  );

/** A few program loads first (so that later ops have programs to use), then any ops. */
export const opsArb = (profile: KernelProfile): fc.Arbitrary<KernelOp[]> =>
  fc
    .tuple(
      fc.array(progLoadArb(profile), { minLength: 2, maxLength: 5 }),
      fc.array(opArb(profile), { minLength: 1, maxLength: 40, size: 'max' }),
    )
    .map(([loads, ops]) => [...loads, ...ops]);

/** A JSON snapshot of every mutable part of a state (bigints as strings), to detect mutation. */
export const snapshot = (s: KernelState): string =>
  JSON.stringify(
    {
      btfs: [...s.btfs],
      btfRefcnt: [...s.btfRefcnt],
      modules: [...s.modules],
      progs: [...s.progs],
      links: [...s.links],
      tramps: [...s.tramps],
      next: [s.nextProgId, s.nextLinkId, s.nextObjId],
    },
    (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v),
  );
