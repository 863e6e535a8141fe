import type { BtfKind } from '../lib/btf-model.js';

/**
 * Constants of the BTF binary format (Linux Documentation/bpf/btf.rst, include/uapi/linux/btf.h):
 * a 24-byte header, a type section of `btf_type` records with per-kind trailing data, and a
 * NUL-separated string section.
 */

/** `btf_header.magic`; read in the wrong byte order it appears as 0x9feb. */
export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** sizeof(struct btf_header): magic, version, flags, hdr_len, type_off/len, str_off/len */
export const BTF_HEADER_SIZE = 24;
/** sizeof(struct btf_type): name_off, info, size|type */
export const BTF_TYPE_SIZE = 12;
/** The kernel refuses string sections larger than this (BTF_MAX_NAME_OFFSET + 1). */
export const BTF_MAX_STRING_SECTION = 0xffffff + 1;

/** `BTF_KIND_*` numbers in `info` bits 24-28, indexed by number; 0 (UNKN) is not a type record. */
export const KIND_BY_NUMBER: readonly (BtfKind | undefined)[] = [
  undefined,
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
];

export const KIND_NUMBER: Readonly<Record<BtfKind, number>> = {
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
};

/** BTF_INT_ENCODING bits (bits 24-27 of the INT word). */
export const INT_SIGNED = 1;
export const INT_CHAR = 2;
export const INT_BOOL = 4;

/** FUNC linkage in `vlen`, VAR linkage in `btf_var.linkage`: BTF_FUNC_STATIC/GLOBAL/EXTERN. */
export const LINKAGE_BY_NUMBER = ['static', 'global', 'extern'] as const;

export type BtfByteOrder = 'little' | 'big';
