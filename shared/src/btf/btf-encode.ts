import type { BtfObject, BtfType } from '../lib/btf-model.js';
import { assertNever } from '../lib/assert-never.js';
import { encodeUtf8 } from '../lib/utf8.js';
import type { BtfByteOrder } from './btf-binary.js';
import {
  BTF_HEADER_SIZE,
  BTF_MAGIC,
  BTF_VERSION,
  INT_BOOL,
  INT_CHAR,
  INT_SIGNED,
  KIND_NUMBER,
  LINKAGE_BY_NUMBER,
} from './btf-binary.js';
import type { ParsedBtf } from './btf-parse.js';
import { nextTypeId } from './btf-parse.js';

export interface EncodeBtfOptions {
  /** default 'little' */
  readonly byteOrder?: BtfByteOrder;
  /** encode as split BTF on top of this base: ids and string offsets continue after the base's */
  readonly base?: ParsedBtf;
}

const linkageNumber = (linkage: string): number => {
  const n = (LINKAGE_BY_NUMBER as readonly string[]).indexOf(linkage);
  if (n < 0) throw new Error(`encodeBtf: unknown linkage '${linkage}'`);
  return n;
};

/**
 * Encodes a `BtfObject` into the BTF binary format; `parseBtf(encodeBtf(o))` gives back `o`.
 * Used to build fixtures (including split module BTF without a module on the machine).
 * Throws an Error when the object cannot be encoded (a split object whose `firstTypeId` does not
 * follow its base, a base object not starting at id 1): that is a bug in the caller's fixture.
 */
export const encodeBtf = (object: BtfObject, options: EncodeBtfOptions = {}): Uint8Array => {
  const le = (options.byteOrder ?? 'little') === 'little';
  const base = options.base;
  const expectedFirst = base ? nextTypeId(base) : 1;
  if (object.firstTypeId !== expectedFirst)
    throw new Error(
      `encodeBtf: '${object.name}' starts at type id ${object.firstTypeId}, expected ${expectedFirst}${base ? ` (after base '${base.object.name}')` : ''}`,
    );

  const strStart = base ? base.strings.end : 0;
  const strParts: Uint8Array[] = [];
  const strOffsets = new Map<string, number>();
  let strLen = 0;
  const addString = (s: string): number => {
    const bytes = encodeUtf8(s);
    strParts.push(bytes, new Uint8Array(1));
    const at = strStart + strLen;
    strLen += bytes.length + 1;
    return at;
  };
  if (!base) strOffsets.set('', addString(''));
  const str = (s: string): number => {
    if (s === '') return 0;
    const known = strOffsets.get(s);
    if (known !== undefined) return known;
    const at = addString(s);
    strOffsets.set(s, at);
    return at;
  };

  const words: number[] = [];
  const info = (kind: BtfType['kind'], vlen: number, kindFlag: boolean): number =>
    ((kindFlag ? 0x80000000 : 0) | (KIND_NUMBER[kind] << 24) | (vlen & 0xffff)) >>> 0;
  const head = (name: string, infoWord: number, sizeOrType: number): void => {
    words.push(str(name), infoWord, sizeOrType >>> 0);
  };

  for (const t of object.types) {
    switch (t.kind) {
      case 'int': {
        const enc = (t.signed ? INT_SIGNED : 0) | (t.char ? INT_CHAR : 0) | (t.bool ? INT_BOOL : 0);
        head(t.name, info(t.kind, 0, false), t.size);
        words.push(((enc << 24) | ((t.bitOffset & 0xff) << 16) | (t.bits & 0xff)) >>> 0);
        break;
      }
      case 'ptr':
        head('', info(t.kind, 0, false), t.type);
        break;
      case 'array':
        head('', info(t.kind, 0, false), 0);
        words.push(t.elemType, t.indexType, t.nelems);
        break;
      case 'struct':
      case 'union':
        head(t.name, info(t.kind, t.members.length, t.kindFlag), t.size);
        for (const m of t.members)
          words.push(
            str(m.name),
            m.type,
            t.kindFlag ? ((m.bitfieldSize << 24) | (m.bitOffset & 0xffffff)) >>> 0 : m.bitOffset,
          );
        break;
      case 'enum':
        head(t.name, info(t.kind, t.values.length, t.kindFlag), t.size);
        for (const v of t.values) words.push(str(v.name), Number(BigInt.asUintN(32, v.value)));
        break;
      case 'enum64':
        head(t.name, info(t.kind, t.values.length, t.kindFlag), t.size);
        for (const v of t.values) {
          const raw = BigInt.asUintN(64, v.value);
          words.push(str(v.name), Number(raw & 0xffffffffn), Number(raw >> 32n));
        }
        break;
      case 'fwd':
        head(t.name, info(t.kind, 0, t.kindFlag), 0);
        break;
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        head(t.name, info(t.kind, 0, t.kindFlag === true), t.type);
        break;
      case 'func':
        head(t.name, info(t.kind, linkageNumber(t.linkage), false), t.type);
        break;
      case 'func_proto':
        head('', info(t.kind, t.params.length, false), t.ret);
        for (const p of t.params) words.push(str(p.name), p.type);
        break;
      case 'var':
        head(t.name, info(t.kind, 0, false), t.type);
        words.push(linkageNumber(t.linkage));
        break;
      case 'datasec':
        head(t.name, info(t.kind, t.vars.length, false), t.size);
        for (const v of t.vars) words.push(v.type, v.offset, v.size);
        break;
      case 'float':
        head(t.name, info(t.kind, 0, false), t.size);
        break;
      case 'decl_tag':
        head(t.name, info(t.kind, 0, t.kindFlag === true), t.type);
        words.push(t.componentIdx >>> 0);
        break;
      default:
        assertNever(t, 'BTF type');
    }
  }

  const typeLen = words.length * 4;
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + strLen);
  const view = new DataView(out.buffer);
  view.setUint16(0, BTF_MAGIC, le);
  out[2] = BTF_VERSION;
  out[3] = 0;
  view.setUint32(4, BTF_HEADER_SIZE, le);
  view.setUint32(8, 0, le);
  view.setUint32(12, typeLen, le);
  view.setUint32(16, typeLen, le);
  view.setUint32(20, strLen, le);
  let at = BTF_HEADER_SIZE;
  for (const w of words) {
    view.setUint32(at, w, le);
    at += 4;
  }
  for (const part of strParts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};
