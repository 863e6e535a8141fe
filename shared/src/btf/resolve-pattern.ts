import type { BtfObject, TypeId } from '../lib/btf-model.js';
import type { Result } from '../lib/result.js';
import { err, ok } from '../lib/result.js';

/**
 * A function pattern as libbpf and retsnoop spell it (kernel-multilink-spec.md §5.2):
 * `[module:]glob`, where the glob has `*` (any run), `?` (one character) and `[...]`
 * (a character class, `[!...]` or `[^...]` negated, `a-z` ranges). The module part is a glob too.
 */
export interface FunctionPattern {
  readonly text: string;
  /** absent: vmlinux and every module; `vmlinux`: vmlinux only; else module names matching it */
  readonly module?: string;
  readonly glob: string;
}

const GLOB_META = /[*?[]/;

const compileGlob = (glob: string): Result<(name: string) => boolean, string> => {
  if (!GLOB_META.test(glob)) return ok((name: string) => name === glob);
  let source = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) return err(`unclosed '[' at position ${i} in '${glob}'`);
      let body = glob.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  const re = new RegExp(`${source}$`);
  return ok((name: string) => re.test(name));
};

/** Parses `[module:]glob`; an empty part or an unclosed `[` is an error naming the pattern. */
export const parseFunctionPattern = (text: string): Result<FunctionPattern, string> => {
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
