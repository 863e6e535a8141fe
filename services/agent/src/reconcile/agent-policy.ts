/**
 * What the agent needs of a policy (docs/fleet-protocol.md, "Policy") and the links it keeps in
 * the kernel for it. Pure values: the decisions in this folder import no I/O.
 */
import type { AssignmentCause, AttachType, RecordedPlan } from '@tramway/shared/domain';

/** The part of a `TracingPolicy` spec the agent acts on. */
export interface AgentPolicySpec {
  readonly program: {
    readonly name: string;
    /** the program object's digest (`sha256:<hex>`): fetched and verified before any load */
    readonly object?: string;
    readonly attach: 'fentry' | 'fexit' | 'fmod_ret';
    readonly sleepable?: boolean;
    readonly origin?: string;
    readonly reads?: readonly (number | 'ret')[];
    readonly returns?: number;
  };
  readonly targets: readonly { readonly pattern: string; readonly cookie?: number | string }[];
  readonly strategy?: 'multi' | 'per-function' | 'auto';
}

/** One policy version of an assignment. */
export interface AssignedPolicy {
  readonly name: string;
  readonly version: number;
  readonly spec: AgentPolicySpec;
  /** the node's plan the coordinator recorded for this version; absent: the agent plans itself */
  readonly plan?: RecordedPlan | undefined;
}

/** The node's latest assignment (docs/fleet-protocol.md, "Assignment"). */
export interface AgentAssignment {
  readonly nodeId: string;
  /** the coordinator's epoch for the node (absent from state saved before epochs: 0) */
  readonly epoch?: number | undefined;
  readonly generation: number;
  readonly issuedAt?: string | undefined;
  readonly signature?: { readonly alg: 'ed25519'; readonly value: string } | undefined;
  readonly policies: readonly AssignedPolicy[];
  /** on whose behalf, and the ids the facts of its reconcile carry (docs/fleet-protocol.md) */
  readonly cause?: AssignmentCause | undefined;
}

/** How a policy's program reaches its targets on this node (ARCHITECTURE.md, fallback ladder). */
export type LinkPath = 'tracing-multi' | 'fentry-per-function';

/** A function a link connects to; `cookie` is the u64 attach cookie. */
export interface LinkTarget {
  readonly object: string;
  readonly function: string;
  readonly btfId: number;
  readonly cookie: bigint;
}

/**
 * One program load plus one link the policy needs. `key` names the group within the policy
 * version (`all` for a V24 multi link, the BTF object for V26 multi, `object:function` per
 * function); the same key with the same targets is the same link.
 */
export interface LinkGroup {
  readonly key: string;
  readonly policy: string;
  readonly policyVersion: number;
  readonly program: string;
  /** the kernel model's attach name: `fentry.multi`, `fexit`, `fmod_ret.multi.s`... */
  readonly attach: string;
  readonly attachType: AttachType;
  readonly load: {
    /** V24 multi and single programs: the load-time target */
    readonly origin?: {
      readonly object: string;
      readonly btfId: number;
      readonly function: string;
    };
    /** V26 multi: the BTF object the program loads against (absent: vmlinux) */
    readonly object?: string;
    readonly reads: readonly (number | 'ret')[];
    readonly returns?: bigint;
  };
  readonly targets: readonly LinkTarget[];
}

/**
 * A link the agent is about to create, recorded durably before `link_create` (README "What
 * survives a crash"): a link found in the kernel after a crash is matched to its intent by
 * program and connections, and reported (adopted or released with the reason), never silently.
 */
export interface LinkIntent {
  /** `<policy>@<version>/<groupKey>` */
  readonly id: string;
  readonly policy: string;
  readonly policyVersion: number;
  /** the generation the pass acted for */
  readonly generation: number;
  readonly program: string;
  readonly attachType: AttachType;
  readonly groupKey: string;
  readonly targets: HeldLink['targets'];
}

/** The intent of attaching `group` for `generation`. */
export const intentOf = (group: LinkGroup, generation: number): LinkIntent => ({
  id: `${group.policy}@${group.policyVersion}/${group.key}`,
  policy: group.policy,
  policyVersion: group.policyVersion,
  generation,
  program: group.program,
  attachType: group.attachType,
  groupKey: group.key,
  targets: group.targets.map((t) => ({
    object: t.object,
    function: t.function,
    btfId: t.btfId,
    cookie: t.cookie.toString(),
  })),
});

/** A link this agent created and holds (pinned) for a policy. */
export interface HeldLink {
  readonly linkId: number;
  readonly programId: number;
  readonly policy: string;
  readonly policyVersion: number;
  readonly program: string;
  readonly attachType: AttachType;
  readonly groupKey: string;
  /** as `LinkTarget`, with the cookie as a decimal string (JSON-safe) */
  readonly targets: readonly {
    readonly object: string;
    readonly function: string;
    readonly btfId: number;
    readonly cookie: string;
  }[];
  readonly connections: readonly {
    readonly function: string;
    readonly module?: string;
    readonly objId: number;
    readonly btfId: number;
    readonly cookie: string;
  }[];
  /** the agent process still holds the link fd (false after an agent restart: only the pin holds it) */
  readonly fdOpen: boolean;
}
