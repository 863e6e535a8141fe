/**
 * Public shapes of the pure kernel model (spec: /work/shared/design/kernel-multilink-spec.md,
 * operations and values: kernel-scenarios.md). Internal state shapes live in kernel-state.ts.
 */
import type { Errno } from '../lib/errno.js';
import type { KernelProfile } from '../lib/kernel-vocabulary.js';
import type { BtfObject } from '../lib/btf-model.js';

export type { Errno } from '../lib/errno.js';
export type { KernelProfile } from '../lib/kernel-vocabulary.js';

export interface KernelLimits {
  /** BPF_MAX_TRAMP_LINKS: connections per trampoline across all kinds (spec §1.1). */
  readonly maxTrampLinks: number;
  /** MAX_TRACING_MULTI_CNT: largest `cnt` of one multi attach (spec §3.2 row 3, §3.11 row 2). */
  readonly maxMultiCount: number;
}

/** A named type of a scenario file; every named type lives in vmlinux (kernel-scenarios.md). */
export type TypeDecl =
  | {
      readonly kind: 'struct' | 'union';
      readonly name: string;
      readonly size: number;
      readonly members: number;
    }
  | { readonly kind: 'enum'; readonly name: string; readonly size: number; readonly values: number }
  | { readonly kind: 'typedef'; readonly name: string; readonly type: string };

export type ParamDecl = string | { readonly type: string; readonly name?: string };

export interface FunctionDecl {
  readonly name: string;
  readonly ret: string;
  readonly params: readonly ParamDecl[];
  readonly errorInjectable?: boolean;
  readonly nonSleepable?: boolean;
  readonly fmodret?: boolean;
  readonly fmodretSleepable?: boolean;
  readonly securityHook?: boolean;
  readonly denyListed?: boolean;
  readonly noreturn?: boolean;
  readonly address?: boolean;
  readonly btfId?: number;
}

export interface ObjectDecl {
  readonly name: string;
  readonly kind: 'vmlinux' | 'module' | 'user';
  readonly loaded?: boolean;
  readonly functions: readonly FunctionDecl[];
}

export interface KernelSpec {
  readonly profile: KernelProfile;
  readonly limits?: Partial<KernelLimits>;
  readonly types?: readonly TypeDecl[];
  readonly objects: readonly ObjectDecl[];
}

/** A declaration that has no meaning, with the path of the offending field. */
export interface SpecProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** Symbol facts the per-target checks use (spec §1.1 "Kernel function"). */
export interface FunctionAttrs {
  readonly errorInjectable: boolean;
  readonly nonSleepable: boolean;
  readonly fmodret: boolean;
  readonly fmodretSleepable: boolean;
  readonly securityHook: boolean;
  readonly denyListed: boolean;
  readonly noreturn: boolean;
  readonly hasAddress: boolean;
}

export interface KernelObjectInput {
  readonly btf: BtfObject;
  readonly loaded: boolean;
  /** Must be pure. Missing fields default: securityHook = name starts with `security_`, hasAddress true, rest false. */
  readonly attrs: (functionName: string) => Partial<FunctionAttrs>;
}

export type ProgId = number;
export type LinkId = number;

/**
 * A target as libbpf names it. `object` is a BTF object name (`vmlinux`, a module, a user BTF).
 * Unqualified names resolve in vmlinux, then in each loaded module in declaration order; no match
 * is ESRCH (libbpf, spec §5.1).
 */
export type TargetRef =
  | { readonly name: string; readonly object?: string }
  | { readonly object: string; readonly btfId: number }
  | { readonly object: string; readonly type: string };

export type KernelOp =
  | {
      readonly op: 'prog_load';
      readonly name: string;
      readonly attach: string;
      readonly origin?: TargetRef;
      readonly object?: string;
      readonly reads?: readonly (number | 'ret')[];
      readonly ctxReads?: readonly number[];
      readonly returns?: bigint;
    }
  | { readonly op: 'prog_release'; readonly prog: ProgId }
  | {
      readonly op: 'link_create';
      readonly prog: ProgId;
      readonly targets: readonly TargetRef[];
      readonly cookies?: readonly bigint[];
      readonly count?: number;
    }
  | {
      readonly op: 'link_release' | 'link_pin' | 'link_unpin' | 'link_detach';
      readonly link: LinkId;
    }
  | { readonly op: 'link_update'; readonly link: LinkId; readonly prog: ProgId }
  | { readonly op: 'module_load' | 'module_unload'; readonly module: string }
  | { readonly op: 'module_set_state'; readonly module: string; readonly state: 'live' | 'going' }
  | {
      readonly op: 'trigger';
      readonly function: TargetRef;
      readonly args?: readonly bigint[];
      readonly returns?: bigint;
    }
  | { readonly op: 'fdinfo'; readonly link: LinkId };

/** One link↔trampoline connection as reported by link_create and the state dump. */
export interface ConnectionValue {
  readonly function: string;
  readonly objId: number;
  readonly btfId: number;
  readonly cookie: bigint;
}

/**
 * One program run during a trigger. `kind` is the list it ran from; an fsession.multi program
 * runs twice, reported as `fsession` both at entry and at exit (spec §1.1: it occupies one FENTRY
 * and one FEXIT slot).
 */
export interface InvocationValue {
  readonly prog: string;
  readonly kind: 'fentry' | 'fmod_ret' | 'fexit' | 'fsession';
  readonly cookie: bigint;
  /** bpf_get_func_ip(): modelled as the traced function's name (spec §4.4.6). */
  readonly funcIp: string;
  /** bpf_get_func_arg_cnt(): the function's 8-byte argument slot count (spec §4.4.1). */
  readonly argCount: number;
}

export type OpValue =
  | { readonly progId: ProgId }
  | { readonly linkId: LinkId; readonly connections: readonly ConnectionValue[] }
  | {
      readonly invocations: readonly InvocationValue[];
      readonly returned: bigint;
      readonly called: boolean;
    }
  | { readonly text: string };

export interface TrampolineSlotDump {
  readonly link: LinkId;
  /** the program's name */
  readonly prog: string;
  readonly cookie: bigint;
}

/**
 * The `state` op value. Sort keys: trampolines by (BTF object id, btf id); modules by name;
 * links by id; progs by id.
 */
export interface StateDump {
  /**
   * Every trampoline that exists (reference count > 0), including V24's load-time origin
   * trampolines that have no connection yet. `fentry`/`fexit`/`fmodRet` list the connections in
   * execution order (newest first, spec §3.4.5); an fsession.multi connection appears in both
   * `fentry` and `fexit`.
   */
  readonly trampolines: readonly {
    readonly function: string;
    readonly object: string;
    readonly btfId: number;
    readonly fentry: readonly TrampolineSlotDump[];
    readonly fexit: readonly TrampolineSlotDump[];
    readonly fmodRet: readonly TrampolineSlotDump[];
  }[];
  /** Every declared module; `state` is `unloaded` when not loaded; `refcount` = holders (progs + links). */
  readonly modules: readonly {
    readonly name: string;
    readonly state: 'live' | 'going' | 'unloaded';
    readonly refcount: number;
  }[];
  /** Live links (not yet released); `prog` is the program id; connections in the profile's order. */
  readonly links: readonly {
    readonly id: LinkId;
    readonly prog: ProgId;
    /** `kprobe_multi`: only a real kernel (the `bpf` driver on the kprobe.multi rung) has these */
    readonly type: 'tracing' | 'tracing_multi' | 'kprobe_multi';
    readonly connections: readonly ConnectionValue[];
  }[];
  /** Programs not yet freed; `loaded` = the loader still holds its fd. */
  readonly progs: readonly {
    readonly id: ProgId;
    readonly name: string;
    readonly loaded: boolean;
  }[];
}

export interface InvariantViolation {
  readonly code:
    | 'TrampolineOverBudget'
    | 'RefcountMismatch'
    | 'PartialMultiLink'
    | 'DanglingReference'
    | 'DuplicateProgOnList';
  readonly message: string;
}

/**
 * The target of a link_create the kernel refused, as data: which entry of the request's
 * `targets` (`index`), what it named, and why. The outcome's own `reason` keeps the kernel
 * model's message (`target 2: ...` for V24, `id 1234: ...` for V26); `reason` here is the
 * target's part of it alone.
 */
export interface FailedTarget {
  /** index into the request's `targets` */
  readonly index: number;
  /**
   * The function: the FUNC the checked BTF id names, else the name the request gave; absent
   * when neither names one (an id that is not a function, a type reference).
   */
  readonly function?: string;
  /**
   * The BTF object the target was looked up in (`vmlinux`, a module, a user BTF): a V26 multi
   * program's ids are interpreted in its attach object (spec §3.11); absent when an unqualified
   * name matched nothing.
   */
  readonly object?: string;
  /** the BTF id that was checked, when the target was resolved to one */
  readonly btfId?: number;
  readonly errno: Errno;
  readonly reason: string;
}

export type CheckResult =
  { readonly ok: true } | { readonly ok: false; readonly errno: Errno; readonly reason: string };
