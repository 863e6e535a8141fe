import { describe, expect, it } from 'vitest';
import { buildKernel, createKernel } from '@tramway/shared/kernel';
import type { KernelSpec, BtfType } from '@tramway/shared/kernel';
import { fixtureSpec, given, link, load, ts } from '../../support/kernel-fixtures.js';

const problemsOf = (spec: KernelSpec) => {
  const r = buildKernel(spec);
  if (r.ok) throw new Error('expected problems');
  return r.error;
};

const vm = (
  functions: KernelSpec['objects'][number]['functions'],
): KernelSpec['objects'][number] => ({
  name: 'vmlinux',
  kind: 'vmlinux',
  functions,
});

describe('buildKernel type strings (kernel-scenarios.md "Types in ret and params")', () => {
  it('encodes qualifiers, multi-word ints, tagged names, typedefs and pointers', () => {
    expect(
      buildKernel({
        profile: 'v24',
        types: [{ kind: 'struct', name: 'file', size: 8, members: 1 }],
        objects: [
          vm([
            {
              name: 'f',
              ret: 'unsigned long long',
              params: ['const struct file **', 'volatile u32*', 'size_t'],
            },
          ]),
        ],
      }).ok,
    ).toBe(true);
  });
  it('rejects unknown names and misplaced stars', () => {
    for (const type of ['float', 'int * int', 'struct'])
      expect(
        problemsOf({ profile: 'v24', objects: [vm([{ name: 'f', ret: 'int', params: [type] }])] }),
      ).toEqual([
        { path: ['objects', 0, 'functions', 0, 'params', 0], message: expect.any(String) },
      ]);
    expect(
      problemsOf({ profile: 'v24', objects: [vm([{ name: 'f', ret: 'float', params: [] }])] }),
    ).toEqual([{ path: ['objects', 0, 'functions', 0, 'ret'], message: 'unknown type "float"' }]);
  });
});

describe('buildKernel (declarations → BTF → kernel)', () => {
  it('gives the path of an unknown param type', () => {
    const problems = problemsOf({
      profile: 'v24',
      objects: [vm([{ name: 'f', ret: 'int', params: ['int', 'struct nope'] }])],
    });
    expect(problems).toEqual([
      {
        path: ['objects', 0, 'functions', 0, 'params', 1],
        message: expect.stringContaining('struct nope') as string,
      },
    ]);
  });
  it('requires vmlinux first, unique object names, and rejects void params and misplaced varargs', () => {
    expect(
      problemsOf({ profile: 'v24', objects: [{ name: 'M', kind: 'module', functions: [] }] })[0]
        ?.path,
    ).toEqual(['objects', 0]);
    const p = problemsOf({
      profile: 'v24',
      objects: [
        vm([
          { name: 'f', ret: 'int', params: ['void'] },
          { name: 'g', ret: 'int', params: ['...', 'int'] },
        ]),
      ],
    });
    expect(p.map((x) => x.path)).toEqual([
      ['objects', 0, 'functions', 0, 'params', 0],
      ['objects', 0, 'functions', 1, 'params', 0],
    ]);
  });
  it('reports typedef cycles, duplicate functions and bad limits', () => {
    const p = problemsOf({
      profile: 'v24',
      limits: { maxTrampLinks: 0 },
      types: [
        { kind: 'typedef', name: 'a_t', type: 'b_t' },
        { kind: 'typedef', name: 'b_t', type: 'a_t' },
      ],
      objects: [
        vm([
          { name: 'f', ret: 'int', params: [] },
          { name: 'f', ret: 'int', params: [] },
        ]),
      ],
    });
    expect(p.map((x) => x.path[0])).toEqual(expect.arrayContaining(['limits', 'types', 'objects']));
  });
  it('deduplicates identical prototypes within an object; names keep them apart', () => {
    const r = buildKernel({
      profile: 'v24',
      objects: [
        vm([
          { name: 'a', ret: 'int', params: ['int'] },
          { name: 'b', ret: 'int', params: ['int'] },
          { name: 'c', ret: 'int', params: [{ type: 'int', name: 'x' }] },
        ]),
      ],
    });
    if (!r.ok) throw new Error('rejected');
    const types = r.value.templates[0]?.view.btf.types ?? [];
    const funcs = types.filter((x): x is Extract<BtfType, { kind: 'func' }> => x.kind === 'func');
    expect(funcs[0]?.type).toBe(funcs[1]?.type);
    expect(funcs[2]?.type).not.toBe(funcs[0]?.type);
  });
  it('places a fixed btfId and rejects one that collides with the automatic ids', () => {
    const r = buildKernel({
      profile: 'v24',
      objects: [vm([{ name: 'a', ret: 'int', params: ['int'], btfId: 500 }])],
    });
    if (!r.ok) throw new Error('rejected');
    expect(r.value.templates[0]?.funcIds.get('a')).toBe(500);
    const p = problemsOf({
      profile: 'v24',
      objects: [vm([{ name: 'a', ret: 'int', params: ['int'], btfId: 2 }])],
    });
    expect(p[0]?.path).toEqual(['objects', 0, 'functions', 0, 'btfId']);
  });
  it('module split BTF continues the vmlinux id space and reuses its types', () => {
    const r = buildKernel(fixtureSpec('v24'));
    if (!r.ok) throw new Error('rejected');
    const [vmT, mT] = r.value.templates;
    expect(mT?.view.btf.firstTypeId).toBe(
      (vmT?.view.btf.firstTypeId ?? 0) + (vmT?.view.btf.types.length ?? 0),
    );
    expect(mT?.view.base).toBe(vmT?.view.btf);
  });
  it('uses v24 limits 38/1024 and v26 38/1048576 by default; overrides apply', () => {
    expect(createKernel({ profile: 'v24', objects: [] }).limits).toEqual({
      maxTrampLinks: 38,
      maxMultiCount: 1024,
    });
    expect(createKernel({ profile: 'v26', objects: [] }).limits).toEqual({
      maxTrampLinks: 38,
      maxMultiCount: 1 << 20,
    });
    expect(
      createKernel({ profile: 'v24', limits: { maxTrampLinks: 2 }, objects: [] }).limits
        .maxTrampLinks,
    ).toBe(2);
  });
});

describe('createKernel (host reader input)', () => {
  it('uses the attrs callback with defaults: security_* is a hook, addresses exist', () => {
    const r = buildKernel({
      profile: 'v24',
      objects: [
        vm([
          { name: 'security_x', ret: 'int', params: ['int'] },
          { name: 'g', ret: 'int', params: ['int'] },
        ]),
      ],
    });
    if (!r.ok) throw new Error('rejected');
    const btf = r.value.templates[0]?.view.btf;
    if (btf === undefined) throw new Error('no btf');
    const k = createKernel({
      profile: 'v24',
      objects: [{ btf, loaded: true, attrs: (n) => (n === 'g' ? { hasAddress: false } : {}) }],
    });
    given(k)
      .when(load('p', 'fmod_ret', 'security_x'))
      .thenOk();
    given(k)
      .when(load('p', 'fentry', 'g'))
      .thenRejects('ENOENT');
    given(k, load('p', 'fentry.multi', 'security_x'))
      .when(link(1, ts('security_x')))
      .thenOk();
  });
});
