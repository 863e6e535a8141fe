/**
 * A fast path for reading a whole kernel BTF only to list it: one pass over the raw type
 * section that checks what `parseBtf` checks and records where each record starts, without
 * building a type object per record (a vmlinux has ~127,000; building them, and the garbage
 * collector copying them while the listing runs, was most of `tramway kernel functions`).
 * Records are decoded on demand, by the same decoders as `parseBtf`, and kept once decoded.
 */
import type { BtfObjectKind, BtfType, TypeId } from '../lib/btf-model.js';
import {
  BTF_HEADER_SIZE,
  BTF_MAX_STRING_SECTION,
  BTF_VERSION,
  KIND_BY_NUMBER,
  KIND_NUMBER,
} from './btf-binary.js';
import type { BtfSpace } from './btf-parse.js';
import {
  buildDecoders,
  FIXED_WORDS,
  HOST_LE,
  KIND_FLAG_ALLOWED,
  typeWords,
  VLEN_MUST_BE_ZERO,
  VLEN_WORDS,
} from './btf-parse.js';
import type { BtfStringTable } from './btf-strings.js';
import { createStringTable } from './btf-strings.js';

/**
 * A scanned BTF object: a `BtfSpace` whose `lookup` decodes a record on first use. Its
 * `object.types` has the right length (ids, `nextTypeId`) but only the records decoded so far;
 * read types through `typeAt` (or `lookup`), never by iterating `object.types`.
 */
export interface ScannedBtf extends BtfSpace {
  readonly lookup: (id: TypeId) => BtfType | undefined;
  /** the type section as host-order words */
  readonly words: Uint32Array;
  /** word index of each record, by id - firstTypeId */
  readonly offsets: Uint32Array;
  /** the string section's bytes (offset 0 = string offset 0) */
  readonly stringBytes: Uint8Array;
  readonly strings: BtfStringTable;
}

const KINDS = KIND_BY_NUMBER;
const {
  ptr: K_PTR,
  array: K_ARRAY,
  struct: K_STRUCT,
  union: K_UNION,
  enum: K_ENUM,
  typedef: K_TYPEDEF,
  volatile: K_VOLATILE,
  const: K_CONST,
  restrict: K_RESTRICT,
  func: K_FUNC,
  func_proto: K_FUNC_PROTO,
  var: K_VAR,
  datasec: K_DATASEC,
  decl_tag: K_DECL_TAG,
  type_tag: K_TYPE_TAG,
  enum64: K_ENUM64,
} = KIND_NUMBER;

/** Kinds whose `size_or_type` word is a type reference. */
const SIZE_IS_TYPE = [
  K_PTR,
  K_TYPEDEF,
  K_VOLATILE,
  K_CONST,
  K_RESTRICT,
  K_TYPE_TAG,
  K_FUNC,
  K_FUNC_PROTO,
  K_VAR,
  K_DECL_TAG,
].reduce((m, k) => m | (1 << k), 0);

/**
 * Scans a base (not split) BTF blob in host byte order. Returns undefined when the blob is not
 * plainly valid, or is anything but the common case (big-endian, split, unaligned): the caller
 * then parses it with `parseBtf`, which accepts the same blobs and words the errors. Every check
 * `parseBtf` makes is made here, more strictly where that is simpler (every name offset of
 * every record is checked to be inside the string section), so a blob scanned here parses.
 */
export const scanBtf = (
  bytes: Uint8Array,
  options: { readonly name: string; readonly kind: BtfObjectKind },
): ScannedBtf | undefined => {
  if (bytes.length < BTF_HEADER_SIZE || !HOST_LE) return undefined;
  if (bytes[0] !== 0x9f || bytes[1] !== 0xeb || bytes[2] !== BTF_VERSION) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hdrLen = view.getUint32(4, true);
  const typeOff = view.getUint32(8, true);
  const typeLen = view.getUint32(12, true);
  const strOff = view.getUint32(16, true);
  const strLen = view.getUint32(20, true);
  const typeStart = hdrLen + typeOff;
  const typeEnd = typeStart + typeLen;
  const strStart = hdrLen + strOff;
  const strEnd = strStart + strLen;
  if (
    hdrLen < BTF_HEADER_SIZE ||
    hdrLen > bytes.length ||
    typeOff % 4 !== 0 ||
    typeLen % 4 !== 0 ||
    typeEnd > bytes.length ||
    strEnd > bytes.length ||
    (typeStart < strEnd && strStart < typeEnd && typeLen > 0) ||
    strLen === 0 ||
    strLen >= BTF_MAX_STRING_SECTION ||
    bytes[strStart] !== 0 ||
    bytes[strEnd - 1] !== 0
  )
    return undefined;
  const words = typeWords(bytes, typeStart, typeLen, true);
  const nWords = words.length;
  // every record is at least 3 words
  const offsets = new Uint32Array(Math.floor(nWords / 3) + 1);
  let count = 0;
  let maxRef = 0;
  let w = 0;
  const nameOk = (off: number): boolean => off < strLen;
  while (w < nWords) {
    if (w + 3 > nWords) return undefined;
    const info = words[w + 1]!;
    const vlen = info & 0xffff;
    const kindNum = (info >>> 24) & 0x1f;
    if (KINDS[kindNum] === undefined || (info & 0x60ff0000) !== 0) return undefined;
    if (info >>> 31 === 1 && (KIND_FLAG_ALLOWED & (1 << kindNum)) === 0) return undefined;
    const b = w + 3;
    const next = b + FIXED_WORDS[kindNum]! + VLEN_WORDS[kindNum]! * vlen;
    if (next > nWords) return undefined;
    if (vlen !== 0 && (VLEN_MUST_BE_ZERO & (1 << kindNum)) !== 0) return undefined;
    if (!nameOk(words[w]!)) return undefined;
    if ((SIZE_IS_TYPE & (1 << kindNum)) !== 0 && words[w + 2]! > maxRef) maxRef = words[w + 2]!;
    if (kindNum === K_FUNC) {
      if (vlen > 2) return undefined;
    } else if (kindNum === K_VAR) {
      if (words[b]! > 2) return undefined;
    } else if (kindNum === K_ARRAY) {
      if (words[b]! > maxRef) maxRef = words[b]!;
      if (words[b + 1]! > maxRef) maxRef = words[b + 1]!;
    } else if (kindNum === K_STRUCT || kindNum === K_UNION || kindNum === K_ENUM64) {
      for (let m = b; m < next; m += 3) {
        if (!nameOk(words[m]!)) return undefined;
        if (kindNum !== K_ENUM64 && words[m + 1]! > maxRef) maxRef = words[m + 1]!;
      }
    } else if (kindNum === K_ENUM || kindNum === K_FUNC_PROTO) {
      for (let m = b; m < next; m += 2) {
        if (!nameOk(words[m]!)) return undefined;
        if (kindNum === K_FUNC_PROTO && words[m + 1]! > maxRef) maxRef = words[m + 1]!;
      }
    } else if (kindNum === K_DATASEC) {
      for (let m = b; m < next; m += 3) if (words[m]! > maxRef) maxRef = words[m]!;
    }
    offsets[count++] = w;
    w = next;
  }
  if (maxRef > count) return undefined;

  const stringBytes = bytes.subarray(strStart, strEnd);
  const strings = createStringTable(stringBytes);
  const name = (offset: number): string => strings.at(offset) ?? '';
  const noRef = (): void => undefined;
  const decoders = buildDecoders(words, typeStart, name, name, noRef, noRef);
  const types = new Array<BtfType>(count);
  const lookup = (id: TypeId): BtfType | undefined => {
    if (id < 1 || id > count) return undefined;
    let t = types[id - 1];
    if (t === undefined) {
      const at = offsets[id - 1]!;
      const info = words[at + 1]!;
      t = decoders[(info >>> 24) & 0x1f]!(
        words[at]!,
        words[at + 2]!,
        info & 0xffff,
        info >>> 31 === 1,
        at + 3,
        typeStart + 4 * at,
        id,
      );
      types[id - 1] = t!;
    }
    return t;
  };
  return {
    object: { name: options.name, kind: options.kind, firstTypeId: 1, types },
    lookup,
    words,
    offsets: offsets.subarray(0, count),
    stringBytes,
    strings,
  };
};
