/**
 * The fleet events of the log (ARCHITECTURE.md, "Events and the log"), as pure TS unions.
 * Facts come from agents about their node; decisions come from the coordinator.
 * The wire schemas (zod, versioned) live in `contracts/fleet-events.contract.ts` and must
 * produce exactly these shapes; `evolve` only ever sees the current version.
 */
import type { RecordedEvent } from '../lib/event-envelope.js';
import type { AttachPath, AttachType, MultiLinkProfile } from '../lib/kernel-vocabulary.js';
import type { RecordedPlan } from './plan/node-plan.types.js';
import type { AccessRole } from './access/access-role.js';

/** `Readonly<{ type; data }>` (STYLE.md §4). */
export type Event<Type extends string, Data> = Readonly<{ type: Type; data: Readonly<Data> }>;

/** Any JSON value: what an opaque policy spec may hold. */
export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * One connection of a link to one trampoline (kernel-multilink-spec.md §1.1 "Connection").
 * The trampoline key is (objId, btfId); `cookie` is the u64 attach cookie as a decimal string
 * (JSON numbers cannot carry 64 bits), "0" when the link was created without a cookie array.
 */
export interface Connection {
  readonly function: string;
  readonly module?: string;
  readonly objId: number;
  readonly btfId: number;
  readonly cookie: string;
}

/** A target named by a failed attach: the function, and its key when it was resolved. */
export interface FailingTarget {
  readonly function: string;
  readonly module?: string;
  readonly objId?: number;
  readonly btfId?: number;
}

export interface DriftItem {
  readonly kind: 'missing-link' | 'unexpected-link' | 'connection-mismatch';
  readonly linkId?: number;
  readonly function?: string;
  readonly detail: string;
}

/** One link an assignment asks a node to hold. */
export interface DesiredLink {
  readonly policy: string;
  readonly policyVersion: number;
  readonly program: string;
  readonly attachType: AttachType;
  readonly functions: readonly string[];
}

export type NodeRegistered = Event<
  'NodeRegistered',
  {
    nodeId: string;
    labels: Readonly<Record<string, string>>;
    bootId: string;
    kernelRelease: string;
    profile: MultiLinkProfile;
    btfFingerprint: string;
  }
>;
/** The node booted: a new boot id. Every link, program and module of the previous boot is gone. */
export type NodeBooted = Event<'NodeBooted', { nodeId: string; bootId: string }>;
export type KernelProfileDetected = Event<
  'KernelProfileDetected',
  { nodeId: string; profile: MultiLinkProfile; attachPath: AttachPath; btfFingerprint: string }
>;
export type ModuleLoaded = Event<
  'ModuleLoaded',
  { nodeId: string; module: string; btfObjId: number }
>;
export type ModuleUnloaded = Event<'ModuleUnloaded', { nodeId: string; module: string }>;
export type ProgramLoaded = Event<
  'ProgramLoaded',
  { nodeId: string; programId: number; name: string; attachType: AttachType }
>;
/** Carries the program's name too, so that its history can be found by name in the log alone. */
export type ProgramUnloaded = Event<
  'ProgramUnloaded',
  { nodeId: string; programId: number; name: string }
>;
/** One coarse event per link, listing every connection: a multi-link is all-or-nothing (STYLE.md §4). */
export type LinkCreated = Event<
  'LinkCreated',
  {
    nodeId: string;
    linkId: number;
    programId: number;
    programName: string;
    policy?: string;
    attachType: AttachType;
    connections: readonly Connection[];
    observedGeneration?: number;
    /** why it is reported other than as just created ("adopted after restart: ...") */
    reason?: string;
  }
>;
export type LinkCreateFailed = Event<
  'LinkCreateFailed',
  {
    nodeId: string;
    programId: number;
    programName: string;
    policy?: string;
    attachType: AttachType;
    errno: number;
    failingTarget: FailingTarget;
    reason: string;
    observedGeneration?: number;
  }
>;
export type LinkReleased = Event<
  'LinkReleased',
  { nodeId: string; linkId: number; reason: string; observedGeneration?: number }
>;
export type DriftFound = Event<
  'DriftFound',
  { nodeId: string; observedGeneration: number; items: readonly DriftItem[] }
>;

/** What one assigned policy version came to on a node after a reconcile pass. */
export interface PolicyReconcileOutcome {
  readonly policy: string;
  readonly version: number;
  /** connections the node holds for this policy version (one per function) */
  readonly attached: number;
  /** functions waiting for their module to load */
  readonly pending: readonly { readonly function: string; readonly module: string }[];
  /** functions the kernel refused (at resolution or at link_create), with its errno and reason */
  readonly rejected: readonly {
    readonly function: string;
    readonly module?: string;
    readonly errno: number;
    readonly reason: string;
  }[];
}

/**
 * The outcome of an agent's reconcile pass (docs/fleet-protocol.md, "Reconcile outcome"): per
 * assigned policy, how many functions are attached, which wait for a module and which were
 * refused. Reported once per pass whose outcome differs from the previous one of the boot.
 */
export type NodeReconciled = Event<
  'NodeReconciled',
  { nodeId: string; observedGeneration: number; policies: readonly PolicyReconcileOutcome[] }
>;

/**
 * The agent planned a policy version on its own while reconciling assignment `generation`,
 * because its kernel changed under the plan it was sent (a module loaded or unloaded, a BTF
 * object id or BTF id that no longer matches after a reboot) or because the assignment carried no
 * plan; `reason` names what changed. `plan` is what it reconciles to from then on. Reported once
 * per change, not on every pass.
 */
export type NodeReplanned = Event<
  'NodeReplanned',
  {
    nodeId: string;
    generation: number;
    policy: string;
    policyVersion: number;
    reason: string;
    plan: RecordedPlan;
  }
>;

export type PolicyApplied = Event<
  'PolicyApplied',
  { name: string; version: number; spec: { readonly [key: string]: JsonValue }; reason?: string }
>;
export type PolicyRemoved = Event<
  'PolicyRemoved',
  { name: string; version: number; reason?: string }
>;
/**
 * A person deleted the policy (the event's actor): `version` was in force and no version is
 * now. Every node holding it releases its links through a rollout of kind `release`; the policy
 * shows as deleting until that rollout completes. Its versions stay in the log, and applying the
 * name again records the next version.
 */
export type PolicyDeleted = Event<
  'PolicyDeleted',
  { name: string; version: number; reason?: string }
>;
/**
 * A rollout of one policy version began. `waveNodes` is the split of the selected nodes into its
 * waves, fixed when it starts; `previousVersion` the version the nodes ran before it (null: a new
 * policy). Both are absent from rollouts recorded before the rollout decider owned its stream.
 */
export type RolloutStarted = Event<
  'RolloutStarted',
  {
    rolloutId: string;
    policy: string;
    policyVersion: number;
    waves: number;
    waveNodes?: readonly (readonly string[])[];
    previousVersion?: number | null;
    /**
     * what the rollout gives its nodes (absent: `apply`): `apply` and `rollback` give
     * `policyVersion`; `release` takes the policy away (a delete, or a rollback to nothing)
     */
    kind?: RolloutKind;
    /** the rollout a `rollback` or `release` undoes (absent: a delete) */
    rollsBack?: string;
  }
>;
/** What a rollout gives its nodes (RolloutStarted `kind`). */
export type RolloutKind = 'apply' | 'rollback' | 'release';
export type WaveStarted = Event<
  'WaveStarted',
  { rolloutId: string; wave: number; nodes: readonly string[] }
>;
export type WaveHeld = Event<
  'WaveHeld',
  { rolloutId: string; wave: number; reason: string; failureRatio: number }
>;
export type WaveCompleted = Event<
  'WaveCompleted',
  { rolloutId: string; wave: number; succeeded: number; failed: number; reason?: string }
>;
export type RolloutCompleted = Event<'RolloutCompleted', { rolloutId: string }>;
export type RolloutRolledBack = Event<'RolloutRolledBack', { rolloutId: string; reason: string }>;
export type AssignmentIssued = Event<
  'AssignmentIssued',
  {
    nodeId: string;
    generation: number;
    links: readonly DesiredLink[];
    reason?: string;
    /** the person or decision this generation is on behalf of (`user:alice`, `coordinator`) */
    initiatedBy?: string;
    /** the coordinator's epoch for the node (absent: the epoch of the stream so far, 0 at first) */
    epoch?: number;
  }
>;
/**
 * The coordinator took the node back: a new epoch for it, so its next assignment wins over any
 * (epoch, generation) the node holds (a generation the coordinator never issued, or an admin's
 * reset). `claimedGeneration` is the generation the node reported that was never issued.
 */
export type NodeTakenBack = Event<
  'NodeTakenBack',
  { nodeId: string; epoch: number; reason: string; claimedGeneration?: number }
>;
/** A node was heard that is not admitted yet: it gets no assignment and counts in no rollout. */
export type NodeAdmissionPending = Event<
  'NodeAdmissionPending',
  { nodeId: string; reason: string }
>;
/** A node was admitted (the event's actor is the approver: a person, or `coordinator`). */
export type NodeApproved = Event<'NodeApproved', { nodeId: string; reason: string }>;
/**
 * The plan a node answered for a policy version at plan time, recorded when the policy is applied
 * (one per selected node), in the node's assignment stream: the assignments that carry this
 * version send exactly this plan (`AssignedPolicy.plan`). `rolloutId` is the rollout it was
 * made for.
 */
export type PlanRecorded = Event<
  'PlanRecorded',
  {
    nodeId: string;
    policy: string;
    policyVersion: number;
    rolloutId?: string;
    plan: RecordedPlan;
  }
>;
/**
 * The coordinator stopped hearing the node's heartbeats for longer than its stale limit: rollouts
 * judge it failed until it is heard again. `lastSeen` is the last heartbeat or fact (null: none
 * since the coordinator started).
 */
export type NodeMarkedStale = Event<
  'NodeMarkedStale',
  { nodeId: string; lastSeen: string | null; silentMs: number }
>;
/** A node marked stale was heard again. */
export type NodeMarkedAlive = Event<'NodeMarkedAlive', { nodeId: string; lastSeen: string }>;

/**
 * A person's API token was issued (docs/security.md, "People"): its name, role and the SHA-256
 * (hex) of the secret, which is shown once and never stored. `issuedBy` is the issuer's identity.
 */
export type AccessTokenIssued = Event<
  'AccessTokenIssued',
  { name: string; role: AccessRole; tokenHash: string; issuedBy: string }
>;
/** The token named `name` no longer authenticates anyone. */
export type AccessTokenRevoked = Event<
  'AccessTokenRevoked',
  { name: string; revokedBy: string; reason: string }
>;

/**
 * A person asked a node, through the coordinator, to load or unload a kernel module; the actor
 * is the requester, `ok`/`errno`/`reason` the agent's answer (`ok: false` with a reason when the
 * agent did not answer).
 */
export type ModuleActionRequested = Event<
  'ModuleActionRequested',
  {
    nodeId: string;
    module: string;
    action: 'load' | 'unload';
    ok: boolean;
    errno?: string;
    reason?: string;
  }
>;

export type NodeFact =
  | NodeRegistered
  | NodeBooted
  | KernelProfileDetected
  | ModuleLoaded
  | ModuleUnloaded
  | ProgramLoaded
  | ProgramUnloaded
  | LinkCreated
  | LinkCreateFailed
  | LinkReleased
  | NodeReconciled
  | NodeReplanned;

export type CoordinatorDecision =
  | PolicyApplied
  | PolicyRemoved
  | PolicyDeleted
  | RolloutStarted
  | WaveStarted
  | WaveHeld
  | WaveCompleted
  | RolloutCompleted
  | RolloutRolledBack
  | AssignmentIssued
  | PlanRecorded
  | NodeTakenBack
  | NodeAdmissionPending
  | NodeApproved
  | DriftFound
  | NodeMarkedStale
  | NodeMarkedAlive
  | AccessTokenIssued
  | AccessTokenRevoked
  | ModuleActionRequested;

/**
 * Every event of the fleet log. Heartbeats are deliberately not events: they change no state,
 * arrive every few seconds from every node (they would outnumber every fact by orders of
 * magnitude and slow every replay and time travel), and liveness is a live signal carried by
 * core NATS (`tramway.agent.<nodeId>.hb`). What a missed heartbeat leads to (a reboot, drift)
 * is recorded as a fact.
 */
export type FleetEvent = NodeFact | CoordinatorDecision;
export type FleetEventType = FleetEvent['type'];

/** A decoded event of the log: the envelope of `RecordedEvent` around a current-version `FleetEvent`. */
export type FleetRecordedEvent = {
  [K in FleetEvent as K['type']]: RecordedEvent<K['type'], K['data']>;
}[FleetEventType];
