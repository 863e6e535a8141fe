import type { BtfFuncProtoType, BtfType, TypeId } from '../lib/btf-model.js';
import type { BtfSpace } from './btf-parse.js';

/** The type with `id` in a space, looking through split bases; undefined for void (0) or out of range. */
export const typeAt = (space: BtfSpace, id: TypeId): BtfType | undefined => {
  let s: BtfSpace | undefined = space;
  while (s) {
    const first = s.object.firstTypeId;
    if (id >= first) return s.lookup ? s.lookup(id) : s.object.types[id - first];
    s = s.base;
  }
  return undefined;
};

/** Follows typedef/const/volatile/restrict/type_tag to the underlying type id. */
export const skipModifiers = (space: BtfSpace, id: TypeId): TypeId => {
  let cur = id;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const t = typeAt(space, cur);
    if (
      !t ||
      (t.kind !== 'typedef' &&
        t.kind !== 'const' &&
        t.kind !== 'volatile' &&
        t.kind !== 'restrict' &&
        t.kind !== 'type_tag')
    )
      return cur;
    cur = t.type;
  }
  return cur;
};

const MAX_DEPTH = 64;
const QUALIFIERS = new Set(['const', 'volatile', 'restrict']);

const withInner = (base: string, inner: string): string => (inner ? `${base} ${inner}` : base);

const tagText = (t: { name: string; kindFlag?: boolean }): string =>
  t.kindFlag ? `__attribute__((${t.name}))` : `__attribute__((btf_type_tag("${t.name}")))`;

/** Caps the work on one declaration: corrupt BTF can make protos refer to themselves. */
interface Budget {
  left: number;
}
const MAX_NODES = 10_000;

const declarator = (
  space: BtfSpace,
  id: TypeId,
  inner: string,
  depth: number,
  budget: Budget,
): string => {
  if (depth > MAX_DEPTH) return withInner('/* type chain too deep */', inner);
  if (--budget.left < 0) return withInner('/* type too complex */', inner);
  if (id === 0) return withInner('void', inner);
  const t = typeAt(space, id);
  if (!t) return withInner(`/* bad type id ${id} */`, inner);
  switch (t.kind) {
    case 'int':
    case 'float':
    case 'typedef':
      return withInner(t.name, inner);
    case 'struct':
    case 'union':
      return withInner(`${t.kind} ${t.name || '{...}'}`, inner);
    case 'enum':
    case 'enum64':
      return withInner(`enum ${t.name || '{...}'}`, inner);
    case 'fwd':
      return withInner(`${t.kindFlag ? 'union' : 'struct'} ${t.name}`, inner);
    case 'ptr': {
      const pointee = typeAt(space, skipTags(space, t.type));
      // btf_dump spacing: `* const p`, `struct s * (*fn)(void)`, otherwise `*p`
      const spaced = inner.startsWith('(') || QUALIFIERS.has(inner.split(' ', 1)[0]!);
      const star = spaced ? `* ${inner}` : `*${inner}`;
      const wrap = pointee && (pointee.kind === 'array' || pointee.kind === 'func_proto');
      return declarator(space, t.type, wrap ? `(${star})` : star, depth + 1, budget);
    }
    case 'const':
    case 'volatile':
    case 'restrict': {
      const target = typeAt(space, skipTags(space, t.type));
      if (target && target.kind === 'ptr')
        return declarator(space, t.type, inner ? `${t.kind} ${inner}` : t.kind, depth + 1, budget);
      return `${t.kind} ${declarator(space, t.type, inner, depth + 1, budget)}`;
    }
    case 'type_tag':
      return declarator(space, t.type, withInner(tagText(t), inner), depth + 1, budget);
    case 'array':
      return declarator(space, t.elemType, `${inner}[${t.nelems}]`, depth + 1, budget);
    case 'func_proto':
      return declarator(
        space,
        t.ret,
        `${inner}(${formatParams(space, t, depth, budget)})`,
        depth + 1,
        budget,
      );
    case 'func': {
      const proto = typeAt(space, t.type);
      return proto && proto.kind === 'func_proto'
        ? declarator(
            space,
            proto.ret,
            `${inner || t.name}(${formatParams(space, proto, depth, budget)})`,
            depth + 1,
            budget,
          )
        : withInner(`/* func ${t.name} without prototype */`, inner);
    }
    case 'var':
      return declarator(space, t.type, inner || t.name, depth + 1, budget);
    case 'datasec':
      return withInner(`SEC("${t.name}")`, inner);
    case 'decl_tag':
      return declarator(space, t.type, inner, depth + 1, budget);
  }
};

const skipTags = (space: BtfSpace, id: TypeId): TypeId => {
  let cur = id;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const t = typeAt(space, cur);
    if (!t || t.kind !== 'type_tag') return cur;
    cur = t.type;
  }
  return cur;
};

const formatParams = (
  space: BtfSpace,
  proto: BtfFuncProtoType,
  depth: number,
  budget: Budget,
): string => {
  if (proto.params.length === 0) return 'void';
  return proto.params
    .map((p, i) =>
      p.type === 0 && i === proto.params.length - 1
        ? '...'
        : declarator(space, p.type, p.name, depth + 1, budget),
    )
    .join(', ');
};

/**
 * Formats a type as a C type name, the way bpftool/libbpf's btf_dump spells an unnamed
 * declaration: `struct sk_buff *`, `unsigned int`, `const char *`, `char * const`, `int [4]`,
 * `void (*)(int, char *)`. With `name`, the declaration of that name (`int (*cb)(void)`).
 * Anonymous structs, unions and enums print as `struct {...}`.
 */
export const formatCType = (space: BtfSpace, id: TypeId, name = ''): string =>
  declarator(space, id, name, 0, { left: MAX_NODES });

/** `int tcp_v4_connect(struct sock *sk, struct sockaddr *uaddr, int addr_len)` for a FUNC id. */
export const formatFuncSignature = (space: BtfSpace, funcId: TypeId): string =>
  declarator(space, funcId, '', 0, { left: MAX_NODES });
