/**
 * The C type expressions allowed in `ret` and `params` (kernel-scenarios.md, "Types in `ret`
 * and `params`"): optional `const`/`volatile`, a base type, then any number of `*`.
 */

/** Base C types and their sizes in bytes (void is 0). */
export const BUILTIN_TYPE_SIZES: Readonly<Record<string, number>> = {
  void: 0,
  _Bool: 1,
  char: 1,
  'unsigned char': 1,
  short: 2,
  'unsigned short': 2,
  int: 4,
  'unsigned int': 4,
  long: 8,
  'unsigned long': 8,
  'long long': 8,
  'unsigned long long': 8,
};

/** Typedefs every scenario has without declaring them. */
export const BUILTIN_TYPEDEFS: readonly string[] = [
  'u8',
  'u16',
  'u32',
  'u64',
  's8',
  's16',
  's32',
  's64',
  'size_t',
];

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

/** Parses one type expression; `error` says what is wrong with the text. */
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
  if (joined in BUILTIN_TYPE_SIZES) {
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

/** The canonical spelling passed to the kernel model: single spaces, `int *`, `char **`. */
export const formatTypeExpression = (type: TypeExpression): string => {
  const base =
    type.base.kind === 'builtin' || type.base.kind === 'typedef'
      ? type.base.name
      : `${type.base.kind} ${type.base.name}`;
  const words = [...type.qualifiers, base].join(' ');
  return type.pointers > 0 ? `${words} ${'*'.repeat(type.pointers)}` : words;
};
