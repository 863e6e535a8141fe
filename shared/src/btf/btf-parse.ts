import type {
  BtfEnumValue,
  BtfKind,
  BtfMember,
  BtfObject,
  BtfObjectKind,
  BtfParam,
  BtfType,
  BtfVarSecInfo,
  TypeId,
} from '../kernel/btf.js';
import type { Result } from '../lib/result.js';
import { err, ok } from '../lib/result.js';
import type { BtfByteOrder } from './btf-binary.js';
import {
  BTF_HEADER_SIZE,
  BTF_MAGIC,
  BTF_MAX_STRING_SECTION,
  BTF_TYPE_SIZE,
  BTF_VERSION,
  INT_BOOL,
  INT_CHAR,
  INT_SIGNED,
  KIND_BY_NUMBER,
  LINKAGE_BY_NUMBER,
} from './btf-binary.js';
import type { BtfStringTable } from './btf-strings.js';
import { createStringTable } from './btf-strings.js';

/** A BTF object together with the base it is split from (module BTF on top of vmlinux). */
export interface BtfSpace {
  readonly object: BtfObject;
  readonly base?: BtfSpace;
}

/** What the parser produces: the model object plus what a split object on top of it needs. */
export interface ParsedBtf extends BtfSpace {
  readonly base?: ParsedBtf;
  readonly byteOrder: BtfByteOrder;
  /** `btf_header.flags` (0 in every kernel so far) */
  readonly flags: number;
  readonly strings: BtfStringTable;
}

export const BtfParseErrorCode = {
  Truncated: 'BtfTruncated',
  BadMagic: 'BtfBadMagic',
  BadVersion: 'BtfBadVersion',
  BadHeader: 'BtfBadHeader',
  BadStrings: 'BtfBadStrings',
  BadType: 'BtfBadType',
  BadTypeRef: 'BtfBadTypeRef',
  BadName: 'BtfBadName',
} as const;
export type BtfParseErrorCode = (typeof BtfParseErrorCode)[keyof typeof BtfParseErrorCode];

/** Why a blob is not valid BTF: a code, the byte offset in the blob, and a readable message. */
export interface BtfParseError {
  readonly code: BtfParseErrorCode;
  /** byte offset inside the blob where the problem was found */
  readonly offset: number;
  readonly message: string;
}

export interface ParseBtfOptions {
  readonly name: string;
  readonly kind: BtfObjectKind;
  /** the base object for split BTF (a module's blob on top of vmlinux) */
  readonly base?: ParsedBtf;
}

const fail = (
  code: BtfParseErrorCode,
  offset: number,
  message: string,
): Result<never, BtfParseError> => err({ code, offset, message: `${message} (at byte ${offset})` });

/**
 * The type section as 32-bit words in host order (every field of a type record is a u32/s32).
 * A little-endian, aligned blob is viewed in place; otherwise the section is copied (and
 * byte-swapped for a big-endian blob) once, so the parse loop only does array reads.
 */
const typeWords = (bytes: Uint8Array, start: number, length: number, le: boolean): Uint32Array => {
  const hostLe = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (le === hostLe && (bytes.byteOffset + start) % 4 === 0)
    return new Uint32Array(bytes.buffer, bytes.byteOffset + start, length / 4);
  const copy = bytes.slice(start, start + length);
  if (le !== hostLe)
    for (let i = 0; i < copy.length; i += 4) {
      const b0 = copy[i]!;
      const b1 = copy[i + 1]!;
      copy[i] = copy[i + 3]!;
      copy[i + 1] = copy[i + 2]!;
      copy[i + 2] = b1;
      copy[i + 3] = b0;
    }
  return new Uint32Array(copy.buffer, 0, length / 4);
};

/** The id after the last type of a space: where a split object on top of it starts. */
export const nextTypeId = (space: BtfSpace): TypeId =>
  space.object.firstTypeId + space.object.types.length;

const EMPTY_MEMBERS: readonly never[] = [];

/** Kinds whose kind_flag means something (bitfield members, signed enum, union fwd, attribute tags). */
const KIND_FLAG_ALLOWED: ReadonlySet<BtfKind> = new Set<BtfKind>([
  'struct',
  'union',
  'enum',
  'enum64',
  'fwd',
  'type_tag',
  'decl_tag',
]);

/** Kinds whose `vlen` carries nothing; the kernel rejects a non-zero one (btf.c meta checks). */
const VLEN_MUST_BE_ZERO: ReadonlySet<BtfKind> = new Set<BtfKind>([
  'int',
  'ptr',
  'array',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'var',
  'float',
  'decl_tag',
  'type_tag',
]);

/**
 * Parses a BTF blob (either byte order, recognised by the magic) into a `BtfObject`.
 * With `options.base` the blob is split BTF: its type ids continue after the base's last id and
 * its string offsets after the base's string section. Never throws: a truncated or corrupt blob
 * is an error naming the byte offset and what is wrong. Type references are checked to be in
 * range (ids up to the last type of this object).
 */
export const parseBtf = (
  bytes: Uint8Array,
  options: ParseBtfOptions,
): Result<ParsedBtf, BtfParseError> => {
  if (bytes.length < BTF_HEADER_SIZE)
    return fail(
      'BtfTruncated',
      bytes.length,
      `header needs ${BTF_HEADER_SIZE} bytes, the blob has ${bytes.length}`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) le = true;
  else if (bytes[0] === 0xeb && bytes[1] === 0x9f) le = false;
  else
    return fail(
      'BtfBadMagic',
      0,
      `bad magic 0x${view.getUint16(0, true).toString(16).padStart(4, '0')}, expected 0x${BTF_MAGIC.toString(16)} in either byte order`,
    );
  const version = bytes[2]!;
  if (version !== BTF_VERSION)
    return fail('BtfBadVersion', 2, `unsupported version ${version}, expected ${BTF_VERSION}`);
  const flags = bytes[3]!;
  const hdrLen = view.getUint32(4, le);
  const typeOff = view.getUint32(8, le);
  const typeLen = view.getUint32(12, le);
  const strOff = view.getUint32(16, le);
  const strLen = view.getUint32(20, le);
  if (hdrLen < BTF_HEADER_SIZE)
    return fail('BtfBadHeader', 4, `hdr_len ${hdrLen} is smaller than ${BTF_HEADER_SIZE}`);
  if (hdrLen > bytes.length)
    return fail('BtfTruncated', 4, `hdr_len ${hdrLen} exceeds the blob size ${bytes.length}`);
  const typeStart = hdrLen + typeOff;
  const typeEnd = typeStart + typeLen;
  const strStart = hdrLen + strOff;
  const strEnd = strStart + strLen;
  if (typeOff % 4 !== 0)
    return fail('BtfBadHeader', 8, `type_off ${typeOff} is not 4-byte aligned`);
  if (typeLen % 4 !== 0)
    return fail('BtfBadHeader', 12, `type_len ${typeLen} is not a multiple of 4`);
  if (typeEnd > bytes.length)
    return fail(
      'BtfTruncated',
      bytes.length,
      `type section [${typeStart}, ${typeEnd}) extends past the end of the blob (${bytes.length} bytes)`,
    );
  if (strEnd > bytes.length)
    return fail(
      'BtfTruncated',
      bytes.length,
      `string section [${strStart}, ${strEnd}) extends past the end of the blob (${bytes.length} bytes)`,
    );
  if (typeStart < strEnd && strStart < typeEnd && typeLen > 0 && strLen > 0)
    return fail('BtfBadHeader', 8, 'type and string sections overlap');
  const base = options.base;
  if (strLen === 0 && !base)
    return fail(
      'BtfBadStrings',
      strStart,
      'empty string section (a base BTF needs at least "\\0")',
    );
  if (strLen >= BTF_MAX_STRING_SECTION)
    return fail('BtfBadStrings', 20, `string section of ${strLen} bytes is too large`);
  if (strLen > 0) {
    if (!base && bytes[strStart] !== 0)
      return fail('BtfBadStrings', strStart, 'string section does not start with "\\0"');
    if (bytes[strEnd - 1] !== 0)
      return fail('BtfBadStrings', strEnd - 1, 'string section does not end with "\\0"');
  }
  const strings = createStringTable(bytes.subarray(strStart, strEnd), base?.strings);
  const firstTypeId = base ? nextTypeId(base) : 1;

  const words = typeWords(bytes, typeStart, typeLen, le);
  const u32 = (at: number): number => words[(at - typeStart) >>> 2]!;
  const types: BtfType[] = [];
  let maxRef = 0;
  let maxRefAt = 0;
  let off = typeStart;
  let id = firstTypeId;
  let badName = -1;
  let badNameAt = 0;
  const ref = (type: TypeId, at: number): void => {
    if (type > maxRef) {
      maxRef = type;
      maxRefAt = at;
    }
  };
  const name = (nameOff: number, at: number): string => {
    const s = strings.at(nameOff);
    if (s !== undefined) return s;
    if (badName < 0) {
      badName = nameOff;
      badNameAt = at;
    }
    return '';
  };

  while (off < typeEnd) {
    if (off + BTF_TYPE_SIZE > typeEnd)
      return fail(
        'BtfTruncated',
        off,
        `type [${id}]: record needs ${BTF_TYPE_SIZE} bytes, ${typeEnd - off} left in the type section`,
      );
    const nameOff = u32(off);
    const info = u32(off + 4);
    const sizeOrType = u32(off + 8);
    const vlen = info & 0xffff;
    const kindNum = (info >>> 24) & 0x1f;
    const kindFlag = info >>> 31 === 1;
    const kind = KIND_BY_NUMBER[kindNum];
    if (kind === undefined)
      return fail('BtfBadType', off + 4, `type [${id}]: unknown kind ${kindNum}`);
    if ((info & 0x60ff0000) !== 0)
      return fail(
        'BtfBadType',
        off + 4,
        `type [${id}] ${kind}: reserved bits set in info 0x${(info >>> 0).toString(16)}`,
      );
    if (kindFlag && !KIND_FLAG_ALLOWED.has(kind))
      return fail('BtfBadType', off + 4, `type [${id}] ${kind}: kind_flag must be 0`);
    let extra = 0;
    switch (kind) {
      case 'int':
      case 'var':
      case 'decl_tag':
        extra = 4;
        break;
      case 'array':
        extra = 12;
        break;
      case 'struct':
      case 'union':
      case 'enum64':
      case 'datasec':
        extra = 12 * vlen;
        break;
      case 'enum':
      case 'func_proto':
        extra = 8 * vlen;
        break;
      default:
        extra = 0;
    }
    const body = off + BTF_TYPE_SIZE;
    if (body + extra > typeEnd)
      return fail(
        'BtfTruncated',
        off,
        `type [${id}] ${kind}: needs ${extra} bytes of trailing data, ${typeEnd - body} left in the type section`,
      );
    if (vlen !== 0 && VLEN_MUST_BE_ZERO.has(kind))
      return fail('BtfBadType', off + 4, `type [${id}] ${kind}: vlen ${vlen} must be 0`);
    let t: BtfType;
    switch (kind) {
      case 'int': {
        const word = u32(body);
        const encoding = (word >>> 24) & 0x0f;
        t = {
          kind,
          name: name(nameOff, off),
          size: sizeOrType,
          signed: (encoding & INT_SIGNED) !== 0,
          char: (encoding & INT_CHAR) !== 0,
          bool: (encoding & INT_BOOL) !== 0,
          bitOffset: (word >>> 16) & 0xff,
          bits: word & 0xff,
        };
        break;
      }
      case 'ptr':
        t = { kind, type: sizeOrType };
        ref(sizeOrType, off);
        break;
      case 'array': {
        const elemType = u32(body);
        const indexType = u32(body + 4);
        t = { kind, elemType, indexType, nelems: u32(body + 8) };
        ref(elemType, body);
        ref(indexType, body + 4);
        break;
      }
      case 'struct':
      case 'union': {
        const members: BtfMember[] = new Array<BtfMember>(vlen);
        for (let i = 0, m = body; i < vlen; i++, m += 12) {
          const type = u32(m + 4);
          const offset = u32(m + 8);
          ref(type, m + 4);
          members[i] = kindFlag
            ? {
                name: name(u32(m), m),
                type,
                bitOffset: offset & 0xffffff,
                bitfieldSize: offset >>> 24,
              }
            : { name: name(u32(m), m), type, bitOffset: offset, bitfieldSize: 0 };
        }
        t = { kind, name: name(nameOff, off), size: sizeOrType, kindFlag, members };
        break;
      }
      case 'enum': {
        const values: BtfEnumValue[] = new Array<BtfEnumValue>(vlen);
        for (let i = 0, m = body; i < vlen; i++, m += 8) {
          const raw = kindFlag ? u32(m + 4) | 0 : u32(m + 4);
          values[i] = { name: name(u32(m), m), value: BigInt(raw) };
        }
        t = { kind, name: name(nameOff, off), size: sizeOrType, kindFlag, values };
        break;
      }
      case 'enum64': {
        const values: BtfEnumValue[] = new Array<BtfEnumValue>(vlen);
        for (let i = 0, m = body; i < vlen; i++, m += 12) {
          const raw = (BigInt(u32(m + 8)) << 32n) | BigInt(u32(m + 4));
          values[i] = { name: name(u32(m), m), value: kindFlag ? BigInt.asIntN(64, raw) : raw };
        }
        t = { kind, name: name(nameOff, off), size: sizeOrType, kindFlag, values };
        break;
      }
      case 'fwd':
        t = { kind, name: name(nameOff, off), kindFlag };
        break;
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        t = kindFlag
          ? { kind, name: name(nameOff, off), type: sizeOrType, kindFlag }
          : { kind, name: name(nameOff, off), type: sizeOrType };
        ref(sizeOrType, off + 8);
        break;
      case 'func': {
        const linkage = LINKAGE_BY_NUMBER[vlen];
        if (linkage === undefined)
          return fail('BtfBadType', off + 4, `type [${id}] func: unknown linkage ${vlen}`);
        t = { kind, name: name(nameOff, off), type: sizeOrType, linkage };
        ref(sizeOrType, off + 8);
        break;
      }
      case 'func_proto': {
        const params: BtfParam[] =
          vlen === 0 ? (EMPTY_MEMBERS as unknown as BtfParam[]) : new Array<BtfParam>(vlen);
        for (let i = 0, m = body; i < vlen; i++, m += 8) {
          const type = u32(m + 4);
          ref(type, m + 4);
          params[i] = { name: name(u32(m), m), type };
        }
        t = { kind, ret: sizeOrType, params };
        ref(sizeOrType, off + 8);
        break;
      }
      case 'var': {
        const linkage = LINKAGE_BY_NUMBER[u32(body)];
        if (linkage === undefined)
          return fail('BtfBadType', body, `type [${id}] var: unknown linkage ${u32(body)}`);
        t = { kind, name: name(nameOff, off), type: sizeOrType, linkage };
        ref(sizeOrType, off + 8);
        break;
      }
      case 'datasec': {
        const vars: BtfVarSecInfo[] = new Array<BtfVarSecInfo>(vlen);
        for (let i = 0, m = body; i < vlen; i++, m += 12) {
          const type = u32(m);
          ref(type, m);
          vars[i] = { type, offset: u32(m + 4), size: u32(m + 8) };
        }
        t = { kind, name: name(nameOff, off), size: sizeOrType, vars };
        break;
      }
      case 'float':
        t = { kind, name: name(nameOff, off), size: sizeOrType };
        break;
      case 'decl_tag':
        t = {
          kind,
          name: name(nameOff, off),
          type: sizeOrType,
          componentIdx: u32(body) | 0,
          ...(kindFlag ? { kindFlag } : {}),
        };
        ref(sizeOrType, off + 8);
        break;
    }
    types.push(t);
    off = body + extra;
    id++;
  }
  if (badName >= 0)
    return fail(
      'BtfBadName',
      badNameAt,
      `name offset ${badName} is outside the string section (size ${strings.end})`,
    );
  if (maxRef >= id)
    return fail(
      'BtfBadTypeRef',
      maxRefAt,
      `reference to type id ${maxRef}, but the last type id is ${id - 1}`,
    );
  const object: BtfObject = { name: options.name, kind: options.kind, firstTypeId, types };
  return ok(
    base
      ? { object, base, byteOrder: le ? 'little' : 'big', flags, strings }
      : { object, byteOrder: le ? 'little' : 'big', flags, strings },
  );
};
