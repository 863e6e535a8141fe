/**
 * Pattern resolution against the kernel model: the BTF layer finds which functions a pattern
 * matches, and this asks the kernel model whether the program can attach to each of them. It
 * belongs to the domain, not to the BTF parser, because it needs the kernel (STYLE.md §3).
 */
import type { BtfObject } from '../../lib/btf-model.js';
import type { Errno, KernelState, ProgDescription, TargetRef } from '../../kernel/index.js';
import { applyOp, checkTarget } from '../../kernel/index.js';
import type { FunctionPattern, PatternMatch, PatternMatches } from '../../btf/index.js';
import { matchFunctionPatterns } from '../../btf/index.js';

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
