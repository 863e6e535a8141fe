/**
 * The BTF type model shared by the kernel model (which builds it from scenario declarations)
 * and the BTF parser (which reads it from the binary format). It sits in lib because both use it
 * and neither may import the other (STYLE.md §3). It mirrors the binary format's kinds closely:
 * part-match (spec §3.3) compares kind, vlen, kind_flag and size, so those are kept exactly.
 * The kernel's index re-exports it.
 */

/** A type id inside one BTF object's id space; 0 is `void`. */
export type TypeId = number;

export const BtfKind = {
  Int: 'int',
  Ptr: 'ptr',
  Array: 'array',
  Struct: 'struct',
  Union: 'union',
  Enum: 'enum',
  Fwd: 'fwd',
  Typedef: 'typedef',
  Volatile: 'volatile',
  Const: 'const',
  Restrict: 'restrict',
  Func: 'func',
  FuncProto: 'func_proto',
  Var: 'var',
  Datasec: 'datasec',
  Float: 'float',
  DeclTag: 'decl_tag',
  TypeTag: 'type_tag',
  Enum64: 'enum64',
} as const;
export type BtfKind = (typeof BtfKind)[keyof typeof BtfKind];

export type FuncLinkage = 'static' | 'global' | 'extern';

export interface BtfIntType {
  readonly kind: 'int';
  readonly name: string;
  readonly size: number;
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
  /** bit offset and width from the INT encoding word (0 and size*8 for plain integers) */
  readonly bitOffset: number;
  readonly bits: number;
}
export interface BtfPtrType {
  readonly kind: 'ptr';
  readonly type: TypeId;
}
export interface BtfArrayType {
  readonly kind: 'array';
  readonly elemType: TypeId;
  readonly indexType: TypeId;
  readonly nelems: number;
}
export interface BtfMember {
  readonly name: string;
  readonly type: TypeId;
  /** bit offset; with kindFlag set the binary format packs the bitfield size in the top 8 bits */
  readonly bitOffset: number;
  readonly bitfieldSize: number;
}
export interface BtfStructType {
  readonly kind: 'struct' | 'union';
  readonly name: string;
  readonly size: number;
  readonly kindFlag: boolean;
  readonly members: readonly BtfMember[];
}
export interface BtfEnumValue {
  readonly name: string;
  readonly value: bigint;
}
export interface BtfEnumType {
  readonly kind: 'enum' | 'enum64';
  readonly name: string;
  readonly size: number;
  /** kind_flag: the values are signed */
  readonly kindFlag: boolean;
  readonly values: readonly BtfEnumValue[];
}
export interface BtfFwdType {
  readonly kind: 'fwd';
  readonly name: string;
  /** kind_flag: forward declaration of a union */
  readonly kindFlag: boolean;
}
export interface BtfRefType {
  readonly kind: 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag';
  readonly name: string;
  readonly type: TypeId;
  /** type_tag only, kind_flag: an `__attribute__((...))` tag rather than a btf_type_tag (present only when set) */
  readonly kindFlag?: boolean;
}
export interface BtfFuncType {
  readonly kind: 'func';
  readonly name: string;
  /** the FUNC_PROTO */
  readonly type: TypeId;
  readonly linkage: FuncLinkage;
}
export interface BtfParam {
  readonly name: string;
  /** 0 with an empty name as the last param means varargs (`...`) */
  readonly type: TypeId;
}
export interface BtfFuncProtoType {
  readonly kind: 'func_proto';
  readonly ret: TypeId;
  readonly params: readonly BtfParam[];
}
export interface BtfVarType {
  readonly kind: 'var';
  readonly name: string;
  readonly type: TypeId;
  readonly linkage: 'static' | 'global' | 'extern';
}
export interface BtfVarSecInfo {
  readonly type: TypeId;
  readonly offset: number;
  readonly size: number;
}
export interface BtfDatasecType {
  readonly kind: 'datasec';
  readonly name: string;
  readonly size: number;
  readonly vars: readonly BtfVarSecInfo[];
}
export interface BtfFloatType {
  readonly kind: 'float';
  readonly name: string;
  readonly size: number;
}
export interface BtfDeclTagType {
  readonly kind: 'decl_tag';
  readonly name: string;
  readonly type: TypeId;
  /** -1 when the tag applies to the type itself, else the member/param index */
  readonly componentIdx: number;
  /** kind_flag: an `__attribute__((...))` tag rather than a btf_decl_tag (present only when set) */
  readonly kindFlag?: boolean;
}

export type BtfType =
  | BtfIntType
  | BtfPtrType
  | BtfArrayType
  | BtfStructType
  | BtfEnumType
  | BtfFwdType
  | BtfRefType
  | BtfFuncType
  | BtfFuncProtoType
  | BtfVarType
  | BtfDatasecType
  | BtfFloatType
  | BtfDeclTagType;

export type BtfObjectKind = 'vmlinux' | 'module' | 'user';

/**
 * One BTF object: vmlinux (base), a module's split BTF on top of vmlinux, or a user-loaded BTF.
 * Ids are global within the object's id space: `types[i]` has id `firstTypeId + i`. vmlinux and
 * user BTF start at 1; a module's split BTF starts right after its base's last id, and ids below
 * `firstTypeId` resolve in the base.
 */
export interface BtfObject {
  readonly name: string;
  readonly kind: BtfObjectKind;
  readonly firstTypeId: TypeId;
  readonly types: readonly BtfType[];
}
