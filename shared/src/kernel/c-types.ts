/**
 * The C types a kernel spec may write in `ret` and `params` (kernel-scenarios.md, "Types in `ret`
 * and `params`"): optional `const`/`volatile`, a base type, then any number of `*`. One table of
 * the integer types and built-in typedefs, shared by the spec contract (which checks the text)
 * and the BTF builder (which encodes it).
 */

/** How an integer type is encoded in BTF (BTF_KIND_INT: size, signedness, char/bool flags). */
export interface CIntType {
  readonly size: number;
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
  /**
   * false for `signed char`: vmlinux carries it (it is what the built-in `s8` names, as the
   * kernel's __s8 does) but a spec cannot write it (kernel-scenarios.md lists the others only)
   */
  readonly spelled: boolean;
}

const int = (size: number, signed: boolean, char = false, spelled = true): CIntType => ({
  size,
  signed,
  char,
  bool: false,
  spelled,
});

/** Every integer type of vmlinux's base BTF, in the order vmlinux declares them. */
export const C_INT_TYPES: ReadonlyMap<string, CIntType> = new Map([
  ['_Bool', { size: 1, signed: false, char: false, bool: true, spelled: true }],
  ['char', int(1, true, true)],
  ['signed char', int(1, true, true, false)],
  ['unsigned char', int(1, false, true)],
  ['short', int(2, true)],
  ['unsigned short', int(2, false)],
  ['int', int(4, true)],
  ['unsigned int', int(4, false)],
  ['long', int(8, true)],
  ['unsigned long', int(8, false)],
  ['long long', int(8, true)],
  ['unsigned long long', int(8, false)],
]);

/** Typedefs every spec has without declaring them, and the integer type each names. */
export const C_BUILTIN_TYPEDEFS: ReadonlyMap<string, string> = new Map([
  ['u8', 'unsigned char'],
  ['u16', 'unsigned short'],
  ['u32', 'unsigned int'],
  ['u64', 'unsigned long long'],
  ['s8', 'signed char'],
  ['s16', 'short'],
  ['s32', 'int'],
  ['s64', 'long long'],
  ['size_t', 'unsigned long'],
]);

/** `void` or an integer type a spec may write (`int`, `unsigned long long`, ...). */
export const isCBuiltinType = (name: string): boolean =>
  name === 'void' || C_INT_TYPES.get(name)?.spelled === true;

export type TypeBase =
  | { readonly kind: 'builtin'; readonly name: string }
  | { readonly kind: 'struct' | 'union' | 'enum'; readonly name: string }
  | { readonly kind: 'typedef'; readonly name: string };

export interface TypeExpression {
  readonly qualifiers: readonly ('const' | 'volatile')[];
  readonly base: TypeBase;
  readonly pointers: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEYWORDS = new Set([
  'const',
  'volatile',
  'struct',
  'union',
  'enum',
  'unsigned',
  'signed',
  'void',
  'char',
  'short',
  'int',
  'long',
  '_Bool',
]);

/**
 * Parses one type expression; `error` says what is wrong with the text. A single word that is
 * not a C keyword is a typedef name: whether it is declared is the caller's question.
 */
export const parseTypeExpression = (
  text: string,
):
  | { readonly ok: true; readonly value: TypeExpression }
  | { readonly ok: false; readonly error: string } => {
  const stars = /\s*(\**)\s*$/.exec(text);
  const pointers = stars?.[1]?.length ?? 0;
  const head = text.slice(0, stars ? stars.index : text.length).trim();
  const words = head.split(/\s+/).filter((w) => w !== '');
  const qualifiers: ('const' | 'volatile')[] = [];
  while (words[0] === 'const' || words[0] === 'volatile') {
    qualifiers.push(words.shift() as 'const' | 'volatile');
  }
  if (words.length === 0) return { ok: false, error: `'${text}' has no base type` };
  if (words.some((w) => !IDENTIFIER.test(w))) {
    return { ok: false, error: `'${text}' is not a type (expected e.g. 'int', 'struct S *')` };
  }
  const joined = words.join(' ');
  if (isCBuiltinType(joined)) {
    return { ok: true, value: { qualifiers, base: { kind: 'builtin', name: joined }, pointers } };
  }
  const [first, second] = words;
  if (
    words.length === 2 &&
    (first === 'struct' || first === 'union' || first === 'enum') &&
    second !== undefined &&
    !KEYWORDS.has(second)
  ) {
    return { ok: true, value: { qualifiers, base: { kind: first, name: second }, pointers } };
  }
  if (words.length === 1 && first !== undefined && !KEYWORDS.has(first)) {
    return { ok: true, value: { qualifiers, base: { kind: 'typedef', name: first }, pointers } };
  }
  return { ok: false, error: `'${text}' is not a known type form` };
};

/** The canonical spelling: single spaces, `int *`, `char **`. */
export const formatTypeExpression = (type: TypeExpression): string => {
  const base =
    type.base.kind === 'builtin' || type.base.kind === 'typedef'
      ? type.base.name
      : `${type.base.kind} ${type.base.name}`;
  const words = [...type.qualifiers, base].join(' ');
  return type.pointers > 0 ? `${words} ${'*'.repeat(type.pointers)}` : words;
};
