import { describe, expect, it } from 'vitest';
import {
  describeFunction,
  encodeBtf,
  formatCType,
  formatFuncSignature,
  indexFunctions,
  listFuncs,
  parseBtf,
} from '../../../shared/src/btf/index.js';
import type { ParsedBtf } from '../../../shared/src/btf/index.js';
import type { BtfType } from '../../../shared/src/kernel/index.js';
import {
  SMALL_VMLINUX_TYPES,
  smallModule,
  smallVmlinux,
} from '../../fixtures/btf/small-btf.fixture.js';

const parse = (bytes: Uint8Array, base?: ParsedBtf): ParsedBtf => {
  const r = parseBtf(
    bytes,
    base ? { name: 'nf_tables', kind: 'module', base } : { name: 'vmlinux', kind: 'vmlinux' },
  );
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const vmlinux = parse(encodeBtf(smallVmlinux()));

describe('formatCType', () => {
  it.each([
    [0, 'void'],
    [2, 'unsigned int'],
    [4, 'const char'],
    [5, 'const char *'],
    [7, 'struct sk_buff *'],
    [8, 'char [48]'],
    [10, 'union {...}'],
    [11, 'enum bpf_attach_type'],
    [14, 'union opaque_union'],
    [15, 'u32'],
    [16, 'volatile int'],
    [17, 'const char * restrict'],
    [25, 'char __attribute__((btf_type_tag("user"))) *'],
    [28, 'int (*)(struct sk_buff *skb, u32 len)'], // param names kept, as btf_dump prints them,
    [29, 'struct sk_buff * const'],
    [31, 'char (*)[48]'],
    [99, '/* bad type id 99 */'],
  ])('formats type %i as `%s`', (id, text) => {
    expect(formatCType(vmlinux, id)).toBe(text);
  });

  it('formats a named declaration of a function pointer', () => {
    expect(formatCType(vmlinux, 28, 'cb')).toBe('int (*cb)(struct sk_buff *skb, u32 len)');
  });

  it('spaces a pointer return before a parenthesised declarator, as btf_dump does', () => {
    // [38] PTR -> [30] FUNC_PROTO returning struct sk_buff *
    const sut = parse(encodeBtf(smallVmlinux([...SMALL_VMLINUX_TYPES, { kind: 'ptr', type: 30 }])));
    expect(formatCType(sut, 38, 'fn')).toMatch(/^struct sk_buff \* \(\*fn\)\(int \(\*cb\)/);
  });

  it('terminates on corrupt self-referential BTF', () => {
    const sut = parse(
      encodeBtf({
        name: 'vmlinux',
        kind: 'vmlinux',
        firstTypeId: 1,
        types: [
          {
            kind: 'func_proto',
            ret: 2,
            params: Array.from({ length: 8 }, () => ({ name: '', type: 2 })),
          },
          { kind: 'ptr', type: 1 },
          { kind: 'const', name: '', type: 3 },
        ],
      }),
    );
    expect(formatCType(sut, 2)).toContain('/* type too complex */');
    expect(formatCType(sut, 3)).toContain('/* type chain too deep */');
  });

  it('formats whole signatures, including varargs', () => {
    expect(formatFuncSignature(vmlinux, 19)).toBe('int tcp_v4_rcv(struct sk_buff *skb, u32 len)');
    expect(formatFuncSignature(vmlinux, 27)).toBe('void _printk(const char *fmt, ...)');
    expect(formatFuncSignature(vmlinux, 37)).toBe('int bpf_kprobe_multi_link_attach(void)');
  });

  it('resolves types of a split module through its base', () => {
    const sut = parse(encodeBtf(smallModule(), { base: vmlinux }), vmlinux);
    const id = indexFunctions(sut).get('nft_do_chain')![0]!;
    expect(formatFuncSignature(sut, id)).toBe('int nft_do_chain(struct nft_ctx *ctx, u32 len)');
  });
});

describe('describeFunction', () => {
  it('describes every FUNC of the object with C types, in id order', () => {
    const sut = listFuncs(vmlinux).map(({ id, func }) => describeFunction(vmlinux, id, func));
    expect(sut.map((f) => [f.name, f.btfId, f.linkage])).toEqual([
      ['tcp_v4_rcv', 19, 'global'],
      ['_printk', 27, 'static'],
      ['skb_weird', 32, 'extern'],
      ['bpf_kprobe_multi_link_attach', 37, 'global'],
    ]);
    expect(sut[2]).toEqual({
      name: 'skb_weird',
      object: 'vmlinux',
      btfId: 32,
      linkage: 'extern',
      ret: 'struct sk_buff *',
      params: [
        { name: 'cb', type: 'int (*)(struct sk_buff *skb, u32 len)' },
        { name: 'skb', type: 'struct sk_buff * const' },
        { name: 'buf', type: 'char __attribute__((btf_type_tag("user"))) *' },
        { name: 'arr', type: 'char (*)[48]' },
      ],
    });
    expect(sut[1]!.params).toEqual([
      { name: 'fmt', type: 'const char *' },
      { name: '', type: '...' },
    ]);
  });

  it("indexes only the object's own FUNCs, not the base's", () => {
    const sut = indexFunctions(parse(encodeBtf(smallModule(), { base: vmlinux }), vmlinux));
    expect([...sut.keys()]).toEqual(['nft_do_chain', 'tcp_v4_rcv']);
    expect(sut.get('tcp_v4_rcv')).toEqual([42]);
  });

  it('maps a repeated FUNC name to all its ids in id order, keeping first-seen key order', () => {
    // Given FUNCs a, b, a, c, a (ids 100..104 after a base) and a proto at 105
    const func = (name: string): BtfType => ({ kind: 'func', name, type: 105, linkage: 'static' });
    const space = {
      object: {
        name: 'm',
        kind: 'module' as const,
        firstTypeId: 100,
        types: [
          func('a'),
          func('b'),
          func('a'),
          func('c'),
          func('a'),
          { kind: 'func_proto' as const, ret: 0, params: [] },
        ],
      },
    };
    // When indexed
    const sut = indexFunctions(space);
    // Then every id of `a` is kept, and the other names map to their one id
    expect([...sut.entries()]).toEqual([
      ['a', [100, 102, 104]],
      ['b', [101]],
      ['c', [103]],
    ]);
  });
});
