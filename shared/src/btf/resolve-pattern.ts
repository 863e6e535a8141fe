import type { BtfObject, TypeId } from '../lib/btf-model.js';
import type { Result } from '../lib/result.js';
import { err, ok } from '../lib/result.js';

/**
 * A function pattern as libbpf and retsnoop spell it (kernel-multilink-spec.md §5.2):
 * `[module:]glob`, where the glob has `*` (any run), `?` (one character) and `[...]`
 * (a character class, `[!...]` or `[^...]` negated, `a-z` ranges). The module part is a glob too.
 * Matching works on UTF-16 code units, with no regular expression built from the pattern: a
 * tokenised glob and the two-pointer wildcard walk (`matchTokens`), O(pattern × name) at worst.
 */
export interface FunctionPattern {
  readonly text: string;
  /** absent: vmlinux and every module; `vmlinux`: vmlinux only; else module names matching it */
  readonly module?: string;
  readonly glob: string;
}

const GLOB_META = /[*?[]/;

/** Longest pattern a policy may give (module prefix included). */
export const MAX_PATTERN_LENGTH = 256;
/** Most `*` in one pattern: matching stays linear-bounded (O(pattern × name)) whatever the count. */
export const MAX_PATTERN_STARS = 16;

/** One step of a compiled glob: every kind but `star` consumes exactly one character. */
type GlobToken =
  | { readonly kind: 'literal'; readonly char: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'star' }
  | {
      readonly kind: 'class';
      readonly negated: boolean;
      readonly chars: string;
      /** inclusive [low, high] UTF-16 code unit ranges */
      readonly ranges: readonly (readonly [number, number])[];
    };

const inClass = (t: Extract<GlobToken, { kind: 'class' }>, c: string): boolean => {
  let hit = t.chars.includes(c);
  if (!hit) {
    const code = c.charCodeAt(0);
    hit = t.ranges.some(([lo, hi]) => code >= lo && code <= hi);
  }
  return hit !== t.negated;
};

const matchesOne = (t: GlobToken, c: string): boolean =>
  t.kind === 'any' ||
  (t.kind === 'literal' && t.char === c) ||
  (t.kind === 'class' && inClass(t, c));

/**
 * Parses the class whose `[` is at `open`: the body runs to the first `]` after its first
 * character (so `[]a]` holds `]` and `a`); a leading `!` or `^` negates it; `x-y` is an inclusive
 * range of code units, a `-` first or last is literal.
 */
const parseClass = (
  glob: string,
  open: number,
): Result<{ token: GlobToken; end: number }, string> => {
  const close = glob.indexOf(']', open + 2);
  if (close < 0) return err(`unclosed '[' at position ${open} in '${glob}'`);
  let body = glob.slice(open + 1, close);
  const negated = body.startsWith('!') || body.startsWith('^');
  if (negated) body = body.slice(1);
  if (body === '')
    return err(
      `empty character class '${glob.slice(open, close + 1)}' at position ${open} in '${glob}'`,
    );
  let chars = '';
  const ranges: [number, number][] = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i + 1] === '-' && i + 2 < body.length) {
      const lo = body.charCodeAt(i);
      const hi = body.charCodeAt(i + 2);
      if (lo > hi)
        return err(
          `bad character range '${body.slice(i, i + 3)}' (its start is after its end) at position ${open} in '${glob}'`,
        );
      ranges.push([lo, hi]);
      i += 2;
    } else chars += body[i]!;
  }
  return ok({ token: { kind: 'class', negated, chars, ranges }, end: close });
};

const compileGlob = (glob: string): Result<(name: string) => boolean, string> => {
  if (!GLOB_META.test(glob)) return ok((name: string) => name === glob);
  const tokens: GlobToken[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'any' });
    else if (c === '[') {
      const parsed = parseClass(glob, i);
      if (!parsed.ok) return parsed;
      tokens.push(parsed.value.token);
      i = parsed.value.end;
    } else tokens.push({ kind: 'literal', char: c });
  }
  return ok((name: string) => matchTokens(tokens, name));
};

/**
 * The two-pointer wildcard match: on a mismatch, only the last `*` seen takes one more character
 * (earlier stars never need to: whatever they would take, the last one can take instead), so the
 * work is at most tokens × name length, without recursion or backtracking regular expressions.
 */
const matchTokens = (tokens: readonly GlobToken[], name: string): boolean => {
  let t = 0;
  let n = 0;
  let star = -1;
  let starName = 0;
  while (n < name.length) {
    const token = tokens[t];
    if (token?.kind === 'star') {
      star = t++;
      starName = n;
    } else if (token !== undefined && matchesOne(token, name[n]!)) {
      t++;
      n++;
    } else if (star >= 0) {
      t = star + 1;
      n = ++starName;
    } else return false;
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
};

const shorten = (text: string): string => (text.length > 60 ? `${text.slice(0, 57)}...` : text);

/**
 * Parses `[module:]glob`. An empty part, an unclosed `[`, an empty class (`[!]`), a backward
 * range (`[z-a]`), more than MAX_PATTERN_LENGTH characters or more than MAX_PATTERN_STARS `*`
 * is an error naming the pattern; never a throw.
 */
export const parseFunctionPattern = (text: string): Result<FunctionPattern, string> => {
  if (text.length > MAX_PATTERN_LENGTH)
    return err(
      `pattern '${shorten(text)}': ${text.length} characters, more than ${MAX_PATTERN_LENGTH}`,
    );
  let stars = 0;
  for (const c of text) if (c === '*') stars++;
  if (stars > MAX_PATTERN_STARS)
    return err(`pattern '${shorten(text)}': ${stars} '*', more than ${MAX_PATTERN_STARS}`);
  const colon = text.indexOf(':');
  const module = colon < 0 ? undefined : text.slice(0, colon);
  const glob = colon < 0 ? text : text.slice(colon + 1);
  if (glob === '') return err(`pattern '${text}': empty function glob`);
  if (module === '') return err(`pattern '${text}': empty module before ':'`);
  for (const part of module === undefined ? [glob] : [module, glob]) {
    const c = compileGlob(part);
    if (!c.ok) return err(`pattern '${text}': ${c.error}`);
  }
  return ok(module === undefined ? { text, glob } : { text, module, glob });
};

/** A function a pattern matched: which object, which BTF id. */
export interface PatternMatch {
  readonly pattern: string;
  readonly object: string;
  readonly name: string;
  readonly btfId: TypeId;
}

export interface PatternMatches {
  readonly matches: readonly PatternMatch[];
  /** patterns that matched nothing, with why */
  readonly unmatched: readonly { readonly pattern: string; readonly reason: string }[];
}

/**
 * Matches patterns against the FUNCs of the given objects (vmlinux first, then modules, as the
 * caller orders them). A function matched by several patterns is listed once, for the first.
 * Results are in pattern order, then object order, then BTF id order.
 */
export const matchFunctionPatterns = (
  objects: readonly BtfObject[],
  patterns: readonly FunctionPattern[],
): PatternMatches => {
  const seen = new Set<string>();
  const matches: PatternMatch[] = [];
  const unmatched: { pattern: string; reason: string }[] = [];
  for (const p of patterns) {
    const nameOk = compileGlob(p.glob);
    const moduleOk = p.module === undefined ? undefined : compileGlob(p.module);
    if (!nameOk.ok || (moduleOk && !moduleOk.ok)) {
      unmatched.push({ pattern: p.text, reason: 'invalid pattern' });
      continue;
    }
    const inScope = objects.filter((o) =>
      moduleOk === undefined ? true : moduleOk.ok && moduleOk.value(o.name),
    );
    if (inScope.length === 0) {
      unmatched.push({ pattern: p.text, reason: `no BTF object named '${p.module}'` });
      continue;
    }
    let count = 0;
    for (const o of inScope)
      o.types.forEach((t, i) => {
        if (t.kind !== 'func' || !nameOk.value(t.name)) return;
        const btfId = o.firstTypeId + i;
        const key = `${o.name}\0${btfId}`;
        count++;
        if (seen.has(key)) return;
        seen.add(key);
        matches.push({ pattern: p.text, object: o.name, name: t.name, btfId });
      });
    if (count === 0)
      unmatched.push({
        pattern: p.text,
        reason: `no function matches in ${inScope.length === 1 ? inScope[0]!.name : `${inScope.length} BTF objects`}`,
      });
  }
  return { matches, unmatched };
};
