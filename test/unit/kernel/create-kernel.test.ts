import { describe, expect, it } from 'vitest';
import { applyOp, createKernel, dumpState } from '@tramway/shared/kernel';
import type { BtfObject, KernelOp } from '@tramway/shared/kernel';
import { given, link, load, run, ts } from '../../support/kernel-fixtures.js';
import { BTF_INT } from '../../support/btf-types.js';

/** Hand-assembled BTF, as the host reader produces it: vmlinux ids 1..5, module split from 6. */
const vmlinux: BtfObject = {
  name: 'vmlinux',
  kind: 'vmlinux',
  firstTypeId: 1,
  types: [
    BTF_INT,
    { kind: 'func_proto', ret: 1, params: [{ name: 'a', type: 1 }] },
    { kind: 'func', name: 'vfn', type: 2, linkage: 'global' },
    { kind: 'func', name: '', type: 2, linkage: 'static' },
    { kind: 'typedef', name: 'myint', type: 1 },
  ],
};
const mod: BtfObject = {
  name: 'hostmod',
  kind: 'module',
  firstTypeId: 6,
  types: [
    { kind: 'func_proto', ret: 5, params: [{ name: 'b', type: 5 }] },
    { kind: 'func', name: 'mfn', type: 6, linkage: 'global' },
  ],
};

const kernel = (profile: 'v24' | 'v26') =>
  createKernel({
    profile,
    objects: [
      { btf: vmlinux, loaded: true, attrs: () => ({}) },
      { btf: mod, loaded: true, attrs: (n) => (n === 'mfn' ? { errorInjectable: true } : {}) },
    ],
  });

describe('createKernel from parsed BTF (host reader path)', () => {
  it('resolves a module prototype through its vmlinux base (split BTF) and attaches', () => {
    const { value } = given(kernel('v24'), load('p', 'fentry.multi', 'vfn', { reads: [0] }))
      .when(link(1, ts('vfn', 'hostmod:mfn')))
      .thenOk();
    expect(value).toEqual({
      linkId: 1,
      connections: [
        { function: 'vfn', objId: 1, btfId: 3, cookie: 0n },
        { function: 'mfn', objId: 2, btfId: 7, cookie: 0n },
      ],
    });
  });
  it('takes symbol facts from the attrs callback (module function is error-injectable → sleepable ok)', () => {
    given(kernel('v24'))
      .when(load('p', 'fentry.s', 'hostmod:mfn'))
      .thenOk();
    given(kernel('v24'))
      .when(load('p', 'fentry.s', 'vfn'))
      .thenRejects('EINVAL');
  });
  it('rejects a FUNC without a name (§3.12.1)', () => {
    given(kernel('v24'))
      .when({
        op: 'prog_load',
        name: 'p',
        attach: 'fentry',
        origin: { object: 'vmlinux', btfId: 4 },
      })
      .thenRejects('EINVAL');
  });
  it('a V26 module program reaching a vmlinux id through the split BTF has no module address: ENOENT', () => {
    given(kernel('v26'), load('p', 'fentry.multi', undefined, { object: 'hostmod' }))
      .when(link(1, [{ object: 'hostmod', btfId: 3 }]))
      .thenRejects('ENOENT');
  });
});

describe('fdinfo attach type numbers per profile (spec §4.3)', () => {
  const cases: [string, 'v24' | 'v26', KernelOp, number][] = [
    ['v24 fexit.multi', 'v24', load('p', 'fexit.multi', 'vfn'), 57],
    ['v24 fmod_ret.multi', 'v24', load('p', 'fmod_ret.multi', 'hostmod:mfn'), 58],
    ['v26 fexit.multi', 'v26', load('p', 'fexit.multi', undefined, { object: 'hostmod' }), 60],
    [
      'v26 fsession.multi',
      'v26',
      load('p', 'fsession.multi', undefined, { object: 'hostmod' }),
      61,
    ],
    ['v24 fmod_ret (single)', 'v24', load('p', 'fmod_ret', 'hostmod:mfn'), 26],
  ];
  it.each(cases)('%s prints attach_type %i', (_name, profile, prog, num) => {
    const multi = prog.op === 'prog_load' && prog.attach.includes('.multi');
    const s = run(kernel(profile), prog, link(1, multi ? ts('hostmod:mfn') : [])).state;
    const out = applyOp(s, { op: 'fdinfo', link: 1 });
    expect(out.ok && out.value && 'text' in out.value && out.value.text).toContain(
      `attach_type:\t${num}\n`,
    );
    expect(dumpState(s).links).toHaveLength(1);
  });
});
