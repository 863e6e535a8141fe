/**
 * Name resolution (libbpf, spec §5.1), the single-target checks (`bpf_check_attach_target`,
 * spec §3.12), load-time argument recording (spec §2.1.4-2.1.5) and program preparation for
 * BPF_PROG_LOAD (spec §2).
 */
import { parseAttachName } from '../lib/kernel-vocabulary.js';
import type { TypeId } from '../lib/btf-model.js';
import { describeType, distillProto, partMatch, skipModifiers, typeById } from './btf-proto.js';
import type { DistilledProto } from './btf-proto.js';
import type {
  KernelState,
  ObjTemplate,
  Prog,
  ProgOrigin,
  TrampKey,
  TrampKind,
} from './kernel-state.js';
import type { Errno, FailedTarget, TargetRef } from './kernel-types.js';

export interface Failure {
  readonly ok: false;
  readonly errno: Errno;
  readonly reason: string;
  /** set by link_create when one of the request's targets is the cause */
  readonly failedTarget?: FailedTarget;
}
export const fail = (errno: Errno, reason: string): Failure => ({ ok: false, errno, reason });

/** The trampoline key of (BTF object id, btf id); see TrampKey. */
export const trampKey = (objId: number, btfId: TypeId): TrampKey => objId * 0x1_0000_0000 + btfId;

/** The loaded BTF object called `name`: its id and template, or null. */
export const objectByName = (
  state: KernelState,
  name: string,
): { objId: number; tpl: ObjTemplate } | null => {
  const mod = state.modules.get(name);
  if (mod !== undefined) {
    const tpl = state.templates[mod.template];
    return mod.objId === null || tpl === undefined ? null : { objId: mod.objId, tpl };
  }
  for (const [objId, idx] of state.btfs) {
    const tpl = state.templates[idx];
    if (tpl !== undefined && tpl.name === name && tpl.kind !== 'module') return { objId, tpl };
  }
  return null;
};

export const templateOf = (state: KernelState, objId: number): ObjTemplate | null => {
  const idx = state.btfs.get(objId);
  return idx === undefined ? null : (state.templates[idx] ?? null);
};

export interface Resolved {
  readonly ok: true;
  readonly objId: number;
  readonly btfId: TypeId;
}

const vmlinuxObject = (state: KernelState): { objId: number; tpl: ObjTemplate } | null => {
  for (const [objId, idx] of state.btfs) {
    const tpl = state.templates[idx];
    if (tpl?.kind === 'vmlinux') return { objId, tpl };
  }
  return null;
};

/**
 * libbpf's target lookup: `object:name` in that object; a bare name in vmlinux, then in each
 * loaded module in declaration order; `{object, btfId}` as given; `{object, type}` the id of a
 * named non-function type (in the object, then its base). An object that is not loaded and a
 * name that matches nothing are ESRCH (libbpf fails before any syscall).
 */
export const resolveTarget = (state: KernelState, ref: TargetRef): Resolved | Failure => {
  if ('btfId' in ref) {
    const o = objectByName(state, ref.object);
    if (o === null) return fail('ESRCH', `BTF object ${ref.object} is not loaded`);
    return { ok: true, objId: o.objId, btfId: ref.btfId };
  }
  if ('type' in ref) {
    const o = objectByName(state, ref.object);
    if (o === null) return fail('ESRCH', `BTF object ${ref.object} is not loaded`);
    const own = o.tpl.namedIds.get(ref.type);
    const inBase =
      o.tpl.view.base === null ? undefined : vmlinuxObject(state)?.tpl.namedIds.get(ref.type);
    const id = own ?? inBase;
    if (id === undefined) return fail('ESRCH', `type ${ref.type} not found in ${ref.object}`);
    return { ok: true, objId: o.objId, btfId: id };
  }
  if (ref.object !== undefined) {
    const o = objectByName(state, ref.object);
    if (o === null) return fail('ESRCH', `BTF object ${ref.object} is not loaded`);
    const id = o.tpl.funcIds.get(ref.name);
    if (id === undefined) return fail('ESRCH', `function ${ref.object}:${ref.name} not found`);
    return { ok: true, objId: o.objId, btfId: id };
  }
  const vm = vmlinuxObject(state);
  const inVm = vm?.tpl.funcIds.get(ref.name);
  if (vm !== null && inVm !== undefined) return { ok: true, objId: vm.objId, btfId: inVm };
  const mods = [...state.modules.values()]
    .filter((m) => m.objId !== null)
    .sort((a, b) => a.template - b.template);
  for (const m of mods) {
    const tpl = state.templates[m.template];
    const id = tpl?.funcIds.get(ref.name);
    if (id !== undefined && m.objId !== null) return { ok: true, objId: m.objId, btfId: id };
  }
  return fail('ESRCH', `function ${ref.name} not found in vmlinux or any loaded module`);
};

export const describeRef = (ref: TargetRef): string =>
  'btfId' in ref
    ? `${ref.object}#${ref.btfId}`
    : 'type' in ref
      ? `${ref.object}:type ${ref.type}`
      : ref.object !== undefined
        ? `${ref.object}:${ref.name}`
        : ref.name;

/** What the per-target checks need to know about a program. */
export interface ProgShape {
  readonly kind: TrampKind;
  readonly multi: boolean;
  readonly sleepable: boolean;
}

export interface CheckedTarget {
  readonly ok: true;
  readonly objId: number;
  readonly btfId: TypeId;
  readonly fname: string;
  readonly proto: DistilledProto;
  /** the module whose reference the check takes (module BTF), else null */
  readonly module: string | null;
  readonly tpl: ObjTemplate;
}

/**
 * bpf_check_attach_target (spec §3.12): kernel BTF (user BTF → EOPNOTSUPP, spec §3.2 11a),
 * id ≠ 0 and valid, FUNC with a FUNC_PROTO, distillable prototype (EINVAL), an address
 * (ENOENT; a module's own function needs the module live, spec §3.8), sleepable rule and
 * fmod_ret rule (EINVAL). `phase: 'load'` adds the verifier-only checks of §3.12.7: btf_id_deny
 * and `__noreturn` for fexit/fmod_ret programs.
 *
 * Choice (spec §2.1.2 leaves it open): the `__noreturn` check covers the fexit and fmod_ret
 * families including the V24 multi types, because V24 added the multi types to every switch that
 * lists FEXIT/MODIFY_RETURN and §9.2d states the origin is the one target it applies to.
 */
export const checkAttachTarget = (
  state: KernelState,
  prog: ProgShape,
  objId: number,
  btfId: TypeId,
  phase: 'load' | 'attach',
): CheckedTarget | Failure => {
  const tpl = templateOf(state, objId);
  if (tpl === null) return fail('ENOENT', `BTF object ${objId} is gone`);
  if (tpl.kind === 'user') return fail('EOPNOTSUPP', `BTF object ${tpl.name} is not a kernel BTF`);
  if (btfId === 0) return fail('EINVAL', 'Tracing programs must provide btf_id');
  const t = typeById(tpl.view, btfId);
  if (t === null) return fail('EINVAL', `btf_id ${btfId} is invalid in ${tpl.name}`);
  if (t.kind !== 'func')
    return fail(
      'EINVAL',
      `attach_btf_id ${btfId} (${describeType(tpl.view, btfId)}) is not a function`,
    );
  if (t.name === '') return fail('EINVAL', `attach_btf_id ${btfId} doesn't have a name`);
  const fname = t.name;
  const distilled = distillProto(tpl.view, t.type, fname);
  if (!distilled.ok) return fail('EINVAL', distilled.reason);
  const own = btfId >= tpl.view.btf.firstTypeId;
  const mod = tpl.kind === 'module' ? (state.modules.get(tpl.name) ?? null) : null;
  const attrs = own ? tpl.attrs(fname) : null;
  if (mod !== null && mod.state !== 'live')
    return fail(
      'ENOENT',
      `The address of function ${fname} cannot be found (module ${mod.name} is going away)`,
    );
  if (attrs === null || !attrs.hasAddress)
    return fail('ENOENT', `The address of function ${fname} cannot be found`);
  if (prog.sleepable) {
    const ok = (attrs.errorInjectable && !attrs.nonSleepable) || attrs.fmodretSleepable;
    if (!ok) return fail('EINVAL', `${fname} is not sleepable`);
  }
  if (prog.kind === 'fmod_ret') {
    const ok =
      attrs.fmodret || attrs.fmodretSleepable || attrs.errorInjectable || attrs.securityHook;
    if (!ok) return fail('EINVAL', `${fname}() is not modifiable`);
  }
  if (phase === 'load') {
    if (attrs.denyListed)
      return fail('EINVAL', `Attaching tracing programs to function '${fname}' is rejected.`);
    if (attrs.noreturn && (prog.kind === 'fexit' || prog.kind === 'fmod_ret'))
      return fail(
        'EINVAL',
        `Attaching fexit/fmod_ret to __noreturn function '${fname}' is rejected.`,
      );
  }
  return {
    ok: true,
    objId,
    btfId,
    fname,
    proto: distilled.proto,
    module: mod === null ? null : mod.name,
    tpl,
  };
};

/** A program as the link checks see it: loaded, or described (checkTarget), not yet named. */
export type LinkingProg = Omit<Prog, 'name' | 'loaded' | 'refcnt'>;

/** A target that passed the per-target link checks: its trampoline key and what was checked. */
export interface LinkTarget {
  readonly ok: true;
  readonly key: TrampKey;
  /** null when a single program takes over its load-time trampoline: nothing is re-checked */
  readonly checked: CheckedTarget | null;
}

/**
 * The attach-time checks of one link target, shared by every link_create path and by
 * `checkTarget`, given the target's (BTF object id, btf id):
 * - single programs (spec §3.12.8): only the load-time target (EINVAL otherwise); its
 *   trampoline is taken over, or, after an earlier link released it, re-checked (§3.12);
 * - V24 multi (spec §3.2 11a-11f): the per-target checks (§3.12) in the target's own object,
 *   then the prototype match against the origin (§3.3, EINVAL);
 * - V26 multi (spec §3.11): the id is interpreted in the program's attach BTF, then the
 *   per-target checks (FUNC, prototype, address, sleepable).
 * Request-level checks (counts, arrays, duplicates, V24's one multi link per program) and the
 * trampoline's link rules (§3.4) are the caller's.
 */
export const checkLinkTarget = (
  state: KernelState,
  prog: LinkingProg,
  target: { readonly objId: number; readonly btfId: TypeId },
): LinkTarget | Failure => {
  const origin = prog.origin;
  if (!prog.multi) {
    if (origin === null) return fail('EINVAL', 'program has no attach target');
    if (target.objId !== prog.attachObjId || target.btfId !== origin.btfId)
      return fail(
        'EINVAL',
        `a ${prog.attach} program attaches only to its load-time target ${origin.fname}`,
      );
    if (prog.dstTramp !== null) return { ok: true, key: prog.dstTramp, checked: null };
    const c = checkAttachTarget(state, prog, prog.attachObjId, origin.btfId, 'attach');
    return c.ok ? { ok: true, key: trampKey(c.objId, c.btfId), checked: c } : c;
  }
  if (state.profile === 'v26') {
    const c = checkAttachTarget(state, prog, prog.attachObjId, target.btfId, 'attach');
    return c.ok ? { ok: true, key: trampKey(c.objId, c.btfId), checked: c } : c;
  }
  const originTpl = templateOf(state, prog.attachObjId);
  if (origin === null || originTpl === null) return fail('EOPNOTSUPP', 'program has no origin BTF');
  const c = checkAttachTarget(state, prog, target.objId, target.btfId, 'attach');
  if (!c.ok) return c;
  const same = c.objId === prog.attachObjId && c.proto.protoId === origin.proto.protoId;
  const why = same
    ? null
    : partMatch(originTpl.view, origin.proto, c.tpl.view, c.proto, prog.accessed);
  if (why !== null)
    return fail('EINVAL', `${c.fname} does not match origin ${origin.fname}: ${why}`);
  return { ok: true, key: trampKey(c.objId, c.btfId), checked: c };
};

/**
 * The FailedTarget of request entry `index`: `ref` as the request named it, `at` the (object id,
 * btf id) it was checked as (null when it did not resolve), `failure` the target's refusal.
 */
export const failedTargetOf = (
  state: KernelState,
  index: number,
  ref: TargetRef | undefined,
  at: { readonly objId: number; readonly btfId: TypeId } | null,
  failure: Pick<Failure, 'errno' | 'reason'>,
): FailedTarget => {
  const tpl = at === null ? null : templateOf(state, at.objId);
  const t = tpl === null || at === null ? null : typeById(tpl.view, at.btfId);
  const fname =
    t !== null && t.kind === 'func' && t.name !== ''
      ? t.name
      : ref !== undefined && 'name' in ref
        ? ref.name
        : undefined;
  const object = tpl?.name ?? ref?.object;
  const btfId = at?.btfId ?? (ref !== undefined && 'btfId' in ref ? ref.btfId : undefined);
  return {
    index,
    ...(fname === undefined ? {} : { function: fname }),
    ...(object === undefined ? {} : { object }),
    ...(btfId === undefined ? {} : { btfId }),
    errno: failure.errno,
    reason: failure.reason,
  };
};

export interface AttachSpec {
  readonly ok: true;
  readonly kind: TrampKind;
  readonly multi: boolean;
  readonly sleepable: boolean;
}

/** `fentry|fexit|fmod_ret|fsession` + optional `.multi` + optional `.s`, per profile (spec §1.1, §2.2). */
export const parseAttach = (state: KernelState, attach: string): AttachSpec | Failure => {
  const a = parseAttachName(attach);
  if (a === null) return fail('EINVAL', `unknown attach type ${attach}`);
  if (a.kind === 'fsession' && !(a.multi && state.profile === 'v26'))
    return fail('EINVAL', `attach type ${attach} does not exist in profile ${state.profile}`);
  if (a.kind === 'fmod_ret' && a.multi && state.profile === 'v26')
    return fail('EINVAL', 'v26 has no MODIFY_RETURN_MULTI attach type (spec §1.1)');
  return { ok: true, kind: a.kind, multi: a.multi, sleepable: a.sleepable };
};

const isSmallInt = (tpl: ObjTemplate, id: TypeId): boolean => {
  const t = typeById(tpl.view, skipModifiers(tpl.view, id));
  return t !== null && t.kind === 'int' && t.size <= 8;
};

/**
 * accessed_args from `reads` (indices or `ret`) and `ctxReads` (byte offsets mapped as the
 * verifier does, spec §2.1.4), with the typing rules of spec §2.1.5: index ≥ nargs is rejected,
 * the return slot exists only for fexit (non-void return) and fmod_ret (small integer return).
 * A read btf_ctx_access refuses fails the load with EACCES, as the verifier's
 * check_ctx_access does ("invalid bpf_context access") [ml].
 */
export const recordAccessedArgs = (
  tpl: ObjTemplate,
  origin: ProgOrigin,
  kind: TrampKind,
  reads: readonly (number | 'ret')[],
  ctxReads: readonly number[],
): { ok: true; accessed: readonly number[] } | Failure => {
  const { nargs, offsets, sizes, totalBytes, retId } = origin.proto;
  const bits = new Set<number>();
  const readRet = (): Failure | null => {
    if (kind !== 'fexit' && kind !== 'fmod_ret')
      return fail('EACCES', `func '${origin.fname}' doesn't have ${nargs + 1}-th argument`);
    if (kind === 'fexit' && retId === 0)
      return fail(
        'EACCES',
        `func '${origin.fname}' returns void; there is no return value to read`,
      );
    if (kind === 'fmod_ret' && !isSmallInt(tpl, retId))
      return fail('EACCES', `ret type ${describeType(tpl.view, retId)} not allowed for fmod_ret`);
    bits.add(nargs);
    return null;
  };
  for (const r of reads) {
    if (r === 'ret') {
      const f = readRet();
      if (f !== null) return f;
    } else if (!Number.isInteger(r) || r < 0 || r >= nargs)
      return fail('EACCES', `func '${origin.fname}' doesn't have ${Number(r) + 1}-th argument`);
    else bits.add(r);
  }
  for (const off of ctxReads) {
    if (!Number.isInteger(off) || off < 0 || off % 8 !== 0)
      return fail('EACCES', `invalid bpf_context access off=${off} size=8`);
    if (off >= totalBytes + 8)
      return fail('EACCES', `invalid bpf_context access off=${off} size=8`);
    if (off >= totalBytes) {
      const f = readRet();
      if (f !== null) return f;
      continue;
    }
    const idx = offsets.findIndex((o, i) => o + (sizes[i] ?? 0) > off);
    bits.add(idx);
  }
  return { ok: true, accessed: [...bits].sort((a, b) => a - b) };
};
