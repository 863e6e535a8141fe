import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseKernelSpecDocument } from '@tramway/shared/contracts';

const vmlinux = (functions: unknown[]) => ({ name: 'vmlinux', functions });

const problems = (doc: unknown, opaqueStructPointers = false): string[] => {
  const { result } = parseKernelSpecDocument(
    doc,
    { trailing: { multiLink: z.boolean().exactOptional() } },
    { opaqueStructPointers },
  );
  if (result.ok) return [];
  return result.error.map((p) => `${p.path.join('.')}: ${p.message}`);
};

describe('parseKernelSpecDocument', () => {
  it('applies the documented defaults and spells types canonically', () => {
    const { result } = parseKernelSpecDocument(
      {
        objects: [
          vmlinux([
            { name: 'f', ret: 'unsigned  long', params: ['int*', { type: 'u32', name: 'x' }] },
          ]),
          { name: 'mod', functions: [] },
        ],
      },
      {},
    );
    expect(result).toEqual({
      ok: true,
      value: {
        spec: {
          profile: 'v24',
          types: [],
          objects: [
            {
              name: 'vmlinux',
              kind: 'vmlinux',
              functions: [
                { name: 'f', ret: 'unsigned long', params: ['int *', { type: 'u32', name: 'x' }] },
              ],
            },
            { name: 'mod', kind: 'module', functions: [] },
          ],
        },
        extra: {},
      },
    });
  });

  it("returns the reader's own fields, typed, and lists them among the allowed ones", () => {
    const { result } = parseKernelSpecDocument(
      { profile: 'v26', multiLink: false, objects: [vmlinux([])] },
      { trailing: { multiLink: z.boolean().exactOptional() } },
    );
    expect(result.ok && result.value.extra).toEqual({ multiLink: false });
    expect(problems({ objects: [vmlinux([])], nodes: 3 })).toEqual([
      'nodes: unknown field (allowed here: objects, profile, limits, types, multiLink)',
    ]);
  });

  it('takes integers as numbers or as bigints (a YAML reader keeping u64 exact)', () => {
    const doc = (size: unknown) => ({
      types: [{ kind: 'struct', name: 'S', size, members: 1 }],
      objects: [vmlinux([{ name: 'f', ret: 'int', params: ['struct S'] }])],
    });
    expect(problems(doc(16))).toEqual([]);
    expect(problems(doc(16n))).toEqual([]);
    expect(problems(doc('16'))).toEqual(["types.0.size: must be an integer, got '16'"]);
  });

  it('refuses a pointer to an undeclared struct unless the reader takes it as opaque', () => {
    const doc = { objects: [vmlinux([{ name: 'f', ret: 'int', params: ['struct sock *'] }])] };
    expect(problems(doc)).toEqual([
      "objects.0.functions.0.params.0: unknown struct 'sock' (declare it under types)",
    ]);
    expect(problems(doc, true)).toEqual([]);
    const byValue = { objects: [vmlinux([{ name: 'f', ret: 'int', params: ['struct sock'] }])] };
    expect(problems(byValue, true)).toEqual([
      "objects.0.functions.0.params.0: unknown struct 'sock' (declare it under types)",
    ]);
  });

  it('lists problems in document order: unknown fields of a mapping first, then its fields', () => {
    expect(
      problems({
        objects: [
          vmlinux([{ ret: 7, params: [5, { type: 'int', name: '1x' }], color: 'red', name: 'f' }]),
        ],
        profile: 'v9',
      }),
    ).toEqual([
      "profile: must be one of v24, v26, got 'v9'",
      'objects.0.functions.0.color: unknown field (allowed here: name, ret, params, errorInjectable, nonSleepable, fmodret, fmodretSleepable, securityHook, denyListed, noreturn, address, btfId)',
      'objects.0.functions.0.ret: must be a string, got 7',
      'objects.0.functions.0.params.0: must be a mapping, got 5',
      "objects.0.functions.0.params.1.name: '1x' is not a valid param name",
    ]);
  });

  it('names what the declarations declare, also when the document has problems', () => {
    const { result, declarations } = parseKernelSpecDocument(
      {
        types: [{ kind: 'typedef', name: 'handle_t', type: 'void *' }],
        objects: [
          vmlinux([]),
          { name: 'nf_tables', functions: 'none' },
          { name: 'ubtf', kind: 'user', functions: [] },
        ],
      },
      {},
    );
    expect(result.ok).toBe(false);
    expect(declarations.objects).toEqual(
      new Map([
        ['vmlinux', 'vmlinux'],
        ['nf_tables', 'module'],
        ['ubtf', 'user'],
      ]),
    );
    expect([...declarations.types]).toEqual(['handle_t']);
  });

  it('reports a typedef cycle at each typedef on it', () => {
    expect(
      problems({
        types: [
          { kind: 'typedef', name: 'a_t', type: 'b_t' },
          { kind: 'typedef', name: 'b_t', type: 'a_t *' },
        ],
        objects: [vmlinux([])],
      }),
    ).toEqual([
      'types.0.type: typedef cycle: a_t -> b_t -> a_t',
      'types.1.type: typedef cycle: b_t -> a_t -> b_t',
    ]);
  });
});
