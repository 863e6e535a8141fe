/**
 * The kernel value: BTF objects, modules, programs, links and trampolines (spec §1, §9.8), and
 * its constructors. A KernelState is never mutated; operations return a new one.
 */
import { err, ok } from '../lib/result.js';
import type { Result } from '../lib/result.js';
import type { TracingKind } from '../lib/kernel-vocabulary.js';
import type { BtfObjectKind, TypeId } from '../lib/btf-model.js';
import { buildBtfObjects } from './btf-build.js';
import { emptyPersistentMap } from './persistent-map.js';
import type { BtfView, DistilledProto } from './btf-proto.js';
import type {
  FunctionAttrs,
  KernelLimits,
  KernelObjectInput,
  KernelProfile,
  KernelSpec,
  LinkId,
  ProgId,
  SpecProblem,
} from './kernel-types.js';

/** include/linux/bpf.h BPF_MAX_TRAMP_LINKS: 38 on x86_64 (27 on s390x), spec §1.1. */
export const DEFAULT_MAX_TRAMP_LINKS = 38;
/** V24 MAX_TRACING_MULTI_CNT: 1024 (spec §3.2 row 3). */
export const V24_MAX_MULTI_COUNT = 1024;
/**
 * V26 MAX_TRACING_MULTI_CNT is unconfirmed (spec §9.7). Chosen: 1 << 20, the kprobe_multi limit
 * (MAX_KPROBE_MULTI_CNT, spec §3.13) that V26 reuses its sorted-ids+cookies design from; it is
 * comfortably above the 50k-function attaches the V26 discussion mentions.
 */
export const V26_MAX_MULTI_COUNT = 1 << 20;

/** Default kernel constants per profile. */
export const defaultLimits = (profile: KernelProfile): KernelLimits => ({
  maxTrampLinks: DEFAULT_MAX_TRAMP_LINKS,
  maxMultiCount: profile === 'v24' ? V24_MAX_MULTI_COUNT : V26_MAX_MULTI_COUNT,
});

/** A declared BTF object (a module's is instantiated with a new object id at every load). */
export interface ObjTemplate {
  readonly index: number;
  readonly name: string;
  readonly kind: BtfObjectKind;
  readonly view: BtfView;
  /** the first FUNC of each name among the object's own types */
  readonly funcIds: ReadonlyMap<string, TypeId>;
  /** named non-function types among the object's own types, by bare name */
  readonly namedIds: ReadonlyMap<string, TypeId>;
  readonly attrs: (functionName: string) => FunctionAttrs;
}

export interface ModuleRec {
  readonly name: string;
  readonly template: number;
  readonly state: 'live' | 'going' | 'unloaded';
  /** holders: programs pinning it (origin / attach object) + V24 multi links listing it */
  readonly refcount: number;
  /** BTF object id of the current load; null while unloaded */
  readonly objId: number | null;
}

/** Trampoline list kinds; fsession (V26) sits on both the fentry and the fexit list. */
export type TrampKind = TracingKind;

export interface Conn {
  readonly linkId: LinkId;
  readonly progId: ProgId;
  readonly cookie: bigint;
  readonly kind: TrampKind;
}

/**
 * A trampoline key: objId * 2^32 + btfId, the kernel's (obj id, btf id) pair as one number
 * (exact below 2^53; object ids stay far below 2^21).
 */
export type TrampKey = number;

/** One trampoline per (BTF object id, btf id) key (spec §1.1, §9.4). */
export interface Tramp {
  readonly key: TrampKey;
  readonly objId: number;
  readonly btfId: TypeId;
  readonly fname: string;
  /** the function's 8-byte argument slots: bpf_get_func_arg_cnt() (spec §4.4.1) */
  readonly argCount: number;
  /** holders: V24/ML programs' dst_trampoline + link entries */
  readonly refcnt: number;
  /** newest first */
  readonly fentry: readonly Conn[];
  readonly fexit: readonly Conn[];
  readonly fmodRet: readonly Conn[];
  /** freplace program; no operation creates one (no freplace op is modelled), kept for §3.4.1 */
  readonly extension: ProgId | null;
}

export interface ProgOrigin {
  readonly btfId: TypeId;
  readonly fname: string;
  readonly proto: DistilledProto;
}

export interface Prog {
  readonly id: ProgId;
  readonly name: string;
  readonly attach: string;
  readonly kind: TrampKind;
  readonly multi: boolean;
  readonly sleepable: boolean;
  readonly returns: bigint;
  /** attach_btf: the origin's object (V24, single) or the load object (V26 multi) */
  readonly attachObjId: number;
  readonly origin: ProgOrigin | null;
  /** accessed_args as sorted indices; nargs(origin) = the return value (spec §2.1.4) */
  readonly accessed: readonly number[];
  /** key of the load-time trampoline still held (spec §2.1.9), or null */
  readonly dstTramp: TrampKey | null;
  /** module pinned for the program's lifetime (origin module, or V26 attach object) */
  readonly modPin: string | null;
  /** the loader still holds the program fd */
  readonly loaded: boolean;
  /** holders: loader fd + links */
  readonly refcnt: number;
}

export interface LinkConn {
  readonly key: TrampKey;
  readonly cookie: bigint;
}

export interface Link {
  readonly id: LinkId;
  readonly progId: ProgId;
  readonly type: 'tracing' | 'tracing_multi';
  readonly kind: TrampKind;
  /** one per target, in the profile's order (V24 request order, V26 ascending btf id) */
  readonly conns: readonly LinkConn[];
  /** V24 de-duplicated BTF object references (spec §1.3) */
  readonly btfRefs: readonly number[];
  /** V24 de-duplicated module references (spec §1.3) */
  readonly modRefs: readonly string[];
  readonly pinned: boolean;
  readonly fdOpen: boolean;
}

export interface KernelState {
  readonly profile: KernelProfile;
  readonly limits: KernelLimits;
  readonly templates: readonly ObjTemplate[];
  /** loaded BTF object id → template index */
  readonly btfs: ReadonlyMap<number, number>;
  /** BTF object id → holders (programs' attach BTF + V24 links' btfRefs) */
  readonly btfRefcnt: ReadonlyMap<number, number>;
  readonly modules: ReadonlyMap<string, ModuleRec>;
  readonly progs: ReadonlyMap<ProgId, Prog>;
  readonly links: ReadonlyMap<LinkId, Link>;
  readonly tramps: ReadonlyMap<TrampKey, Tramp>;
  readonly nextProgId: ProgId;
  readonly nextLinkId: LinkId;
  readonly nextObjId: number;
}

const normaliseAttrs = (name: string, a: Partial<FunctionAttrs>): FunctionAttrs => ({
  errorInjectable: a.errorInjectable ?? false,
  nonSleepable: a.nonSleepable ?? false,
  fmodret: a.fmodret ?? false,
  fmodretSleepable: a.fmodretSleepable ?? false,
  securityHook: a.securityHook ?? name.startsWith('security_'),
  denyListed: a.denyListed ?? false,
  noreturn: a.noreturn ?? false,
  hasAddress: a.hasAddress ?? true,
});

const makeTemplate = (
  index: number,
  input: KernelObjectInput,
  base: KernelObjectInput | null,
): ObjTemplate => {
  const btf = input.btf;
  const funcIds = new Map<string, TypeId>();
  const namedIds = new Map<string, TypeId>();
  for (const [i, t] of btf.types.entries()) {
    const id = btf.firstTypeId + i;
    if (t.kind === 'func') {
      if (!funcIds.has(t.name)) funcIds.set(t.name, id);
    } else if ('name' in t && t.name !== '' && !namedIds.has(t.name)) namedIds.set(t.name, id);
  }
  const split = btf.kind === 'module' && base !== null;
  const attrsMemo = new Map<string, FunctionAttrs>();
  return {
    index,
    name: btf.name,
    kind: btf.kind,
    view: { btf, base: split ? base.btf : null },
    funcIds,
    namedIds,
    attrs: (name) => {
      // memo of a pure function of the (immutable) input: the same answer every time
      let a = attrsMemo.get(name);
      if (a === undefined) {
        a = normaliseAttrs(name, input.attrs(name));
        attrsMemo.set(name, a);
      }
      return a;
    },
  };
};

/**
 * A kernel from already-parsed BTF plus symbol facts. The first vmlinux object is the base of
 * every module's split BTF. BTF object ids are assigned in input order to the objects that are
 * loaded (vmlinux gets 1 when first); a module loaded later gets the next free id.
 */
export const createKernel = (input: {
  readonly profile: KernelProfile;
  readonly limits?: Partial<KernelLimits>;
  readonly objects: readonly KernelObjectInput[];
}): KernelState => {
  const base = input.objects.find((o) => o.btf.kind === 'vmlinux') ?? null;
  const templates = input.objects.map((o, i) => makeTemplate(i, o, base));
  const btfs = new Map<number, number>();
  const modules = new Map<string, ModuleRec>();
  let nextObjId = 1;
  for (const [i, o] of input.objects.entries()) {
    const loaded = o.btf.kind !== 'module' || o.loaded;
    const objId = loaded ? nextObjId++ : null;
    if (objId !== null) btfs.set(objId, i);
    if (o.btf.kind === 'module')
      modules.set(o.btf.name, {
        name: o.btf.name,
        template: i,
        state: loaded ? 'live' : 'unloaded',
        refcount: 0,
        objId,
      });
  }
  return {
    profile: input.profile,
    limits: { ...defaultLimits(input.profile), ...stripUndefined(input.limits ?? {}) },
    templates,
    btfs,
    btfRefcnt: new Map(),
    modules,
    progs: emptyPersistentMap(),
    links: emptyPersistentMap(),
    tramps: emptyPersistentMap(),
    nextProgId: 1,
    nextLinkId: 1,
    nextObjId,
  };
};

const stripUndefined = (l: Partial<KernelLimits>): Partial<KernelLimits> => {
  const out: { maxTrampLinks?: number; maxMultiCount?: number } = {};
  if (l.maxTrampLinks !== undefined) out.maxTrampLinks = l.maxTrampLinks;
  if (l.maxMultiCount !== undefined) out.maxMultiCount = l.maxMultiCount;
  return out;
};

/**
 * Declarations → BTF objects → kernel. Rejects (with every problem and its field path) unknown
 * types, malformed names, duplicate declarations, unusable fixed btfIds and bad limits; the SHAPE
 * of the spec is the caller's job.
 */
export const buildKernel = (spec: KernelSpec): Result<KernelState, readonly SpecProblem[]> => {
  const problems: SpecProblem[] = [];
  for (const key of ['maxTrampLinks', 'maxMultiCount'] as const) {
    const v = spec.limits?.[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      problems.push({
        path: ['limits', key],
        message: `${key} must be a positive integer, got ${v}`,
      });
  }
  const built = buildBtfObjects(spec);
  if (!built.ok) problems.push(...built.problems);
  if (problems.length > 0 || !built.ok) return err(problems);
  return ok(
    createKernel({
      profile: spec.profile,
      ...(spec.limits !== undefined ? { limits: spec.limits } : {}),
      objects: built.value.map((o) => ({
        btf: o.btf,
        loaded: o.loaded,
        attrs: (name: string) => o.attrs.get(name) ?? {},
      })),
    }),
  );
};
