import type { BtfFuncType, FuncLinkage, TypeId } from '../lib/btf-model.js';
import { formatCType, typeAt } from './btf-c-format.js';
import type { BtfSpace } from './btf-parse.js';
import type { ScannedBtf } from './btf-scan.js';
import { KIND_NUMBER, LINKAGE_BY_NUMBER } from './btf-binary.js';
import { encodeUtf8 } from '../lib/utf8.js';

/** One FUNC of a BTF object with its prototype spelled as C, as `tramway kernel functions` prints it. */
export interface BtfFunctionInfo {
  readonly name: string;
  /** the BTF object the FUNC lives in (`vmlinux`, a module name, a file) */
  readonly object: string;
  readonly btfId: TypeId;
  readonly linkage: FuncLinkage;
  readonly ret: string;
  readonly params: readonly { readonly name: string; readonly type: string }[];
}

/**
 * Every FUNC of the space's own object (not of its base) by name. Names are usually unique in
 * deduplicated kernel BTF, but nothing in the format forbids repeats, so each name maps to ids.
 */
export const indexFunctions = (space: BtfSpace): ReadonlyMap<string, readonly TypeId[]> => {
  const byName = new Map<string, TypeId[]>();
  const { types, firstTypeId } = space.object;
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    if (t.kind !== 'func') continue;
    const ids = byName.get(t.name);
    if (ids) ids.push(firstTypeId + i);
    else byName.set(t.name, [firstTypeId + i]);
  }
  return byName;
};

/** The FUNCs of the space's own object in id order, as `{ id, func }` pairs. */
export const listFuncs = (
  space: BtfSpace,
): readonly { readonly id: TypeId; readonly func: BtfFuncType }[] => {
  const out: { id: TypeId; func: BtfFuncType }[] = [];
  const { types, firstTypeId } = space.object;
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    if (t.kind === 'func') out.push({ id: firstTypeId + i, func: t });
  }
  return out;
};

/**
 * Describes a FUNC: linkage, return type and parameters as C. A FUNC whose type is not a
 * FUNC_PROTO (invalid BTF that the parser lets through) gets an empty parameter list and a
 * `ret` explaining the problem.
 */
export const describeFunction = (
  space: BtfSpace,
  id: TypeId,
  func: BtfFuncType,
): BtfFunctionInfo => {
  const proto = typeAt(space, func.type);
  if (!proto || proto.kind !== 'func_proto')
    return {
      name: func.name,
      object: space.object.name,
      btfId: id,
      linkage: func.linkage,
      ret: `/* type ${func.type} is not a func_proto */`,
      params: [],
    };
  return {
    name: func.name,
    object: space.object.name,
    btfId: id,
    linkage: func.linkage,
    ret: formatCType(space, proto.ret),
    params: proto.params.map((p, i) => ({
      name: p.name,
      type: p.type === 0 && i === proto.params.length - 1 ? '...' : formatCType(space, p.type),
    })),
  };
};

const K_FUNC = KIND_NUMBER.func;
const K_FUNC_PROTO = KIND_NUMBER.func_proto;
const isScanned = (space: BtfSpace): space is ScannedBtf => 'offsets' in space;

/** Bytes of JSON gathered before `emit` is called: large writes, few of them. */
const JSON_CHUNK_BYTES = 1 << 20;

/**
 * An append-only UTF-8 buffer handing full chunks to `emit`. Each chunk is a fresh array: the
 * receiver may keep it (a stream queues it) while the next one fills.
 */
const createJsonSink = (emit: (chunk: Uint8Array) => void) => {
  let buf = new Uint8Array(JSON_CHUNK_BYTES);
  let pos = 0;
  const room = (n: number): void => {
    if (pos + n <= buf.length) return;
    if (pos > 0) emit(buf.subarray(0, pos));
    buf = new Uint8Array(Math.max(JSON_CHUNK_BYTES, n));
    pos = 0;
  };
  /** bytes as they are (JSON made once and cached) */
  const bytes = (b: Uint8Array): void => {
    room(b.length);
    // most are a few bytes (a type's JSON), which a loop copies faster than a set() call
    if (b.length > 64) {
      buf.set(b, pos);
      pos += b.length;
    } else for (let i = 0; i < b.length; i++) buf[pos++] = b[i]!;
  };
  /** our own punctuation and keys: ASCII, nothing to escape */
  const ascii = (text: string): void => {
    room(text.length);
    for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
  };
  /** a non-negative integer's digits */
  const uint = (n: number): void => {
    // digits written in place, without a string per number
    room(16);
    let len = 1;
    for (let v = n; v >= 10; v = Math.floor(v / 10)) len++;
    for (let i = pos + len - 1, v = n; i >= pos; i--, v = Math.floor(v / 10))
      buf[i] = 48 + (v % 10);
    pos += len;
  };
  /**
   * A string as a JSON string literal, byte for byte what `JSON.stringify` then UTF-8 give.
   * Kernel names are printable ASCII and are copied as they are; anything else (a quote, a
   * backslash, a control or non-ASCII character) goes through JSON.stringify.
   */
  const string = (text: string): void => {
    room(text.length + 2);
    const start = pos;
    buf[pos++] = 0x22;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
        pos = start;
        bytes(encodeUtf8(JSON.stringify(text)));
        return;
      }
      buf[pos++] = c;
    }
    buf[pos++] = 0x22;
  };
  /**
   * The NUL-terminated string at `start` of a string section as a JSON string literal, copied
   * from the bytes when they are printable ASCII without a quote or backslash (kernel names);
   * otherwise `string(text(start))`, the same bytes by way of the decoded string.
   */
  const cstring = (src: Uint8Array, start: number, text: (start: number) => string): void => {
    let stop = src.indexOf(0, start);
    if (stop < 0) stop = src.length;
    room(stop - start + 2);
    const begin = pos;
    buf[pos++] = 0x22;
    for (let i = start; i < stop; i++) {
      const c = src[i]!;
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
        pos = begin;
        string(text(start));
        return;
      }
      buf[pos++] = c;
    }
    buf[pos++] = 0x22;
  };
  const end = (): void => {
    if (pos > 0) emit(buf.subarray(0, pos));
    pos = 0;
  };
  return { bytes, ascii, uint, string, cstring, end };
};

/**
 * Every FUNC of the spaces' own objects as the JSON array `tramway kernel functions --json`
 * prints, UTF-8: `JSON.stringify(describeFunction(...))` per FUNC, one per line (`[\n`, `,\n`
 * between, `\n]\n`; `[]\n` when there is none), handed to `emit` in chunks of about a megabyte.
 *
 * The same bytes as stringifying the described functions (a unit test holds them equal), made
 * without them: no object or string per function or parameter, and each type's C spelling is
 * formatted and encoded once per space (a vmlinux has ~56,000 FUNCs but a few thousand distinct
 * parameter types). Listing a kernel then allocates little beyond the parsed BTF itself, which
 * is what kept the garbage collector busy (bench:cli, btfListRatio).
 */
export const writeFunctionsJson = (
  spaces: readonly BtfSpace[],
  emit: (chunk: Uint8Array) => void,
): void => {
  const out = createJsonSink(emit);
  const ELLIPSIS = encodeUtf8('"..."');
  let first = true;
  for (const space of spaces) {
    const { types, firstTypeId } = space.object;
    const objectJson = encodeUtf8(JSON.stringify(space.object.name));
    const typeJson = new Map<TypeId, Uint8Array>();
    const typeText = (id: TypeId): Uint8Array => {
      let b = typeJson.get(id);
      if (b === undefined) {
        b = encodeUtf8(JSON.stringify(formatCType(space, id)));
        typeJson.set(id, b);
      }
      return b;
    };
    if (isScanned(space)) {
      // straight from the type section's words: no object per FUNC, FUNC_PROTO or parameter
      const { words, offsets, stringBytes, strings } = space;
      const text = (offset: number): string => strings.at(offset) ?? '';
      for (let i = 0; i < offsets.length; i++) {
        const w = offsets[i]!;
        const info = words[w + 1]!;
        if (((info >>> 24) & 0x1f) !== K_FUNC) continue;
        out.ascii(first ? '[\n{"name":' : ',\n{"name":');
        first = false;
        out.cstring(stringBytes, words[w]!, text);
        out.ascii(',"object":');
        out.bytes(objectJson);
        out.ascii(',"btfId":');
        out.uint(firstTypeId + i);
        out.ascii(',"linkage":');
        out.string(LINKAGE_BY_NUMBER[info & 0xffff]!);
        out.ascii(',"ret":');
        const protoId = words[w + 2]!;
        const p = protoId >= firstTypeId ? offsets[protoId - firstTypeId] : undefined;
        if (p === undefined || ((words[p + 1]! >>> 24) & 0x1f) !== K_FUNC_PROTO) {
          out.string(`/* type ${protoId} is not a func_proto */`);
          out.ascii(',"params":[]}');
          continue;
        }
        out.bytes(typeText(words[p + 2]!));
        out.ascii(',"params":[');
        const vlen = words[p + 1]! & 0xffff;
        for (let j = 0, m = p + 3; j < vlen; j++, m += 2) {
          out.ascii(j === 0 ? '{"name":' : ',{"name":');
          out.cstring(stringBytes, words[m]!, text);
          out.ascii(',"type":');
          const type = words[m + 1]!;
          out.bytes(type === 0 && j === vlen - 1 ? ELLIPSIS : typeText(type));
          out.ascii('}');
        }
        out.ascii(']}');
      }
      continue;
    }
    for (let i = 0; i < types.length; i++) {
      const func = types[i]!;
      if (func.kind !== 'func') continue;
      out.ascii(first ? '[\n{"name":' : ',\n{"name":');
      first = false;
      out.string(func.name);
      out.ascii(',"object":');
      out.bytes(objectJson);
      out.ascii(',"btfId":');
      out.uint(firstTypeId + i);
      out.ascii(',"linkage":');
      out.string(func.linkage);
      out.ascii(',"ret":');
      const proto = typeAt(space, func.type);
      if (!proto || proto.kind !== 'func_proto') {
        out.string(`/* type ${func.type} is not a func_proto */`);
        out.ascii(',"params":[]}');
        continue;
      }
      out.bytes(typeText(proto.ret));
      out.ascii(',"params":[');
      const params = proto.params;
      for (let p = 0; p < params.length; p++) {
        const param = params[p]!;
        out.ascii(p === 0 ? '{"name":' : ',{"name":');
        out.string(param.name);
        out.ascii(',"type":');
        out.bytes(param.type === 0 && p === params.length - 1 ? ELLIPSIS : typeText(param.type));
        out.ascii('}');
      }
      out.ascii(']}');
    }
  }
  out.ascii(first ? '[]\n' : '\n]\n');
  out.end();
};
