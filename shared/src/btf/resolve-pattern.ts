import type { BtfObject, TypeId } from '../kernel/btf.js';
import type { Errno, KernelState, ProgDescription, TargetRef } from '../kernel/index.js';
import { applyOp, checkTarget } from '../kernel/index.js';
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

/** The program that would attach: attach type as in SEC() (`fentry.multi`, `fexit`, `fmod_ret.multi.s`...). */
export interface ResolveProgram {
  readonly attach: string;
  /** V24 multi programs' load-time target (`name` or `module:name`); default: the first match */
  readonly origin?: string;
  /** argument indices (and `ret`) the program reads through its context */
  readonly reads?: readonly (number | 'ret')[];
}

export type TargetVerdict =
  | (PatternMatch & { readonly ok: true })
  | (PatternMatch & { readonly ok: false; readonly errno: Errno; readonly reason: string });

export interface ProgramLoad {
  /** the BTF object the program was loaded against (V26 multi: one load per object) */
  readonly object: string;
  readonly origin?: string;
  readonly ok: boolean;
  readonly errno?: Errno;
  readonly reason?: string;
}

export interface PatternResolution {
  readonly targets: readonly TargetVerdict[];
  readonly unmatched: PatternMatches['unmatched'];
  readonly loads: readonly ProgramLoad[];
}

const targetRefOf = (text: string): TargetRef => {
  const colon = text.indexOf(':');
  return colon < 0 ? { name: text } : { object: text.slice(0, colon), name: text.slice(colon + 1) };
};

/**
 * Resolves patterns against a kernel and says, for each matched function, whether the program
 * can attach to it and if not the kernel model's errno and reason (kernel `checkTarget`).
 * - Single programs (`fentry`, `fexit`, `fmod_ret`, the per-function fallback path): one
 *   program per target, loaded against that target.
 * - V24 multi (spec §2.1, §3.2): one program loaded against the origin (`program.origin`, or the
 *   first match as libbpf does, §5.1), then every target checked against it (prototype match §3.3).
 * - V26 multi (spec §2.2, §3.11): ids are interpreted in the program's attach BTF, so one
 *   program is loaded per BTF object that has matches.
 * A load failure fails every target of that load, with the load's errno and reason.
 */
export const resolveFunctionPatterns = (
  state: KernelState,
  objects: readonly BtfObject[],
  patterns: readonly FunctionPattern[],
  program: ResolveProgram,
): PatternResolution => {
  const { matches, unmatched } = matchFunctionPatterns(objects, patterns);
  const multi = /\.multi(\.s)?$/.test(program.attach);
  const reads = program.reads ?? [];
  const loads: ProgramLoad[] = [];
  const targets: TargetVerdict[] = [];
  const refOf = (m: PatternMatch): TargetRef => ({ object: m.object, btfId: m.btfId });
  const verdict = (
    m: PatternMatch,
    r: { ok: true } | { ok: false; errno: Errno; reason: string },
  ): TargetVerdict =>
    r.ok ? { ...m, ok: true } : { ...m, ok: false, errno: r.errno, reason: r.reason };

  if (!multi) {
    for (const m of matches)
      targets.push(
        verdict(
          m,
          checkTarget(state, { attach: program.attach, origin: refOf(m), reads }, refOf(m)),
        ),
      );
    return { targets, unmatched, loads };
  }

  const loadAndCheck = (
    description: ProgDescription,
    load: { object: string; origin?: string },
    group: readonly PatternMatch[],
  ): void => {
    const loaded = applyOp(state, { op: 'prog_load', name: 'tramway_resolve', ...description });
    if (!loaded.ok) {
      loads.push({ ...load, ok: false, errno: loaded.errno, reason: loaded.reason });
      for (const m of group)
        targets.push(
          verdict(m, { ok: false, errno: loaded.errno, reason: `program load: ${loaded.reason}` }),
        );
      return;
    }
    loads.push({ ...load, ok: true });
    const value = loaded.value;
    const progId = value !== null && 'progId' in value ? value.progId : -1;
    for (const m of group) targets.push(verdict(m, checkTarget(loaded.state, progId, refOf(m))));
  };

  if (state.profile === 'v26') {
    const byObject = new Map<string, PatternMatch[]>();
    for (const m of matches) {
      const list = byObject.get(m.object);
      if (list) list.push(m);
      else byObject.set(m.object, [m]);
    }
    for (const [object, group] of byObject) {
      const base = object === 'vmlinux' ? {} : { object };
      loadAndCheck({ attach: program.attach, reads, ...base }, { object }, group);
    }
    return { targets, unmatched, loads };
  }

  const first = matches[0];
  const originText = program.origin ?? (first ? `${first.object}:${first.name}` : undefined);
  if (originText === undefined) return { targets, unmatched, loads };
  const origin = targetRefOf(originText);
  loadAndCheck(
    { attach: program.attach, origin, reads },
    {
      object: 'object' in origin && origin.object !== undefined ? origin.object : 'vmlinux',
      origin: originText,
    },
    matches,
  );
  return { targets, unmatched, loads };
};
