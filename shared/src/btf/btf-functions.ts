import type { BtfFuncType, FuncLinkage, TypeId } from '../lib/btf-model.js';
import { formatCType, typeAt } from './btf-c-format.js';
import type { BtfSpace } from './btf-parse.js';

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
