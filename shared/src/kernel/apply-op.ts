/**
 * The kernel operations: a pure `applyOp(state, op)` that returns a new state and the op's
 * value, or the untouched input state and an errno. Every operation commits fully or not at all
 * (spec §3.5, §9.5).
 *
 * Kept in one file over ~400 lines: every operation of the model in one `applyOp` switch, in the
 * order of the spec's §3 checks, so that each errno and its precedence read top to bottom.
 */
import type {
  Conn,
  KernelState,
  Link,
  LinkConn,
  ModuleRec,
  Prog,
  ProgOrigin,
  Tramp,
  TrampKey,
  TrampKind,
} from './kernel-state.js';
import type { Errno, FailedTarget, KernelOp, OpValue, ProgId, TargetRef } from './kernel-types.js';
import { fdinfoText } from './introspection.js';
import { draftMap } from './persistent-map.js';
import type { MapDraft } from './persistent-map.js';
import {
  checkAttachTarget,
  checkLinkTarget,
  fail,
  failedTargetOf,
  objectByName,
  parseAttach,
  recordAccessedArgs,
  resolveTarget,
  trampKey,
} from './target-check.js';
import type { CheckedTarget, Failure, LinkingProg, LinkTarget } from './target-check.js';

export type OpOutcome =
  | { readonly ok: true; readonly state: KernelState; readonly value: OpValue | null }
  | {
      readonly ok: false;
      readonly state: KernelState;
      readonly errno: Errno;
      readonly reason: string;
      /** link_create: the request target the refusal is about, when one is */
      readonly failedTarget?: FailedTarget;
    };

/** A working copy of the state's maps, private to one operation. */
interface Draft {
  readonly base: KernelState;
  readonly btfs: Map<number, number>;
  readonly btfRefcnt: Map<number, number>;
  readonly modules: Map<string, ModuleRec>;
  readonly progs: MapDraft<ProgId, Prog>;
  readonly links: MapDraft<number, Link>;
  readonly tramps: MapDraft<TrampKey, Tramp>;
  nextProgId: number;
  nextLinkId: number;
  nextObjId: number;
}

const draftOf = (s: KernelState): Draft => ({
  base: s,
  btfs: new Map(s.btfs),
  btfRefcnt: new Map(s.btfRefcnt),
  modules: new Map(s.modules),
  progs: draftMap(s.progs),
  links: draftMap(s.links),
  tramps: draftMap(s.tramps),
  nextProgId: s.nextProgId,
  nextLinkId: s.nextLinkId,
  nextObjId: s.nextObjId,
});

const commit = (d: Draft): KernelState => ({
  profile: d.base.profile,
  limits: d.base.limits,
  templates: d.base.templates,
  btfs: d.btfs,
  btfRefcnt: d.btfRefcnt,
  modules: d.modules,
  progs: d.progs.finish(),
  links: d.links.finish(),
  tramps: d.tramps.finish(),
  nextProgId: d.nextProgId,
  nextLinkId: d.nextLinkId,
  nextObjId: d.nextObjId,
});

const rejected = (state: KernelState, f: Failure): OpOutcome => ({
  ok: false,
  state,
  errno: f.errno,
  reason: f.reason,
  ...(f.failedTarget === undefined ? {} : { failedTarget: f.failedTarget }),
});
const done = (state: KernelState, value: OpValue | null): OpOutcome => ({ ok: true, state, value });

const moduleRef = (d: Draft, name: string, delta: number): void => {
  const m = d.modules.get(name);
  if (m !== undefined) d.modules.set(name, { ...m, refcount: m.refcount + delta });
};

const btfRef = (d: Draft, objId: number, delta: number): void => {
  const n = (d.btfRefcnt.get(objId) ?? 0) + delta;
  if (n === 0) d.btfRefcnt.delete(objId);
  else d.btfRefcnt.set(objId, n);
};

/** A trampoline with no holder yet; its function model comes from the target's BTF (spec §7.2). */
const emptyTramp = (key: TrampKey, t: CheckedTarget): Tramp => ({
  key,
  objId: t.objId,
  btfId: t.btfId,
  fname: t.fname,
  argCount: t.proto.totalBytes / 8,
  refcnt: 0,
  fentry: [],
  fexit: [],
  fmodRet: [],
  extension: null,
});

/** bpf_trampoline_get: get-or-create by key, +1 reference (spec §1.1). */
const trampGet = (d: Draft, t: CheckedTarget): Tramp => {
  const key = trampKey(t.objId, t.btfId);
  const cur = d.tramps.get(key) ?? emptyTramp(key, t);
  const next: Tramp = { ...cur, refcnt: cur.refcnt + 1 };
  d.tramps.set(key, next);
  return next;
};

/** bpf_trampoline_put: −1 reference; freed at 0 (its lists are empty by then). */
const trampPut = (d: Draft, key: TrampKey): void => {
  const cur = d.tramps.get(key);
  if (cur === undefined) return;
  if (cur.refcnt <= 1) d.tramps.delete(key);
  else d.tramps.set(key, { ...cur, refcnt: cur.refcnt - 1 });
};

const listsOf = (kind: TrampKind): readonly ('fentry' | 'fexit' | 'fmodRet')[] =>
  kind === 'fsession' ? ['fentry', 'fexit'] : kind === 'fmod_ret' ? ['fmodRet'] : [kind];

/**
 * Linking one connection (spec §3.4): freplace present → EBUSY; the shared budget
 * (fsession takes one fentry and one fexit slot) → E2BIG; the same program already on the
 * kind's list → EBUSY; else insert at the head (newest first).
 */
export const linkRule = (
  tr: Tramp,
  kind: TrampKind,
  progId: ProgId,
  maxTrampLinks: number,
): Failure | null => {
  if (tr.extension !== null)
    return fail('EBUSY', `${tr.fname} is extended by freplace program ${tr.extension}`);
  const total = tr.fentry.length + tr.fexit.length + tr.fmodRet.length;
  const need = kind === 'fsession' ? 2 : 1;
  if (total + need > maxTrampLinks)
    return fail(
      'E2BIG',
      `trampoline of ${tr.fname} already has ${total} of ${maxTrampLinks} links`,
    );
  for (const l of listsOf(kind))
    if (tr[l].some((c) => c.progId === progId))
      return fail('EBUSY', `program ${progId} is already attached to ${tr.fname}`);
  return null;
};

/** The trampoline with `conn` inserted at the head of its kind's list(s). */
const withConn = (tr: Tramp, conn: Conn, refDelta: number): Tramp => ({
  key: tr.key,
  objId: tr.objId,
  btfId: tr.btfId,
  fname: tr.fname,
  argCount: tr.argCount,
  refcnt: tr.refcnt + refDelta,
  fentry: conn.kind === 'fentry' || conn.kind === 'fsession' ? [conn, ...tr.fentry] : tr.fentry,
  fexit: conn.kind === 'fexit' || conn.kind === 'fsession' ? [conn, ...tr.fexit] : tr.fexit,
  fmodRet: conn.kind === 'fmod_ret' ? [conn, ...tr.fmodRet] : tr.fmodRet,
  extension: tr.extension,
});

const linkConn = (d: Draft, key: TrampKey, conn: Conn): Failure | null => {
  const tr = d.tramps.get(key);
  if (tr === undefined) return fail('ENOENT', `no trampoline ${key}`);
  const why = linkRule(tr, conn.kind, conn.progId, d.base.limits.maxTrampLinks);
  if (why !== null) return why;
  d.tramps.set(key, withConn(tr, conn, 0));
  return null;
};

/**
 * Get-or-create the target's trampoline (+1 reference) and link `conn` into it in one step.
 * Equivalent to the kernel's "get every trampoline, then link in order" (§3.2 11g then 12):
 * a failure at any point discards the whole draft, and the link rules see the same lists.
 */
const getAndLink = (d: Draft, t: CheckedTarget, conn: Conn): Failure | null => {
  const key = trampKey(t.objId, t.btfId);
  const cur = d.tramps.get(key) ?? emptyTramp(key, t);
  const why = linkRule(cur, conn.kind, conn.progId, d.base.limits.maxTrampLinks);
  if (why !== null) return why;
  d.tramps.set(key, withConn(cur, conn, 1));
  return null;
};

const unlinkAndPut = (d: Draft, link: Link): void => {
  for (const c of link.conns) {
    const tr = d.tramps.get(c.key);
    if (tr !== undefined) {
      const drop = (xs: readonly Conn[]): readonly Conn[] => xs.filter((x) => x.linkId !== link.id);
      d.tramps.set(c.key, {
        ...tr,
        fentry: drop(tr.fentry),
        fexit: drop(tr.fexit),
        fmodRet: drop(tr.fmodRet),
      });
    }
    trampPut(d, c.key);
  }
};

/** Drops one program reference; at 0 the program is freed with its load-time holds (spec §1.3). */
const progPut = (d: Draft, progId: ProgId): void => {
  const p = d.progs.get(progId);
  if (p === undefined) return;
  if (p.refcnt > 1) {
    d.progs.set(progId, { ...p, refcnt: p.refcnt - 1 });
    return;
  }
  d.progs.delete(progId);
  if (p.dstTramp !== null) trampPut(d, p.dstTramp);
  if (p.modPin !== null) moduleRef(d, p.modPin, -1);
  btfRef(d, p.attachObjId, -1);
};

/** Link dealloc: unlink every connection, drop module/BTF refs, then the program (spec §4.1). */
const destroyLink = (d: Draft, link: Link): void => {
  unlinkAndPut(d, link);
  for (const m of link.modRefs) moduleRef(d, m, -1);
  for (const b of link.btfRefs) btfRef(d, b, -1);
  d.links.delete(link.id);
  progPut(d, link.progId);
};

export interface PreparedProg {
  readonly ok: true;
  readonly prog: Omit<Prog, 'id' | 'name' | 'loaded' | 'refcnt' | 'dstTramp'>;
  /** the origin target whose trampoline the verifier takes at load (spec §2.1.9), if any */
  readonly originTarget: CheckedTarget | null;
}

export type ProgDescription = Omit<Extract<KernelOp, { op: 'prog_load' }>, 'op' | 'name'>;

/**
 * BPF_PROG_LOAD checks without side effects. V26 multi (spec §2.2): loads against
 * `bpf_multi_func` in `object` (default vmlinux), pins that module, and rejects every ctx
 * argument read (including `ret`: `bpf_multi_func` has nothing to read) and any `origin`.
 * Everything else (V24 and all single programs, spec §2.1): origin required and checked
 * (§3.12 with the load-only rules), reads recorded, return range [0,0] except fmod_ret.
 */
export const prepareProg = (state: KernelState, op: ProgDescription): PreparedProg | Failure => {
  const at = parseAttach(state, op.attach);
  if (!at.ok) return at;
  const returns = op.returns ?? 0n;
  if (at.kind !== 'fmod_ret' && returns !== 0n)
    return fail(
      'EINVAL',
      `At program exit the register R0 has value ${returns} should have been in [0, 0]`,
    );
  const reads = op.reads ?? [];
  const ctxReads = op.ctxReads ?? [];
  if (state.profile === 'v26' && at.multi) {
    if (op.origin !== undefined)
      return fail(
        'EINVAL',
        'v26 multi programs load against bpf_multi_func; origin is not accepted',
      );
    // The verifier refuses a ctx load btf_ctx_access does not allow with -EACCES
    // ("invalid bpf_context access", kernel/bpf/verifier.c check_ctx_access) [ml].
    const firstRead = reads[0];
    if (firstRead !== undefined)
      return fail(
        'EACCES',
        firstRead === 'ret'
          ? `invalid bpf_context access off=0 size=8`
          : `func 'bpf_multi_func' doesn't have ${firstRead + 1}-th argument`,
      );
    const firstCtx = ctxReads[0];
    if (firstCtx !== undefined)
      return fail('EACCES', `invalid bpf_context access off=${firstCtx} size=8`);
    const objName = op.object ?? 'vmlinux';
    const obj = objectByName(state, objName);
    if (obj === null) return fail('ESRCH', `BTF object ${objName} is not loaded`);
    if (obj.tpl.kind === 'user')
      return fail('EOPNOTSUPP', `BTF object ${objName} is not a kernel BTF`);
    const mod = obj.tpl.kind === 'module' ? state.modules.get(objName) : undefined;
    if (mod !== undefined && mod.state !== 'live')
      return fail('ENOENT', `module ${objName} is going away; its reference cannot be taken`);
    return {
      ok: true,
      prog: {
        attach: op.attach,
        kind: at.kind,
        multi: true,
        sleepable: at.sleepable,
        returns,
        attachObjId: obj.objId,
        origin: null,
        accessed: [],
        modPin: mod === undefined ? null : mod.name,
      },
      originTarget: null,
    };
  }
  if (op.object !== undefined)
    return fail(
      'EINVAL',
      `object is only for v26 multi programs; ${op.attach} loads against its origin`,
    );
  if (op.origin === undefined) return fail('EINVAL', 'no BTF-based attach target is specified');
  const r = resolveTarget(state, op.origin);
  if (!r.ok) return r;
  const t = checkAttachTarget(state, at, r.objId, r.btfId, 'load');
  if (!t.ok) return t;
  const origin: ProgOrigin = { btfId: t.btfId, fname: t.fname, proto: t.proto };
  const acc = recordAccessedArgs(t.tpl, origin, at.kind, reads, ctxReads);
  if (!acc.ok) return acc;
  return {
    ok: true,
    prog: {
      attach: op.attach,
      kind: at.kind,
      multi: at.multi,
      sleepable: at.sleepable,
      returns,
      attachObjId: t.objId,
      origin,
      accessed: acc.accessed,
      modPin: t.module,
    },
    originTarget: t,
  };
};

const progLoad = (state: KernelState, op: Extract<KernelOp, { op: 'prog_load' }>): OpOutcome => {
  const prepared = prepareProg(state, op);
  if (!prepared.ok) return rejected(state, prepared);
  const d = draftOf(state);
  const id = d.nextProgId++;
  // V24 and single programs: the verifier takes the origin trampoline (dst_trampoline) and the
  // origin module reference at load (spec §2.1.9, §1.3).
  const dst = prepared.originTarget === null ? null : trampGet(d, prepared.originTarget).key;
  if (prepared.prog.modPin !== null) moduleRef(d, prepared.prog.modPin, 1);
  btfRef(d, prepared.prog.attachObjId, 1);
  d.progs.set(id, { ...prepared.prog, id, name: op.name, loaded: true, refcnt: 1, dstTramp: dst });
  return done(commit(d), { progId: id });
};

const progRelease = (state: KernelState, progId: ProgId): OpOutcome => {
  const p = state.progs.get(progId);
  if (p === undefined || !p.loaded)
    return rejected(state, fail('EBADF', `no program fd for prog ${progId}`));
  const d = draftOf(state);
  d.progs.set(progId, { ...p, loaded: false });
  progPut(d, progId);
  return done(commit(d), null);
};

type LinkCreate = Extract<KernelOp, { op: 'link_create' }>;

/** The link_create value from the checked targets, index-aligned with the link's connections. */
const checkedValue = (link: Link, checked: readonly CheckedTarget[]): OpValue => ({
  linkId: link.id,
  connections: checked.map((t, i) => ({
    function: t.fname,
    objId: t.objId,
    btfId: t.btfId,
    cookie: link.conns[i]?.cookie ?? 0n,
  })),
});

const connectionsValue = (d: Draft, link: Link): OpValue => ({
  linkId: link.id,
  connections: link.conns.map((c) => {
    const tr = d.tramps.get(c.key);
    return {
      function: tr?.fname ?? '',
      objId: tr?.objId ?? 0,
      btfId: tr?.btfId ?? 0,
      cookie: c.cookie,
    };
  }),
});

/** A request target the kernel resolved: (BTF object id, btf id), with the ref as given. */
interface RequestTarget {
  readonly ref: TargetRef;
  readonly objId: number;
  readonly btfId: number;
}

/**
 * A link_create refusal caused by request entry `index`: the outcome's reason is the kernel
 * model's message (`prefix` + the target's reason), the FailedTarget carries the target's part.
 */
const targetRejected = (
  state: KernelState,
  index: number,
  target: { readonly ref?: TargetRef; readonly objId: number; readonly btfId: number },
  f: Failure,
  prefix = '',
): OpOutcome =>
  rejected(state, {
    ok: false,
    errno: f.errno,
    reason: `${prefix}${f.reason}`,
    failedTarget: failedTargetOf(state, index, target.ref, target, f),
  });

/**
 * Single fentry/fexit/fmod_ret link (spec §3.12.8): the target is the load-time one (a link-time
 * target is only for freplace → EINVAL unless it names the origin); the load-time trampoline is
 * taken over, or — after an earlier link released it — re-derived and re-checked; one cookie.
 */
const singleLink = (state: KernelState, prog: Prog, op: LinkCreate): OpOutcome => {
  const origin = prog.origin;
  if (origin === null) return rejected(state, fail('EINVAL', 'program has no attach target'));
  const all = resolveAll(state, op);
  if (!all.ok) return all.outcome;
  // no link-time target: the load-time one
  const targets: readonly { objId: number; btfId: number; ref?: TargetRef }[] =
    all.targets.length > 0 ? all.targets : [{ objId: prog.attachObjId, btfId: origin.btfId }];
  let target: LinkTarget | null = null;
  for (const [i, t] of targets.entries()) {
    const c = checkLinkTarget(state, prog, t);
    if (!c.ok) return all.targets.length > 0 ? targetRejected(state, i, t, c) : rejected(state, c);
    target = c;
  }
  if (target === null) return rejected(state, fail('EINVAL', 'program has no attach target'));
  if ((op.cookies?.length ?? 0) > 1)
    return rejected(state, fail('EINVAL', 'a single tracing link takes at most one cookie'));
  const cookie = op.cookies?.[0] ?? 0n;
  const d = draftOf(state);
  const key = target.checked === null ? target.key : trampGet(d, target.checked).key;
  const id = d.nextLinkId++;
  const why = linkConn(d, key, { linkId: id, progId: prog.id, cookie, kind: prog.kind });
  if (why !== null) {
    const first = all.targets[0];
    return first === undefined ? rejected(state, why) : targetRejected(state, 0, first, why);
  }
  d.progs.set(prog.id, { ...prog, dstTramp: null, refcnt: prog.refcnt + 1 });
  const link: Link = {
    id,
    progId: prog.id,
    type: 'tracing',
    kind: prog.kind,
    conns: [{ key, cookie }],
    btfRefs: [],
    modRefs: [],
    pinned: false,
    fdOpen: true,
  };
  d.links.set(id, link);
  return done(commit(d), connectionsValue(d, link));
};

interface UapiArrays {
  readonly cnt: number;
  readonly targets: readonly RequestTarget[];
  readonly cookies: readonly bigint[] | null;
}

/** libbpf name resolution of every request target (ESRCH names the first that fails). */
const resolveAll = (
  state: KernelState,
  op: LinkCreate,
):
  | { readonly ok: true; readonly targets: readonly RequestTarget[] }
  | { readonly ok: false; readonly outcome: OpOutcome } => {
  const targets: RequestTarget[] = [];
  for (const [i, ref] of op.targets.entries()) {
    const x = resolveTarget(state, ref);
    if (!x.ok) {
      const failedTarget = failedTargetOf(state, i, ref, null, x);
      return { ok: false, outcome: rejected(state, { ...x, failedTarget }) };
    }
    targets.push({ ref, objId: x.objId, btfId: x.btfId });
  }
  return { ok: true, targets };
};

/**
 * V24 multi attach (spec §3.2): the check order of the table, the per-target loop (11a-11g)
 * before any linking, linking in request order, all-or-nothing (§3.5), de-duplicated BTF and
 * module references, and the program's dst_trampoline dropped on success (so a second multi link
 * in the program's lifetime is EEXIST, spec §9.2a). Duplicates are found late: EBUSY (§3.6).
 */
const multiLinkV24 = (state: KernelState, prog: Prog, u: UapiArrays): OpOutcome => {
  const { cnt, targets, cookies } = u;
  if (cnt === 0) return rejected(state, fail('EINVAL', 'cnt is 0'));
  if (cnt > state.limits.maxMultiCount)
    return rejected(
      state,
      fail('E2BIG', `cnt ${cnt} exceeds MAX_TRACING_MULTI_CNT ${state.limits.maxMultiCount}`),
    );
  if (cookies !== null && cookies.length < cnt)
    return rejected(state, fail('EFAULT', `cookies array has ${cookies.length} of ${cnt} entries`));
  if (targets.length > 0 && targets.length < cnt)
    return rejected(state, fail('EFAULT', `tgt_fds array has ${targets.length} of ${cnt} entries`));
  if (targets.length === 0) return rejected(state, fail('EINVAL', 'btf_ids is NULL'));
  const used = targets.slice(0, cnt);
  const zero = used.findIndex((t) => t.btfId === 0);
  const zeroTarget = used[zero];
  if (zeroTarget !== undefined)
    return targetRejected(state, zero, zeroTarget, fail('EINVAL', `btf_ids[${zero}] is 0`));
  if (prog.dstTramp === null)
    return rejected(
      state,
      fail('EEXIST', `program ${prog.id} was already multi-attached once (dst_trampoline is NULL)`),
    );
  if (prog.origin === null) return rejected(state, fail('EOPNOTSUPP', 'program has no origin BTF'));
  const checked: CheckedTarget[] = [];
  for (const [i, t] of used.entries()) {
    const c = checkLinkTarget(state, prog, t);
    if (!c.ok) return targetRejected(state, i, t, c, `target ${i}: `);
    if (c.checked !== null) checked.push(c.checked);
  }
  const d = draftOf(state);
  const id = d.nextLinkId++;
  const conns: LinkConn[] = new Array<LinkConn>(checked.length);
  const btfSet = new Set<number>();
  const modSet = new Set<string>();
  for (let i = 0; i < checked.length; i++) {
    const c = checked[i] as CheckedTarget;
    const cookie = cookies?.[i] ?? 0n;
    const why = getAndLink(d, c, { linkId: id, progId: prog.id, cookie, kind: prog.kind });
    const t = used[i] as RequestTarget;
    if (why !== null) return targetRejected(state, i, t, why, `target ${i}: `);
    conns[i] = { key: trampKey(c.objId, c.btfId), cookie };
    btfSet.add(c.objId);
    if (c.module !== null) modSet.add(c.module);
  }
  const btfRefs = [...btfSet];
  const modRefs = [...modSet];
  for (const b of btfRefs) btfRef(d, b, 1);
  for (const m of modRefs) moduleRef(d, m, 1);
  trampPut(d, prog.dstTramp);
  d.progs.set(prog.id, { ...prog, dstTramp: null, refcnt: prog.refcnt + 1 });
  const link: Link = {
    id,
    progId: prog.id,
    type: 'tracing_multi',
    kind: prog.kind,
    conns,
    btfRefs,
    modRefs,
    pinned: false,
    fdOpen: true,
  };
  d.links.set(id, link);
  return done(commit(d), checkedValue(link, checked));
};

/**
 * V26 multi attach (spec §3.11): ids are interpreted in the program's attach BTF (a target
 * named in another object contributes only its btf id), sorted with their cookies, an equal
 * adjacent pair is EINVAL before anything is touched, then checked and linked in ascending id
 * order; all-or-nothing. No per-link module/BTF references: the program's pin suffices (spec
 * §9.7, the choice the spec author believes). Id 0 is EINVAL (spec §9.7 leaves the errno open;
 * EINVAL is what `btf_id == 0` gives everywhere else in §3.12.1).
 */
const multiLinkV26 = (state: KernelState, prog: Prog, u: UapiArrays): OpOutcome => {
  const { cnt, targets, cookies } = u;
  if (cnt === 0 || targets.length === 0)
    return rejected(state, fail('EINVAL', 'cnt is 0 or ids is NULL'));
  if (cnt > state.limits.maxMultiCount)
    return rejected(
      state,
      fail('E2BIG', `cnt ${cnt} exceeds MAX_TRACING_MULTI_CNT ${state.limits.maxMultiCount}`),
    );
  if (targets.length < cnt)
    return rejected(state, fail('EFAULT', `ids array has ${targets.length} of ${cnt} entries`));
  if (cookies !== null && cookies.length < cnt)
    return rejected(state, fail('EFAULT', `cookies array has ${cookies.length} of ${cnt} entries`));
  // each row keeps its request index: the sort is stable, so of two equal ids the later one in
  // the request is the duplicate
  const rows = targets.slice(0, cnt).map((t, index) => ({
    ref: t.ref,
    objId: prog.attachObjId,
    btfId: t.btfId,
    cookie: cookies?.[index] ?? 0n,
    index,
  }));
  let sorted = true;
  for (let i = 1; i < rows.length && sorted; i++)
    sorted = (rows[i - 1] as { btfId: number }).btfId < (rows[i] as { btfId: number }).btfId;
  if (!sorted) {
    rows.sort((a, b) => a.btfId - b.btfId);
    for (let i = 1; i < rows.length; i++) {
      const row = rows[i] as (typeof rows)[number];
      if (row.btfId === rows[i - 1]?.btfId)
        return targetRejected(state, row.index, row, fail('EINVAL', `duplicate id ${row.btfId}`));
    }
  }
  const checked: CheckedTarget[] = [];
  for (const r of rows) {
    const c = checkLinkTarget(state, prog, r);
    if (!c.ok) return targetRejected(state, r.index, r, c, `id ${r.btfId}: `);
    if (c.checked !== null) checked.push(c.checked);
  }
  const d = draftOf(state);
  const id = d.nextLinkId++;
  const conns: LinkConn[] = new Array<LinkConn>(checked.length);
  for (let i = 0; i < checked.length; i++) {
    const c = checked[i] as CheckedTarget;
    const row = rows[i] as (typeof rows)[number];
    const why = getAndLink(d, c, {
      linkId: id,
      progId: prog.id,
      cookie: row.cookie,
      kind: prog.kind,
    });
    if (why !== null) return targetRejected(state, row.index, row, why);
    conns[i] = { key: trampKey(c.objId, c.btfId), cookie: row.cookie };
  }
  d.progs.set(prog.id, { ...prog, refcnt: prog.refcnt + 1 });
  const link: Link = {
    id,
    progId: prog.id,
    type: 'tracing_multi',
    kind: prog.kind,
    conns,
    btfRefs: [],
    modRefs: [],
    pinned: false,
    fdOpen: true,
  };
  d.links.set(id, link);
  return done(commit(d), checkedValue(link, checked));
};

/**
 * BPF_LINK_CREATE for a tracing program: single or multi by the program's attach type. A refusal
 * that one request target causes carries `failedTarget`, its index into `op.targets`.
 */
const linkCreate = (state: KernelState, op: LinkCreate): OpOutcome => {
  const prog = state.progs.get(op.prog);
  if (prog === undefined || !prog.loaded)
    return rejected(state, fail('EBADF', `no program fd for prog ${op.prog}`));
  if (!prog.multi) return singleLink(state, prog, op);
  const all = resolveAll(state, op);
  if (!all.ok) return all.outcome;
  const cnt = op.count ?? op.targets.length;
  if (!Number.isInteger(cnt) || cnt < 0 || cnt > 0xffffffff)
    return rejected(state, fail('EINVAL', `cnt ${cnt} is not a u32`));
  const u: UapiArrays = { cnt, targets: all.targets, cookies: op.cookies ?? null };
  return state.profile === 'v24' ? multiLinkV24(state, prog, u) : multiLinkV26(state, prog, u);
};

const withLink = (
  state: KernelState,
  linkId: number,
  needFd: boolean,
  f: (link: Link) => OpOutcome,
): OpOutcome => {
  const link = state.links.get(linkId);
  if (link === undefined || (needFd && !link.fdOpen))
    return rejected(state, fail('EBADF', `no link fd for link ${linkId}`));
  return f(link);
};

const linkRelease = (state: KernelState, link: Link): OpOutcome => {
  const d = draftOf(state);
  if (link.pinned) d.links.set(link.id, { ...link, fdOpen: false });
  else destroyLink(d, link);
  return done(commit(d), null);
};

const pinLink = (state: KernelState, link: Link): KernelState => {
  const d = draftOf(state);
  d.links.set(link.id, { ...link, pinned: true });
  return commit(d);
};

const linkUnpin = (state: KernelState, link: Link): OpOutcome => {
  if (!link.pinned) return rejected(state, fail('ENOENT', `link ${link.id} is not pinned`));
  const d = draftOf(state);
  if (link.fdOpen) d.links.set(link.id, { ...link, pinned: false });
  else destroyLink(d, link);
  return done(commit(d), null);
};

const moduleOp = (state: KernelState, name: string, f: (m: ModuleRec) => OpOutcome): OpOutcome => {
  const m = state.modules.get(name);
  if (m === undefined) {
    const isObject = state.templates.some((t) => t.name === name);
    return rejected(
      state,
      isObject
        ? fail('EINVAL', `${name} is not a module`)
        : fail('ENOENT', `no module named ${name}`),
    );
  }
  return f(m);
};

const moduleLoad = (state: KernelState, m: ModuleRec): OpOutcome => {
  if (m.objId !== null)
    return rejected(state, fail('EEXIST', `module ${m.name} is already loaded`));
  const d = draftOf(state);
  const objId = d.nextObjId++;
  d.btfs.set(objId, m.template);
  d.modules.set(m.name, { ...m, state: 'live', objId, refcount: 0 });
  return done(commit(d), null);
};

/** delete_module without force (spec §4.2): any holder → EAGAIN (EWOULDBLOCK's canonical name). */
const moduleUnload = (state: KernelState, m: ModuleRec): OpOutcome => {
  if (m.objId === null) return rejected(state, fail('ENOENT', `module ${m.name} is not loaded`));
  if (m.refcount > 0)
    return rejected(state, fail('EAGAIN', `module ${m.name} is in use (refcount ${m.refcount})`));
  const d = draftOf(state);
  d.btfs.delete(m.objId);
  d.btfRefcnt.delete(m.objId);
  d.modules.set(m.name, { ...m, state: 'unloaded', objId: null, refcount: 0 });
  return done(commit(d), null);
};

const moduleSetState = (state: KernelState, m: ModuleRec, s: 'live' | 'going'): OpOutcome => {
  if (m.objId === null) return rejected(state, fail('ENOENT', `module ${m.name} is not loaded`));
  const d = draftOf(state);
  d.modules.set(m.name, { ...m, state: s });
  return done(commit(d), null);
};

/**
 * A call of a traced function (spec §4.4): fentry newest first, fmod_ret until the first
 * non-zero return (which skips the function and the remaining fmod_ret programs and becomes
 * the return value), the function itself, then fexit seeing the return value. fsession runs at
 * entry (with fentry) and at exit (with fexit).
 */
const trigger = (state: KernelState, op: Extract<KernelOp, { op: 'trigger' }>): OpOutcome => {
  const r = resolveTarget(state, op.function);
  if (!r.ok) return rejected(state, r);
  const tr = state.tramps.get(trampKey(r.objId, r.btfId));
  const fnRet = op.returns ?? 0n;
  if (tr === undefined) return done(state, { invocations: [], returned: fnRet, called: true });
  const name = (id: ProgId): string => state.progs.get(id)?.name ?? `prog#${id}`;
  const inv = (c: Conn, kind: 'fentry' | 'fexit' | 'fmod_ret') => ({
    prog: name(c.progId),
    kind: c.kind === 'fsession' ? ('fsession' as const) : kind,
    cookie: c.cookie,
    funcIp: tr.fname,
    argCount: tr.argCount,
  });
  const invocations = tr.fentry.map((c) => inv(c, 'fentry'));
  let returned = fnRet;
  let called = true;
  for (const c of tr.fmodRet) {
    invocations.push(inv(c, 'fmod_ret'));
    const ret = state.progs.get(c.progId)?.returns ?? 0n;
    if (ret !== 0n) {
      returned = ret;
      called = false;
      break;
    }
  }
  for (const c of tr.fexit) invocations.push(inv(c, 'fexit'));
  return done(state, { invocations, returned, called });
};

/**
 * Applies one kernel operation. Pure: the input state is never changed; on failure the outcome
 * carries the input state itself and the errno. Unknown program or link ids are EBADF.
 */
export const applyOp = (state: KernelState, op: KernelOp): OpOutcome => {
  switch (op.op) {
    case 'prog_load':
      return progLoad(state, op);
    case 'prog_release':
      return progRelease(state, op.prog);
    case 'link_create':
      return linkCreate(state, op);
    case 'link_release':
      return withLink(state, op.link, true, (l) => linkRelease(state, l));
    case 'link_pin':
      return withLink(state, op.link, true, (l) =>
        l.pinned
          ? rejected(state, fail('EEXIST', `link ${l.id} is already pinned`))
          : done(pinLink(state, l), null),
      );
    case 'link_unpin':
      return withLink(state, op.link, false, (l) => linkUnpin(state, l));
    case 'link_detach':
      return withLink(state, op.link, true, (l) =>
        rejected(state, fail('EOPNOTSUPP', `${l.type} links have no detach operation (spec §4.1)`)),
      );
    case 'link_update':
      return withLink(state, op.link, true, (l) => {
        const p = state.progs.get(op.prog);
        if (p === undefined || !p.loaded)
          return rejected(state, fail('EBADF', `no program fd for prog ${op.prog}`));
        return rejected(
          state,
          fail('EINVAL', `${l.type} links have no update_prog operation (spec §4.1)`),
        );
      });
    case 'module_load':
      return moduleOp(state, op.module, (m) => moduleLoad(state, m));
    case 'module_unload':
      return moduleOp(state, op.module, (m) => moduleUnload(state, m));
    case 'module_set_state':
      return moduleOp(state, op.module, (m) => moduleSetState(state, m, op.state));
    case 'trigger':
      return trigger(state, op);
    case 'fdinfo':
      return withLink(state, op.link, true, (l) => done(state, { text: fdinfoText(state, l) }));
    default:
      return rejected(state, fail('EINVAL', `unknown operation ${(op as { op: string }).op}`));
  }
};

/** What a program that could be loaded, or a loaded one, is described by for `checkTarget`. */
export type ProgLike = ProgId | ProgDescription;

/**
 * Can program P attach to target F here, without attaching? Runs the attach path's checks for
 * one target: resolution (ESRCH), V24 EEXIST for a program already multi-attached, the
 * per-target checks (§3.12; V26 interprets the id in the program's attach BTF), V24 prototype
 * match (§3.3), single programs' fixed target, and — when F's trampoline exists — the link rules
 * of §3.4 (EBUSY, E2BIG). A description is first checked as BPF_PROG_LOAD would.
 */
export const checkTarget = (
  state: KernelState,
  progLike: ProgLike,
  target: TargetRef,
): { readonly ok: true } | Failure => {
  let prog: LinkingProg;
  if (typeof progLike === 'number') {
    const p = state.progs.get(progLike);
    if (p === undefined || !p.loaded) return fail('EBADF', `no program fd for prog ${progLike}`);
    prog = p;
  } else {
    const prepared = prepareProg(state, progLike);
    if (!prepared.ok) return prepared;
    const dst =
      prepared.originTarget === null
        ? null
        : trampKey(prepared.originTarget.objId, prepared.originTarget.btfId);
    prog = { ...prepared.prog, id: -1, dstTramp: dst };
  }
  const r = resolveTarget(state, target);
  if (!r.ok) return r;
  if (prog.multi && state.profile === 'v24') {
    if (r.btfId === 0) return fail('EINVAL', 'btf_ids[0] is 0');
    if (prog.dstTramp === null) return fail('EEXIST', `program was already multi-attached once`);
  }
  const c = checkLinkTarget(state, prog, r);
  if (!c.ok) return c;
  const tr = state.tramps.get(c.key);
  if (tr !== undefined) {
    const why = linkRule(tr, prog.kind, prog.id, state.limits.maxTrampLinks);
    if (why !== null) return why;
  }
  return { ok: true };
};
