/**
 * A tracing policy (docs/fleet-protocol.md, "Policy"), as `validatePolicy` returns it: every
 * field checked, defaults applied, cookies normalised to decimal strings. Plain JSON data, so the
 * same value travels in plan requests and assignments.
 */
import type { RecordedPlan } from '../plan/node-plan.types.js';

export const POLICY_API_VERSION = 'tramway.dev/v1alpha1';
export const POLICY_KIND = 'TracingPolicy';

export const POLICY_ATTACH_TYPES = ['fentry', 'fexit', 'fmod_ret'] as const;
/** The program's attach type; `.multi` or not is the node's choice (the attach path). */
export type PolicyAttach = (typeof POLICY_ATTACH_TYPES)[number];

export const ATTACH_STRATEGIES = ['multi', 'per-function', 'auto'] as const;
/**
 * `multi`: tracing multi-link only (a node without it attaches nothing); `per-function`: one
 * program and link per function everywhere; `auto`: multi where supported, else the ladder.
 */
export type AttachStrategy = (typeof ATTACH_STRATEGIES)[number];

/** An argument index the program reads through its context, or its return value. */
export type ProgramRead = number | 'ret';

export interface PolicyProgram {
  /** the program's name (in `object`: its function symbol) */
  readonly name: string;
  /**
   * the compiled BPF object (CO-RE ELF) holding the program, by content digest
   * (`sha256:<64 hex>`, `tramway program push`); absent: the program is simulated by name only
   */
  readonly object?: string;
  readonly attach: PolicyAttach;
  readonly sleepable: boolean;
  /** V24 load-time origin (`name` or `module:name`); absent: the first attachable target */
  readonly origin?: string;
  readonly reads: readonly ProgramRead[];
  /** what an fmod_ret program returns */
  readonly returns?: number;
}

export interface PolicyTarget {
  readonly pattern: string;
  /** u64 attach cookie as a decimal string */
  readonly cookie?: string;
}

/** A wave's cumulative size: a node count, or a percentage ("10%") of the selected nodes. */
export type WaveSize = number | `${number}%`;

export interface RolloutSpec {
  readonly waves: readonly WaveSize[];
  readonly maxFailureRatio: number;
  readonly pauseSeconds: number;
}

export interface NodeSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
}

export interface PolicySpec {
  readonly program: PolicyProgram;
  readonly targets: readonly PolicyTarget[];
  /** absent: every node */
  readonly nodeSelector?: NodeSelector;
  readonly strategy: AttachStrategy;
  readonly rollout: RolloutSpec;
}

export interface Policy {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly kind: typeof POLICY_KIND;
  readonly metadata: { readonly name: string };
  readonly spec: PolicySpec;
}

/** One thing wrong with a policy: where (`spec.targets[1].pattern`) and what. */
export interface PolicyProblem {
  readonly path: string;
  readonly message: string;
}

/** What a node must run (docs/fleet-protocol.md, "Assignment"). */
export interface Assignment {
  readonly nodeId: string;
  /**
   * the coordinator's epoch for the node: bumped when it takes the node back; an agent orders
   * assignments by (epoch, generation), so a higher epoch always wins (0 before epochs existed)
   */
  readonly epoch: number;
  /** strictly increasing per node */
  readonly generation: number;
  /** when the coordinator issued this generation (the AssignmentIssued's occurredAt) */
  readonly issuedAt?: string | undefined;
  readonly policies: readonly AssignedPolicy[];
  /** who and what this generation was issued for (absent from coordinators before it was added) */
  readonly cause?: AssignmentCause | undefined;
  /** the coordinator's Ed25519 signature over every other field (contracts/assignment-signature.ts) */
  readonly signature?: { readonly alg: 'ed25519'; readonly value: string } | undefined;
}

/**
 * Why an assignment was issued: the person or decision it is on behalf of (`user:alice`, or
 * `coordinator` for a drift repair), the request's correlation id (the rollout id), and the id of
 * the AssignmentIssued event; agents put the last two on the facts of that reconcile.
 */
export interface AssignmentCause {
  readonly initiatedBy: string;
  readonly correlationId?: string | undefined;
  readonly eventId: string;
}

export interface AssignedPolicy {
  readonly name: string;
  readonly version: number;
  readonly spec: PolicySpec;
  /**
   * The node's plan recorded for this policy version (`PlanRecorded`), exactly as recorded: the
   * agent reconciles to it. Absent when none was recorded (older logs, or the node did not
   * answer at plan time); the agent then plans on its own and says so (`NodeReplanned`).
   */
  readonly plan?: RecordedPlan | undefined;
}

/** The defaults `validatePolicy` applies to a policy without a `rollout` section. */
export const DEFAULT_ROLLOUT: RolloutSpec = {
  waves: ['100%'],
  maxFailureRatio: 0,
  pauseSeconds: 0,
};
