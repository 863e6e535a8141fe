import type { BtfObject, TypeId } from '../lib/btf-model.js';
import type { Result } from '../lib/result.js';
import { err, ok } from '../lib/result.js';

/**
 * A function pattern as libbpf and retsnoop spell it (kernel-multilink-spec.md §5.2):
 * `[module:]glob`, where the glob has `*` (any run), `?` (one character) and `[...]`
 * (a character class, `[!...]` or `[^...]` negated, `a-z` ranges). The module part is a glob too.
 * Matching works on UTF-16 code units, with no regular expression built from the pattern: a
 * compiled glob and the two-pointer wildcard walk (`matchCompiled`), O(pattern × name) at worst.
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

/** A character class: `chars` and inclusive [low, high] UTF-16 code unit ranges. */
interface GlobClass {
  readonly negated: boolean;
  readonly chars: string;
  readonly ranges: readonly (readonly [number, number])[];
}

/**
 * A compiled glob as one number per step, every step but STAR taking exactly one character: a
 * code unit (>= 0) to equal, ANY (`?`), STAR (`*`), or CLASS_BASE - k for `classes[k]`.
 */
interface CompiledGlob {
  readonly steps: Int32Array;
  readonly classes: readonly GlobClass[];
}
const ANY = -1;
const STAR = -2;
const CLASS_BASE = -3;

const inClass = (k: GlobClass, code: number): boolean => {
  let hit = false;
  for (let i = 0; !hit && i < k.chars.length; i++) hit = k.chars.charCodeAt(i) === code;
  for (let i = 0; !hit && i < k.ranges.length; i++)
    hit = code >= k.ranges[i]![0] && code <= k.ranges[i]![1];
  return hit !== k.negated;
};

/**
 * Parses the class whose `[` is at `open`: the body runs to the first `]` after its first
 * character (so `[]a]` holds `]` and `a`); a leading `!` or `^` negates it; `x-y` is an inclusive
 * range of code units, a `-` first or last is literal.
 */
const parseClass = (glob: string, open: number): Result<{ k: GlobClass; end: number }, string> => {
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
  return ok({ k: { negated, chars, ranges }, end: close });
};

/** The matcher of one glob (no module part), or why the glob is invalid. */
export const compileGlob = (glob: string): Result<(name: string) => boolean, string> => {
  if (!GLOB_META.test(glob)) return ok((name: string) => name === glob);
  const steps: number[] = [];
  const classes: GlobClass[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (steps[steps.length - 1] !== STAR) steps.push(STAR);
    } else if (c === '?') steps.push(ANY);
    else if (c === '[') {
      const parsed = parseClass(glob, i);
      if (!parsed.ok) return parsed;
      steps.push(CLASS_BASE - classes.length);
      classes.push(parsed.value.k);
      i = parsed.value.end;
    } else steps.push(glob.charCodeAt(i));
  }
  const compiled: CompiledGlob = { steps: Int32Array.from(steps), classes };
  // the literal text before the first `*` and after the last one: most names fail on these, and
  // a name that has them only needs the steps between them walked over what lies between
  const first = steps.indexOf(STAR);
  if (first < 0) return ok((name: string) => matchCompiled(compiled, name));
  const literal = (from: number, to: number): string => {
    let text = '';
    for (let i = from; i < to && steps[i]! >= 0; i++) text += String.fromCharCode(steps[i]!);
    return text;
  };
  const prefix = literal(0, first);
  let suffixStart = steps.length;
  while (suffixStart > 0 && steps[suffixStart - 1]! >= 0) suffixStart--;
  const suffix = literal(suffixStart, steps.length);
  return ok(
    (name: string) =>
      name.length >= prefix.length + suffix.length &&
      name.startsWith(prefix) &&
      name.endsWith(suffix) &&
      matchCompiled(compiled, name, prefix.length, suffixStart, name.length - suffix.length),
  );
};

/**
 * The two-pointer wildcard match: on a mismatch, only the last `*` seen takes one more character
 * (earlier stars never need to: whatever they would take, the last one can take instead), so the
 * work is at most steps × name length, without recursion or backtracking regular expressions.
 */
const matchCompiled = (
  { steps, classes }: CompiledGlob,
  name: string,
  from = 0,
  stepsEnd = steps.length,
  nameEnd = name.length,
): boolean => {
  let t = from;
  let n = from;
  let star = -1;
  let starName = 0;
  while (n < nameEnd) {
    const step = t < stepsEnd ? steps[t]! : undefined;
    if (step === STAR) {
      star = t++;
      starName = n;
      continue;
    }
    if (step !== undefined) {
      const code = name.charCodeAt(n);
      if (
        step === code ||
        step === ANY ||
        (step <= CLASS_BASE && inClass(classes[CLASS_BASE - step]!, code))
      ) {
        t++;
        n++;
        continue;
      }
    }
    if (star < 0) return false;
    t = star + 1;
    n = ++starName;
  }
  while (t < stepsEnd && steps[t] === STAR) t++;
  return t === stepsEnd;
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
