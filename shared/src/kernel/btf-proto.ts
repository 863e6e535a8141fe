/**
 * Prototype helpers over the BTF model: type lookup through split BTF, modifier stripping,
 * prototype distillation (spec §3.12.3), slot layout (spec §2.1.3) and the V24 prototype
 * part-match (spec §3.3).
 */
import type { BtfFuncProtoType, BtfObject, BtfType, TypeId } from '../lib/btf-model.js';

/** A BTF object together with the base it is split on (modules), so every id can be resolved. */
export interface BtfView {
  readonly btf: BtfObject;
  readonly base: BtfObject | null;
}

/** MAX_BPF_FUNC_ARGS (include/linux/bpf.h): 12. */
export const MAX_BPF_FUNC_ARGS = 12;
/** Largest by-value struct/union argument the trampolines pass (spec §3.12.3): 16 bytes. */
export const MAX_BY_VALUE_ARG_SIZE = 16;

/** The type with id `id`, or null for `void` (id 0) and out-of-range ids. */
export const typeById = (view: BtfView, id: TypeId): BtfType | null => {
  if (id <= 0) return null;
  const own = view.btf;
  if (id >= own.firstTypeId) return own.types[id - own.firstTypeId] ?? null;
  const base = view.base;
  if (base === null || id < base.firstTypeId) return null;
  return base.types[id - base.firstTypeId] ?? null;
};

/** The last valid type id of the view (its own types; base ids are below). */
export const lastTypeId = (view: BtfView): TypeId =>
  view.btf.firstTypeId + view.btf.types.length - 1;

const MODIFIERS = new Set(['typedef', 'const', 'volatile', 'restrict', 'type_tag']);

/** Strips typedef/const/volatile/restrict/type_tag; returns the first other type id (0 = void). */
export const skipModifiers = (view: BtfView, id: TypeId): TypeId => {
  let cur = id;
  for (let guard = 0; guard < 64; guard++) {
    const t = typeById(view, cur);
    if (t === null || !MODIFIERS.has(t.kind)) return cur;
    cur = (t as { type: TypeId }).type;
  }
  return cur;
};

const typeName = (t: BtfType | null): string =>
  t === null ? 'void' : 'name' in t && t.name !== '' ? `${t.kind} ${t.name}` : t.kind;

/** Human-readable rendering of a type id for error reasons. */
export const describeType = (view: BtfView, id: TypeId): string => {
  const t = typeById(view, id);
  if (t === null) return 'void';
  if (t.kind === 'ptr') return `${describeType(view, t.type)} *`;
  if (MODIFIERS.has(t.kind) && t.kind !== 'typedef')
    return `${t.kind} ${describeType(view, (t as { type: TypeId }).type)}`;
  return typeName(t);
};

/** Byte size of a type (pointer 8, void 0); modifiers are followed. */
export const typeSize = (view: BtfView, id: TypeId): number => {
  const t = typeById(view, skipModifiers(view, id));
  if (t === null) return 0;
  switch (t.kind) {
    case 'ptr':
      return 8;
    case 'int':
    case 'struct':
    case 'union':
    case 'enum':
    case 'enum64':
    case 'float':
    case 'datasec':
      return t.size;
    case 'array':
      return typeSize(view, t.elemType) * t.nelems;
    default:
      return 0;
  }
};

/** One 8-byte slot per scalar/pointer argument, roundup(size, 8)/8 for a by-value struct (spec §2.1.3). */
export const slotBytes = (view: BtfView, id: TypeId): number => {
  const t = typeById(view, skipModifiers(view, id));
  if (t !== null && t.kind === 'ptr') return 8;
  return Math.ceil(typeSize(view, id) / 8) * 8;
};

/** A prototype that passed distillation (btf_distill_func_proto). */
export interface DistilledProto {
  readonly protoId: TypeId;
  readonly nargs: number;
  /** byte offset of each parameter's first slot */
  readonly offsets: readonly number[];
  /** bytes of slots of each parameter (8 or 16) */
  readonly sizes: readonly number[];
  /** total argument slot bytes; the return slot starts here */
  readonly totalBytes: number;
  readonly retId: TypeId;
}

export type Distilled =
  | { readonly ok: true; readonly proto: DistilledProto }
  | { readonly ok: false; readonly reason: string };

/**
 * Memo of successful distillations per BTF object and FUNC_PROTO id. BTF objects are immutable
 * values, so the memo never changes a result; it keeps a 50k-target attach from re-walking the
 * same deduplicated prototype 50k times.
 */
const DISTILLED = new WeakMap<BtfObject, Map<TypeId, Distilled>>();

/** btf_distill_func_proto rules (spec §3.12.3): ≤ 12 params, no varargs, no struct return, params 1..16 bytes. */
export const distillProto = (view: BtfView, protoId: TypeId, fname: string): Distilled => {
  let memo = DISTILLED.get(view.btf);
  if (memo === undefined) {
    memo = new Map();
    DISTILLED.set(view.btf, memo);
  }
  const known = memo.get(protoId);
  if (known !== undefined) return known;
  const result = distillUncached(view, protoId, fname);
  if (result.ok) memo.set(protoId, result);
  return result;
};

const distillUncached = (view: BtfView, protoId: TypeId, fname: string): Distilled => {
  const p = typeById(view, protoId);
  if (p === null || p.kind !== 'func_proto')
    return { ok: false, reason: `${fname}: type ${protoId} is not a FUNC_PROTO` };
  if (p.params.length > MAX_BPF_FUNC_ARGS)
    return {
      ok: false,
      reason: `The function ${fname} has ${p.params.length} arguments. Too many (max ${MAX_BPF_FUNC_ARGS})`,
    };
  const last = p.params[p.params.length - 1];
  if (last !== undefined && last.type === 0)
    return { ok: false, reason: `The function ${fname} with variable args is unsupported` };
  const ret = typeById(view, skipModifiers(view, p.ret));
  if (ret !== null && !['int', 'ptr', 'enum', 'enum64'].includes(ret.kind))
    return {
      ok: false,
      reason: `The function ${fname} return type ${describeType(view, p.ret)} is unsupported`,
    };
  const offsets: number[] = [];
  const sizes: number[] = [];
  let off = 0;
  for (const [i, param] of p.params.entries()) {
    const t = typeById(view, skipModifiers(view, param.type));
    const kindOk =
      t !== null && ['int', 'ptr', 'enum', 'enum64', 'struct', 'union'].includes(t.kind);
    const size = typeSize(view, param.type);
    if (!kindOk || size === 0 || size > MAX_BY_VALUE_ARG_SIZE)
      return {
        ok: false,
        reason: `The function ${fname} arg${i} type ${describeType(view, param.type)} has size ${size}; unsupported`,
      };
    const bytes = slotBytes(view, param.type);
    offsets.push(off);
    sizes.push(bytes);
    off += bytes;
  }
  return {
    ok: true,
    proto: { protoId, nargs: p.params.length, offsets, sizes, totalBytes: off, retId: p.ret },
  };
};

/** The FUNC_PROTO object of a distilled prototype. */
export const protoOf = (view: BtfView, protoId: TypeId): BtfFuncProtoType | null => {
  const p = typeById(view, protoId);
  return p !== null && p.kind === 'func_proto' ? p : null;
};

const vlenOf = (t: BtfType): number => {
  switch (t.kind) {
    case 'struct':
    case 'union':
      return t.members.length;
    case 'enum':
    case 'enum64':
      return t.values.length;
    case 'func_proto':
      return t.params.length;
    case 'datasec':
      return t.vars.length;
    default:
      return 0;
  }
};

const kindFlagOf = (t: BtfType): boolean =>
  t.kind === 'struct' ||
  t.kind === 'union' ||
  t.kind === 'enum' ||
  t.kind === 'enum64' ||
  t.kind === 'fwd'
    ? t.kindFlag
    : false;

const sizedKinds = new Set(['int', 'struct', 'union', 'enum', 'enum64', 'float', 'datasec']);

/**
 * Rule R of spec §3.3: same kind, vlen and kind_flag (the raw `info` word), equal sizes for
 * sized kinds; INT/ENUM pass; by-value STRUCT/UNION need equal names; PTR needs both pointees to be
 * STRUCT/UNION with equal names; everything else (void, arrays, other pointers) fails.
 * Returns null when compatible, else the reason.
 */
export const ruleR = (v1: BtfView, id1: TypeId, v2: BtfView, id2: TypeId): string | null => {
  const s1 = skipModifiers(v1, id1);
  const s2 = skipModifiers(v2, id2);
  const t1 = typeById(v1, s1);
  const t2 = typeById(v2, s2);
  if (t1 === null || t2 === null) return `void type is not comparable`;
  if (t1.kind !== t2.kind || vlenOf(t1) !== vlenOf(t2) || kindFlagOf(t1) !== kindFlagOf(t2))
    return `type ${describeType(v1, s1)} does not match ${describeType(v2, s2)} (kind/vlen/kind_flag)`;
  if (sizedKinds.has(t1.kind) && typeSize(v1, s1) !== typeSize(v2, s2))
    return `type ${describeType(v1, s1)} size ${typeSize(v1, s1)} differs from ${describeType(v2, s2)} size ${typeSize(v2, s2)}`;
  switch (t1.kind) {
    case 'int':
    case 'enum':
    case 'enum64':
      return null;
    case 'struct':
    case 'union':
      return t1.name === (t2 as { name: string }).name
        ? null
        : `struct name ${t1.name} differs from ${(t2 as { name: string }).name}`;
    case 'ptr': {
      const p1 = typeById(v1, skipModifiers(v1, t1.type));
      const p2 = typeById(v2, skipModifiers(v2, (t2 as { type: TypeId }).type));
      const isSu = (t: BtfType | null): t is BtfType & { name: string } =>
        t !== null && (t.kind === 'struct' || t.kind === 'union');
      if (!isSu(p1) || !isSu(p2))
        return `pointer ${describeType(v1, s1)} does not point to a struct or union`;
      return p1.name === p2.name ? null : `pointee ${p1.name} differs from ${p2.name}`;
    }
    default:
      return `type kind ${t1.kind} is not comparable`;
  }
};

/**
 * btf_check_func_part_match (spec §3.3): for every accessed index i ≤ n1, the argument at
 * origin offset off(i) must start a parameter of the target at the same offset with a compatible
 * type; the return value (i = n1) needs equal argument footprints and compatible return types.
 * Indices above n1 are ignored. Returns null when compatible, else the reason (EINVAL).
 */
export const partMatch = (
  v1: BtfView,
  origin: DistilledProto,
  v2: BtfView,
  target: DistilledProto,
  accessed: readonly number[],
): string | null => {
  const p1 = protoOf(v1, origin.protoId);
  const p2 = protoOf(v2, target.protoId);
  if (p1 === null || p2 === null) return 'prototype is not a FUNC_PROTO';
  for (const i of accessed) {
    if (i > origin.nargs) continue;
    if (i === origin.nargs) {
      if (origin.totalBytes !== target.totalBytes)
        return `return slot at offset ${origin.totalBytes} in the origin but ${target.totalBytes} in the target`;
      const why = ruleR(v1, p1.ret, v2, p2.ret);
      if (why !== null) return `return value: ${why}`;
      continue;
    }
    const off = origin.offsets[i] ?? -1;
    const j = target.offsets.indexOf(off);
    if (j < 0) return `arg${i} at offset ${off} has no target parameter starting there`;
    const why = ruleR(v1, p1.params[i]?.type ?? 0, v2, p2.params[j]?.type ?? 0);
    if (why !== null) return `arg${i} at offset ${off}: ${why}`;
  }
  return null;
};
