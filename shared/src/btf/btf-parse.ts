/**
 * The BTF binary format parser (vmlinux and split module BTF), one decoder per kind. Kept in one
 * file over ~400 lines: the decoders share the cursor, the string section and the byte order, and
 * stay monomorphic in the hot loop (measured by bench:btf).
 */
import type {
  BtfEnumValue,
  BtfMember,
  BtfObject,
  BtfObjectKind,
  BtfParam,
  BtfType,
  BtfVarSecInfo,
  TypeId,
} from '../lib/btf-model.js';
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
  KIND_NUMBER,
  LINKAGE_BY_NUMBER,
} from './btf-binary.js';
import type { BtfStringTable } from './btf-strings.js';
import { createStringTable } from './btf-strings.js';

/** A BTF object together with the base it is split from (module BTF on top of vmlinux). */
export interface BtfSpace {
  readonly object: BtfObject;
  readonly base?: BtfSpace;
  /**
   * Decodes the type with an id of this object on demand (a scanned object, see `scanBtf`,
   * whose `object.types` holds only the records decoded so far); absent when `object.types`
   * holds every type.
   */
  readonly lookup?: (id: TypeId) => BtfType | undefined;
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
export const typeWords = (
  bytes: Uint8Array,
  start: number,
  length: number,
  le: boolean,
): Uint32Array => {
  if (le === HOST_LE && (bytes.byteOffset + start) % 4 === 0)
    return new Uint32Array(bytes.buffer, bytes.byteOffset + start, length / 4);
  const copy = bytes.slice(start, start + length);
  if (le !== HOST_LE)
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

export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The id after the last type of a space: where a split object on top of it starts. */
export const nextTypeId = (space: BtfSpace): TypeId =>
  space.object.firstTypeId + space.object.types.length;

/**
 * One empty array shared by every record without trailing entries (FUNC_PROTO without params,
 * empty struct/union/enum): the model's arrays are readonly, so sharing is invisible.
 */
const EMPTY: never[] = [];

/*
 * Read once at load: the parse loop works on kind numbers (small integers, indexes into the
 * tables below and into the per-parse decoder table) rather than kind names, and a binding read
 * once is not re-read through a module namespace per record.
 */
const KINDS = KIND_BY_NUMBER;
const LINKAGES = LINKAGE_BY_NUMBER;
const TYPE_SIZE = BTF_TYPE_SIZE;
const SIGNED = INT_SIGNED;
const CHAR = INT_CHAR;
const BOOL = INT_BOOL;
const {
  int: K_INT,
  ptr: K_PTR,
  array: K_ARRAY,
  struct: K_STRUCT,
  union: K_UNION,
  enum: K_ENUM,
  fwd: K_FWD,
  typedef: K_TYPEDEF,
  volatile: K_VOLATILE,
  const: K_CONST,
  restrict: K_RESTRICT,
  func: K_FUNC,
  func_proto: K_FUNC_PROTO,
  var: K_VAR,
  datasec: K_DATASEC,
  float: K_FLOAT,
  decl_tag: K_DECL_TAG,
  type_tag: K_TYPE_TAG,
  enum64: K_ENUM64,
} = KIND_NUMBER;

/** Words of trailing data after the 12-byte record: a fixed part plus a part per `vlen` entry. */
export const FIXED_WORDS = new Uint8Array(KINDS.length);
export const VLEN_WORDS = new Uint8Array(KINDS.length);
FIXED_WORDS[K_INT] = FIXED_WORDS[K_VAR] = FIXED_WORDS[K_DECL_TAG] = 1; // u32 encoding/linkage/component
FIXED_WORDS[K_ARRAY] = 3; // struct btf_array
VLEN_WORDS[K_STRUCT] = VLEN_WORDS[K_UNION] = 3; // struct btf_member
VLEN_WORDS[K_ENUM64] = 3; // struct btf_enum64
VLEN_WORDS[K_DATASEC] = 3; // struct btf_var_secinfo
VLEN_WORDS[K_ENUM] = VLEN_WORDS[K_FUNC_PROTO] = 2; // struct btf_enum, struct btf_param

const kindMask = (kinds: readonly number[]): number => kinds.reduce((m, k) => m | (1 << k), 0);

/** Kinds whose kind_flag means something (bitfield members, signed enum, union fwd, attribute tags). */
export const KIND_FLAG_ALLOWED = kindMask([
  K_STRUCT,
  K_UNION,
  K_ENUM,
  K_ENUM64,
  K_FWD,
  K_TYPE_TAG,
  K_DECL_TAG,
]);

/** Kinds whose `vlen` carries nothing; the kernel rejects a non-zero one (btf.c meta checks). */
export const VLEN_MUST_BE_ZERO = kindMask([
  K_INT,
  K_PTR,
  K_ARRAY,
  K_FWD,
  K_TYPEDEF,
  K_VOLATILE,
  K_CONST,
  K_RESTRICT,
  K_VAR,
  K_FLOAT,
  K_DECL_TAG,
  K_TYPE_TAG,
]);

/** Enum values below this come from a table rather than a fresh BigInt each (most enums count from 0). */
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));
const enumValue = (raw: number): bigint =>
  raw >= 0 && raw < SMALL_BIGINTS.length ? SMALL_BIGINTS[raw]! : BigInt(raw);

/**
 * Decodes one record of the kind it is registered for, once the loop has checked its header
 * and that its trailing data (from word `b`) is inside the type section; `off` is the record's
 * byte offset. Returns the type, or undefined after recording why the record is invalid.
 */
export type Decoder = (
  nameOff: number,
  sizeOrType: number,
  vlen: number,
  kindFlag: boolean,
  b: number,
  off: number,
  id: TypeId,
) => BtfType | undefined;

/**
 * A direct-mapped cache of names by string offset, for the names of members, params and enum
 * values: deduplicated BTF has one offset per distinct string and those names repeat (`skb`,
 * `dev`, `list`, `flags` across thousands of records), so most lookups return the string made
 * the first time instead of a new one. A colliding offset replaces the entry; no probing, and a
 * small table (8,192 slots) that stays in cache. Type names are mostly unique and bypass it.
 * Returns the name at `offset` (`''` for 0), or `onBad(offset, at)` when it is outside the chain.
 */
const NAME_CACHE_BITS = 13;
const createNameCache = (
  strings: BtfStringTable,
  onBad: (offset: number, at: number) => string,
): ((offset: number, at: number) => string) => {
  const keys = new Int32Array(1 << NAME_CACHE_BITS).fill(-1);
  const values: string[] = new Array<string>(1 << NAME_CACHE_BITS).fill('');
  return (offset, at) => {
    if (offset === 0) return '';
    // Fibonacci hashing: the top bits of the offset times 2^32/phi
    const i = Math.imul(offset, 0x9e3779b1) >>> (32 - NAME_CACHE_BITS);
    if (keys[i] === offset) return values[i]!;
    const s = strings.at(offset);
    if (s === undefined) return onBad(offset, at);
    keys[i] = offset;
    values[i] = s;
    return s;
  };
};

/** Looks up a name by string offset; `at` is the byte offset reported when it is invalid. */
export type NameLookup = (offset: number, at: number) => string;

/**
 * The per-kind decoders over a type section's words (`typeStart`: the section's byte offset in
 * the blob, for error offsets), shared by `parseBtf` (which walks every record) and the lazy
 * space of `scanBtf` (which decodes single records on demand). `ref` sees every type reference,
 * `onError` why a record is invalid (the decoder then returns undefined).
 */
export const buildDecoders = (
  words: Uint32Array,
  typeStart: number,
  name: NameLookup,
  partName: NameLookup,
  ref: (type: TypeId, at: number) => void,
  onError: (error: Result<never, BtfParseError>) => void,
): Decoder[] => {
  const decoders: Decoder[] = new Array<Decoder>(KINDS.length);
  decoders[K_INT] = (nameOff, size, _vlen, _kindFlag, b, off) => {
    const word = words[b]!;
    const encoding = (word >>> 24) & 0x0f;
    return {
      kind: 'int',
      name: name(nameOff, off),
      size,
      signed: (encoding & SIGNED) !== 0,
      char: (encoding & CHAR) !== 0,
      bool: (encoding & BOOL) !== 0,
      bitOffset: (word >>> 16) & 0xff,
      bits: word & 0xff,
    };
  };
  decoders[K_PTR] = (_nameOff, type, _vlen, _kindFlag, _b, off) => {
    ref(type, off);
    return { kind: 'ptr', type };
  };
  decoders[K_ARRAY] = (_nameOff, _size, _vlen, _kindFlag, b, off) => {
    const elemType = words[b]!;
    const indexType = words[b + 1]!;
    ref(elemType, off + TYPE_SIZE);
    ref(indexType, off + TYPE_SIZE + 4);
    return { kind: 'array', elemType, indexType, nelems: words[b + 2]! };
  };
  const structOrUnion =
    (kind: 'struct' | 'union'): Decoder =>
    (nameOff, size, vlen, kindFlag, b, off) => {
      const members: BtfMember[] = vlen === 0 ? EMPTY : new Array<BtfMember>(vlen);
      for (let i = 0, m = b; i < vlen; i++, m += 3) {
        const type = words[m + 1]!;
        const offset = words[m + 2]!;
        ref(type, typeStart + 4 * (m + 1));
        const memberName = partName(words[m]!, typeStart + 4 * m);
        members[i] = kindFlag
          ? { name: memberName, type, bitOffset: offset & 0xffffff, bitfieldSize: offset >>> 24 }
          : { name: memberName, type, bitOffset: offset, bitfieldSize: 0 };
      }
      return { kind, name: name(nameOff, off), size, kindFlag, members };
    };
  decoders[K_STRUCT] = structOrUnion('struct');
  decoders[K_UNION] = structOrUnion('union');
  decoders[K_ENUM] = (nameOff, size, vlen, kindFlag, b, off) => {
    const values: BtfEnumValue[] = vlen === 0 ? EMPTY : new Array<BtfEnumValue>(vlen);
    for (let i = 0, m = b; i < vlen; i++, m += 2) {
      const raw = kindFlag ? words[m + 1]! | 0 : words[m + 1]!;
      values[i] = { name: partName(words[m]!, typeStart + 4 * m), value: enumValue(raw) };
    }
    return { kind: 'enum', name: name(nameOff, off), size, kindFlag, values };
  };
  decoders[K_ENUM64] = (nameOff, size, vlen, kindFlag, b, off) => {
    const values: BtfEnumValue[] = vlen === 0 ? EMPTY : new Array<BtfEnumValue>(vlen);
    for (let i = 0, m = b; i < vlen; i++, m += 3) {
      const raw = (BigInt(words[m + 2]!) << 32n) | BigInt(words[m + 1]!);
      values[i] = {
        name: partName(words[m]!, typeStart + 4 * m),
        value: kindFlag ? BigInt.asIntN(64, raw) : raw,
      };
    }
    return { kind: 'enum64', name: name(nameOff, off), size, kindFlag, values };
  };
  decoders[K_FWD] = (nameOff, _size, _vlen, kindFlag, _b, off) => ({
    kind: 'fwd',
    name: name(nameOff, off),
    kindFlag,
  });
  const reference =
    (kind: 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag'): Decoder =>
    (nameOff, type, _vlen, kindFlag, _b, off) => {
      ref(type, off + 8);
      return kindFlag
        ? { kind, name: name(nameOff, off), type, kindFlag }
        : { kind, name: name(nameOff, off), type };
    };
  decoders[K_TYPEDEF] = reference('typedef');
  decoders[K_VOLATILE] = reference('volatile');
  decoders[K_CONST] = reference('const');
  decoders[K_RESTRICT] = reference('restrict');
  decoders[K_TYPE_TAG] = reference('type_tag');
  decoders[K_FUNC] = (nameOff, type, vlen, _kindFlag, _b, off, id) => {
    const linkage = LINKAGES[vlen];
    if (linkage === undefined) {
      onError(fail('BtfBadType', off + 4, `type [${id}] func: unknown linkage ${vlen}`));
      return undefined;
    }
    ref(type, off + 8);
    return { kind: 'func', name: name(nameOff, off), type, linkage };
  };
  decoders[K_FUNC_PROTO] = (_nameOff, ret, vlen, _kindFlag, b, off) => {
    const params: BtfParam[] = vlen === 0 ? EMPTY : new Array<BtfParam>(vlen);
    for (let i = 0, m = b; i < vlen; i++, m += 2) {
      const type = words[m + 1]!;
      ref(type, typeStart + 4 * (m + 1));
      params[i] = { name: partName(words[m]!, typeStart + 4 * m), type };
    }
    ref(ret, off + 8);
    return { kind: 'func_proto', ret, params };
  };
  decoders[K_VAR] = (nameOff, type, _vlen, _kindFlag, b, off, id) => {
    const linkage = LINKAGES[words[b]!];
    if (linkage === undefined) {
      onError(
        fail('BtfBadType', off + TYPE_SIZE, `type [${id}] var: unknown linkage ${words[b]!}`),
      );
      return undefined;
    }
    ref(type, off + 8);
    return { kind: 'var', name: name(nameOff, off), type, linkage };
  };
  decoders[K_DATASEC] = (nameOff, size, vlen, _kindFlag, b, off) => {
    const vars: BtfVarSecInfo[] = vlen === 0 ? EMPTY : new Array<BtfVarSecInfo>(vlen);
    for (let i = 0, m = b; i < vlen; i++, m += 3) {
      const type = words[m]!;
      ref(type, typeStart + 4 * m);
      vars[i] = { type, offset: words[m + 1]!, size: words[m + 2]! };
    }
    return { kind: 'datasec', name: name(nameOff, off), size, vars };
  };
  decoders[K_FLOAT] = (nameOff, size, _vlen, _kindFlag, _b, off) => ({
    kind: 'float',
    name: name(nameOff, off),
    size,
  });
  decoders[K_DECL_TAG] = (nameOff, type, _vlen, kindFlag, b, off) => {
    ref(type, off + 8);
    return kindFlag
      ? { kind: 'decl_tag', name: name(nameOff, off), type, componentIdx: words[b]! | 0, kindFlag }
      : { kind: 'decl_tag', name: name(nameOff, off), type, componentIdx: words[b]! | 0 };
  };
  return decoders;
};

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
  const nWords = words.length;
  const types: BtfType[] = [];
  let maxRef = 0;
  let maxRefAt = 0;
  let id = firstTypeId;
  let badName = -1;
  let badNameAt = 0;

  // the first name offset outside the string chain is the error reported after the loop
  const badNameOff = (nameOff: number, at: number): string => {
    if (badName < 0) {
      badName = nameOff;
      badNameAt = at;
    }
    return '';
  };
  const name = (nameOff: number, at: number): string =>
    nameOff === 0 ? '' : (strings.at(nameOff) ?? badNameOff(nameOff, at));
  const partName = createNameCache(strings, badNameOff);

  // One decoder per kind, called through this table from a single call site: the loop stays
  // small (a cold parse is mostly baseline code until the optimising compiler has compiled the
  // loop, and a large loop body takes tens of ms to compile), and a kind first met late in the
  // blob (vmlinux ends with VARs and a DATASEC) does not throw away the loop's optimised code.
  // A decoder returns undefined after setting `decodeError`.
  let decodeError: Result<never, BtfParseError> | undefined;
  const ref = (type: TypeId, at: number): void => {
    if (type > maxRef) {
      maxRef = type;
      maxRefAt = at;
    }
  };
  const decoders = buildDecoders(words, typeStart, name, partName, ref, (e) => {
    decodeError = e;
  });

  // `w` walks the type section in words; byte offsets (for errors) are typeStart + 4 * w
  let w = 0;
  while (w < nWords) {
    const off = typeStart + 4 * w;
    if (w + 3 > nWords)
      return fail(
        'BtfTruncated',
        off,
        `type [${id}]: record needs ${TYPE_SIZE} bytes, ${typeEnd - off} left in the type section`,
      );
    const nameOff = words[w]!;
    const info = words[w + 1]!;
    const sizeOrType = words[w + 2]!;
    const vlen = info & 0xffff;
    const kindNum = (info >>> 24) & 0x1f;
    const kindFlag = info >>> 31 === 1;
    const kind = KINDS[kindNum];
    if (kind === undefined)
      return fail('BtfBadType', off + 4, `type [${id}]: unknown kind ${kindNum}`);
    if ((info & 0x60ff0000) !== 0)
      return fail(
        'BtfBadType',
        off + 4,
        `type [${id}] ${kind}: reserved bits set in info 0x${(info >>> 0).toString(16)}`,
      );
    if (kindFlag && (KIND_FLAG_ALLOWED & (1 << kindNum)) === 0)
      return fail('BtfBadType', off + 4, `type [${id}] ${kind}: kind_flag must be 0`);
    // trailing data in words
    const extra = FIXED_WORDS[kindNum]! + VLEN_WORDS[kindNum]! * vlen;
    const b = w + 3;
    const body = off + TYPE_SIZE;
    if (b + extra > nWords)
      return fail(
        'BtfTruncated',
        off,
        `type [${id}] ${kind}: needs ${4 * extra} bytes of trailing data, ${typeEnd - body} left in the type section`,
      );
    if (vlen !== 0 && (VLEN_MUST_BE_ZERO & (1 << kindNum)) !== 0)
      return fail('BtfBadType', off + 4, `type [${id}] ${kind}: vlen ${vlen} must be 0`);
    const t = decoders[kindNum]!(nameOff, sizeOrType, vlen, kindFlag, b, off, id);
    if (t === undefined) return decodeError!;
    types.push(t);
    w = b + extra;
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
