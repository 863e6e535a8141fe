import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { BtfObject, BtfType } from '../../../shared/src/kernel/index.js';
import {
  describeFunction,
  encodeBtf,
  formatCType,
  listFuncs,
  parseBtf,
} from '../../../shared/src/btf/index.js';
import type { ParsedBtf } from '../../../shared/src/btf/index.js';
import { smallModule, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';
import { BTF_INT } from '../../support/btf-types.js';

const parseOk = (bytes: Uint8Array, base?: ParsedBtf, name = 'vmlinux'): ParsedBtf => {
  const r = parseBtf(bytes, base ? { name, kind: 'module', base } : { name, kind: 'vmlinux' });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

/** A hand-assembled little-endian blob, independent of the encoder. */
const handBlob = (): Uint8Array => {
  const strings = '\0int\0f\0x\0';
  // [1] INT 'int' size 4 signed 32 bits; [2] PTR -> 1; [3] FUNC_PROTO ret 1 (x: [2]); [4] FUNC 'f' global -> 3
  const words = [
    1,
    (1 << 24) >>> 0,
    4,
    (1 << 24) | 32,
    0,
    2 << 24,
    1,
    0,
    (13 << 24) | 1,
    1,
    7,
    2,
    5,
    (12 << 24) | 1,
    3,
  ];
  const typeLen = words.length * 4;
  const out = new Uint8Array(24 + typeLen + strings.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true);
  out[2] = 1;
  v.setUint32(4, 24, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true);
  v.setUint32(20, strings.length, true);
  words.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, true));
  out.set(new TextEncoder().encode(strings), 24 + typeLen);
  return out;
};

describe('parseBtf', () => {
  it('decodes a hand-assembled blob field by field', () => {
    const sut = parseOk(handBlob());
    expect(sut.byteOrder).toBe('little');
    expect(sut.object).toEqual({
      name: 'vmlinux',
      kind: 'vmlinux',
      firstTypeId: 1,
      types: [
        BTF_INT,
        { kind: 'ptr', type: 1 },
        { kind: 'func_proto', ret: 1, params: [{ name: 'x', type: 2 }] },
        { kind: 'func', name: 'f', type: 3, linkage: 'global' },
      ],
    });
  });

  it('round-trips every kind through the encoder, in both byte orders', () => {
    const object = smallVmlinux();
    for (const byteOrder of ['little', 'big'] as const) {
      const bytes = encodeBtf(object, { byteOrder });
      const sut = parseOk(bytes);
      expect(sut.byteOrder).toBe(byteOrder);
      expect(sut.object).toEqual(object);
    }
  });

  it('reads a big-endian blob as the same object as its little-endian twin', () => {
    const le = parseOk(encodeBtf(smallVmlinux(), { byteOrder: 'little' }));
    const be = parseOk(encodeBtf(smallVmlinux(), { byteOrder: 'big' }));
    expect(be.object).toEqual(le.object);
    expect(encodeBtf(smallVmlinux(), { byteOrder: 'big' })[0]).toBe(0xeb);
  });

  it('decodes non-ASCII names as UTF-8', () => {
    const object: BtfObject = {
      name: 'vmlinux',
      kind: 'vmlinux',
      firstTypeId: 1,
      types: [
        { kind: 'float', name: 'café', size: 8 },
        { kind: 'typedef', name: 'ok_\u{1F600}', type: 1 },
        { kind: 'typedef', name: 'plain', type: 1 },
      ],
    };
    expect(parseOk(encodeBtf(object)).object).toEqual(object);
  });

  it('parses an unaligned blob (copy path)', () => {
    const bytes = encodeBtf(smallVmlinux());
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    expect(parseOk(shifted).object).toEqual(smallVmlinux());
  });

  it('parses split BTF: ids continue after the base, string offsets after the base strings', () => {
    const base = parseOk(encodeBtf(smallVmlinux()));
    const module = smallModule();
    const bytes = encodeBtf(module, { base });
    const sut = parseOk(bytes, base, 'nf_tables');
    expect(sut.object).toEqual(module);
    expect(sut.object.firstTypeId).toBe(smallVmlinux().types.length + 1);
    expect(sut.strings.start).toBe(base.strings.end);
    expect(sut.base).toBe(base);
  });

  it('refuses split BTF whose type references go past its own last id', () => {
    const base = parseOk(encodeBtf(smallVmlinux()));
    const module = smallModule();
    const broken: BtfObject = {
      ...module,
      types: [...module.types, { kind: 'ptr', type: module.firstTypeId + 99 }],
    };
    const r = parseBtf(encodeBtf(broken, { base }), { name: 'm', kind: 'module', base });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('BtfBadTypeRef');
      expect(r.error.message).toContain(`type id ${module.firstTypeId + 99}`);
    }
  });

  it('refuses to encode a split object whose first id does not follow the base', () => {
    const base = parseOk(encodeBtf(smallVmlinux()));
    expect(() => encodeBtf(smallModule('m', 99), { base })).toThrow(
      /starts at type id 99, expected 38/,
    );
  });

  describe('names and values shared between records', () => {
    it('gives a param repeated across prototypes the same fields, and tells apart a param with another type', () => {
      // Given three prototypes with the param `x` of type 1 twice and of type 2 once
      const object: BtfObject = {
        name: 'vmlinux',
        kind: 'vmlinux',
        firstTypeId: 1,
        types: [
          BTF_INT,
          { kind: 'ptr', type: 1 },
          {
            kind: 'func_proto',
            ret: 1,
            params: [
              { name: 'x', type: 1 },
              { name: 'y', type: 2 },
            ],
          },
          { kind: 'func_proto', ret: 0, params: [{ name: 'x', type: 2 }] },
          {
            kind: 'func_proto',
            ret: 2,
            params: [
              { name: 'y', type: 2 },
              { name: 'x', type: 1 },
            ],
          },
          { kind: 'func_proto', ret: 0, params: [] },
        ],
      };
      // When it is parsed
      const sut = parseOk(encodeBtf(object)).object;
      // Then every param reads back as written
      expect(sut).toEqual(object);
    });

    it('decodes every name right when there are more distinct names than the name cache holds', () => {
      // Given 20,000 members with distinct names, and a second struct naming them in reverse order
      const names = Array.from({ length: 20000 }, (_, i) => `m${i}`);
      const members = (order: readonly string[]): BtfObject['types'][number] => ({
        kind: 'struct',
        name: 'big',
        size: 4,
        kindFlag: false,
        members: order.map((name, i) => ({ name, type: 0, bitOffset: i, bitfieldSize: 0 })),
      });
      const object: BtfObject = {
        name: 'vmlinux',
        kind: 'vmlinux',
        firstTypeId: 1,
        types: [members(names), members([...names].reverse())],
      };
      // When parsed, Then both read back name for name
      expect(parseOk(encodeBtf(object)).object).toEqual(object);
    });

    it('reads enum values on both sides of the small-value table, unsigned and signed', () => {
      const values = [0n, 1n, 1023n, 1024n, 65535n, 0xffffffffn];
      const object: BtfObject = {
        name: 'vmlinux',
        kind: 'vmlinux',
        firstTypeId: 1,
        types: [
          {
            kind: 'enum',
            name: 'u',
            size: 4,
            kindFlag: false,
            values: values.map((value, i) => ({ name: `U${i}`, value })),
          },
          {
            kind: 'enum',
            name: 's',
            size: 4,
            kindFlag: true,
            values: [-1n, 0n, 1023n, 1024n, -2147483648n].map((value, i) => ({
              name: `S${i}`,
              value,
            })),
          },
          { kind: 'enum', name: 'empty', size: 4, kindFlag: false, values: [] },
        ],
      };
      expect(parseOk(encodeBtf(object)).object).toEqual(object);
    });

    it('reports a bad name offset in a member or a param at that entry', () => {
      // hand blob: the only param of [3] FUNC_PROTO starts at word 10 (INT 4 words, PTR 3, proto head 3)
      const b = handBlob();
      const v = new DataView(b.buffer);
      v.setUint32(24 + 4 * 10, 0xfffff, true);
      expect(parseBtf(b, { name: 'x', kind: 'vmlinux' })).toMatchObject({
        ok: false,
        error: { code: 'BtfBadName', offset: 24 + 4 * 10 },
      });
    });
  });

  describe('corrupt input', () => {
    const valid = encodeBtf(smallVmlinux());

    it('names the byte offset for every truncation of a valid blob', () => {
      for (let len = 0; len < valid.length; len++) {
        const r = parseBtf(valid.subarray(0, len), { name: 'x', kind: 'vmlinux' });
        expect(r.ok, `prefix of ${len} bytes`).toBe(false);
        if (!r.ok) {
          expect(r.error.offset).toBeGreaterThanOrEqual(0);
          expect(r.error.offset).toBeLessThanOrEqual(len);
          expect(r.error.message).toMatch(/at byte \d+/);
        }
      }
    });

    const corrupt = (patch: (v: DataView, b: Uint8Array) => void): ReturnType<typeof parseBtf> => {
      const b = valid.slice();
      patch(new DataView(b.buffer), b);
      return parseBtf(b, { name: 'x', kind: 'vmlinux' });
    };

    it.each([
      ['bad magic', (_v: DataView, b: Uint8Array): void => void (b[0] = 0x12), 'BtfBadMagic', 0],
      ['bad version', (_v: DataView, b: Uint8Array): void => void (b[2] = 2), 'BtfBadVersion', 2],
      ['hdr_len too small', (v: DataView) => v.setUint32(4, 8, true), 'BtfBadHeader', 4],
      [
        'type_len not a multiple of 4',
        (v: DataView) => v.setUint32(12, v.getUint32(12, true) - 2, true),
        'BtfBadHeader',
        12,
      ],
      [
        'unknown kind 31 in type [1]',
        (v: DataView) => v.setUint32(24 + 4, 31 << 24, true),
        'BtfBadType',
        28,
      ],
      [
        'name offset past the strings',
        (v: DataView) => v.setUint32(24, 0xfffff, true),
        'BtfBadName',
        24,
      ],
      [
        'string section without final NUL',
        (_v: DataView, b: Uint8Array): void => void (b[b.length - 1] = 0x41),
        'BtfBadStrings',
        valid.length - 1,
      ],
      [
        'kind_flag on an INT',
        (v: DataView) => v.setUint32(28, (v.getUint32(28, true) | 0x80000000) >>> 0, true),
        'BtfBadType',
        28,
      ],
    ] as const)('%s', (_what, patch, code, offset) => {
      const r = corrupt(patch);
      expect(r).toMatchObject({ ok: false, error: { code, offset } });
    });
  });

  it('round-trips random objects (property)', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,12}$/);
    const arbType = (maxId: number): fc.Arbitrary<BtfType> => {
      const ref = fc.integer({ min: 0, max: maxId });
      return fc.oneof(
        fc.record({ kind: fc.constant('ptr' as const), type: ref }),
        fc.record({
          kind: fc.constant('int' as const),
          name,
          size: fc.constantFrom(1, 2, 4, 8),
          signed: fc.boolean(),
          char: fc.boolean(),
          bool: fc.boolean(),
          bitOffset: fc.integer({ min: 0, max: 255 }),
          bits: fc.integer({ min: 0, max: 128 }),
        }),
        fc
          .record({
            kind: fc.constantFrom('struct' as const, 'union' as const),
            name,
            size: fc.nat(),
            kindFlag: fc.boolean(),
            members: fc.array(
              fc.record({
                name,
                type: ref,
                bitOffset: fc.integer({ min: 0, max: 0xffffff }),
                bitfieldSize: fc.integer({ min: 0, max: 255 }),
              }),
              { maxLength: 4 },
            ),
          })
          .map((s) => ({
            ...s,
            members: s.kindFlag ? s.members : s.members.map((m) => ({ ...m, bitfieldSize: 0 })),
          })),
        fc
          .record({
            kind: fc.constant('enum64' as const),
            name,
            size: fc.constant(8),
            kindFlag: fc.boolean(),
            values: fc.array(
              fc.record({ name, value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
              { maxLength: 3 },
            ),
          })
          .map((e) => ({
            ...e,
            values: e.values.map((v) => ({
              ...v,
              value: e.kindFlag ? BigInt.asIntN(64, v.value) : v.value,
            })),
          })),
        fc.record({
          kind: fc.constant('func_proto' as const),
          ret: ref,
          params: fc.array(fc.record({ name, type: ref }), { maxLength: 4 }),
        }),
        fc.record({
          kind: fc.constant('func' as const),
          name,
          type: ref,
          linkage: fc.constantFrom('static' as const, 'global' as const, 'extern' as const),
        }),
      );
    };
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 12 })
          .chain((n) => fc.array(arbType(n), { minLength: n, maxLength: n })),
        fc.constantFrom('little' as const, 'big' as const),
        (types, byteOrder) => {
          const object: BtfObject = { name: 'vmlinux', kind: 'vmlinux', firstTypeId: 1, types };
          expect(parseOk(encodeBtf(object, { byteOrder })).object).toEqual(object);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('parseBtf on corrupted blobs (property)', () => {
  it('never throws: a corrupted blob is an error naming an offset, or BTF that formats without throwing', () => {
    const valid = encodeBtf(smallVmlinux());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.nat({ max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat({ max: valid.length }),
        (flips, cut) => {
          const bytes = valid.slice(0, Math.max(cut, 24));
          for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
          const r = parseBtf(bytes, { name: 'x', kind: 'vmlinux' });
          if (!r.ok) {
            expect(r.error.offset).toBeGreaterThanOrEqual(0);
            expect(r.error.offset).toBeLessThanOrEqual(bytes.length);
            return;
          }
          for (const { id, func } of listFuncs(r.value)) describeFunction(r.value, id, func);
          r.value.object.types.forEach((_t, i) => formatCType(r.value, i + 1, 'x'));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
