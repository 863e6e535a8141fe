import type { PatternResolution, ResolveProgram } from '@tramway/shared/domain';
import type {
  Errno,
  FailedTarget,
  KernelOp,
  KernelProfile,
  KernelState,
  OpValue,
  StateDump,
} from '@tramway/shared/kernel';
import type { HostUnreadable, VerifiedProgramObject } from '@tramway/shared/infra';
import type { AttachPath, MultiLinkProfile } from '@tramway/shared/lib';

/** What a driver knows about its node's kernel. */
export interface KernelDescription {
  /**
   * `sim`: the pure model on fixture BTF; `host`: the model on the host's real BTF and symbols
   * (shadow); `bpf`: the real kernel through bpf() (patterns resolve on the host's BTF, every
   * operation is the kernel's own)
   */
  readonly mode: 'sim' | 'host' | 'bpf';
  readonly release?: string;
  readonly bootId?: string;
  /** the profile the model runs */
  readonly profile: KernelProfile;
  /** what the BTF says the kernel has (`none`: no tracing multi-link) */
  readonly probedProfile: MultiLinkProfile;
  /** the first available step of the fallback ladder */
  readonly attachPath: AttachPath | 'none';
  readonly objects: readonly {
    readonly name: string;
    readonly kind: 'vmlinux' | 'module' | 'user';
    readonly functions: number;
  }[];
  readonly unreadable: readonly HostUnreadable[];
  /**
   * `bpf`: the attach-path probe as the kernel answered it, rung by rung (tracing multi-link,
   * fentry per function, kprobe.multi), with the real errno of each refused step
   */
  readonly probe?: {
    readonly steps: readonly {
      readonly path: AttachPath;
      readonly step: 'prog_load' | 'link_create';
      readonly ok: boolean;
      readonly errno?: string;
      readonly errnoNumber?: number;
      readonly log?: readonly string[];
    }[];
  };
  /**
   * `bpf`: the trampoline budget this kernel was measured to have (BPF_MAX_TRAMP_LINKS as
   * built: 36 on Debian's 7.3.4); absent when it could not be measured (no tracing rung)
   */
  readonly trampolineBudget?: number;
}

/** A module as the kernel lists it, with the id of its BTF object while it is loaded. */
export interface DriverModule {
  readonly name: string;
  readonly state: 'live' | 'going' | 'unloaded';
  /** the module's BTF object id (0 when it is not loaded: ids are given at load, spec §1.2) */
  readonly btfObjId: number;
}

/**
 * The outcome of one kernel operation: the value, or the errno and reason (data, never thrown).
 * A refused link_create names the request target that caused it, when one did (`failedTarget`,
 * its index into the op's `targets`).
 */
export type DriverOutcome =
  | { readonly ok: true; readonly value: OpValue | null }
  | {
      readonly ok: false;
      readonly errno: Errno;
      readonly reason: string;
      readonly failedTarget?: FailedTarget;
    };

/**
 * What comes with an operation besides the model's op: for a `prog_load` of a policy that names
 * a program object, the object, already fetched and verified (sha256, a BPF ELF holding the
 * program). A driver that loads real programs (`bpf`) loads `programObject.program.name` from
 * `programObject.bytes`; the model drivers (`sim`, `host`) need no bytes and ignore it.
 */
export interface ApplyContext {
  readonly programObject?: VerifiedProgramObject;
}

/**
 * The agent's one port to its kernel (ARCHITECTURE.md, "The kernel driver on each node").
 * Async so that a real bpf() driver fits behind it later without changing callers. Kernel
 * refusals come back as `{ ok: false, errno, reason, failedTarget? }`; only bugs throw.
 */
export interface KernelDriver {
  describe(): Promise<KernelDescription>;
  /** which functions `patterns` (`[module:]glob`) match and whether `program` can attach to each */
  resolve(
    patterns: readonly string[],
    program: ResolveProgram,
  ): Promise<
    | { readonly ok: true; readonly value: PatternResolution }
    | { readonly ok: false; readonly error: string }
  >;
  /** runs one operation (prog_load, link_create, link_release, module_load, ...) */
  apply(op: KernelOp, context?: ApplyContext): Promise<DriverOutcome>;
  /** the current trampolines, links, programs and modules */
  dump(): Promise<StateDump>;
  /** every declared module with its state and, while loaded, its BTF object id */
  modules(): Promise<readonly DriverModule[]>;
  /**
   * The model's current state (read only; the driver replaces it with each accepted operation):
   * `planNode` and the BTF fingerprint need it. Undefined for a driver that is not the model.
   */
  state(): KernelState | undefined;
  /**
   * True when the kernel objects the driver creates outlive the agent process (`bpf`: pinned
   * links stay in the kernel), so a restarted agent must not replay its op log against it; the
   * model drivers (`sim`, `host`) lose everything with the process and are rebuilt by replay.
   */
  readonly outlivesProcess?: boolean;
  close(): Promise<Error | undefined>;
}
