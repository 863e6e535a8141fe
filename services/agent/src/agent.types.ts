/**
 * The agent's public shape (its dependencies and its handle) and the state its seams share
 * while it runs: app.ts (passes, assignments, modules), start-up.ts, state/recovery.ts,
 * facts/fact-outbox.ts and state/actual-state.ts each take what they need from here, so none
 * of them imports another's module, and the request handlers import none of them.
 */
import type { KeyObject } from 'node:crypto';
import type { AssignmentRefusal } from '@tramway/shared/contracts';
import type { FleetBus, Logger } from '@tramway/shared/infra';
import type { SchedulerLike } from 'rxjs';
import type { KernelState } from '@tramway/shared/kernel';
import type { KernelDescription, KernelDriver } from './kernel-driver/index.js';
import type { AgentAssignment, HeldLink, LinkIntent } from './reconcile/agent-policy.js';
import type { HeldPlan } from './reconcile/agent-plans.js';
import type { PolicyStatus } from './reconcile/desired-links.js';
import type { AgentMetrics } from './metrics/agent-metrics.js';
import type { AgentStateStore } from './state/agent-state.store.js';
import type { NodeActualState } from './state/actual-state.js';
import type { ProgramSource } from './reconcile/program-objects.js';

export interface AgentClock {
  now(): Date;
}
export interface AgentIds {
  newId(): string;
}

export interface AgentDeps {
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly bus: FleetBus;
  /**
   * The node's kernel. A model driver (`sim`, `host` shadow) must be fresh, as built: on an
   * agent restart within the same boot its history is replayed from the op log in the state.
   */
  readonly driver: KernelDriver;
  /**
   * @deprecated ignored: the driver's own `state()` is used (kept so that older callers compile)
   */
  readonly kernelState?: () => KernelState | undefined;
  readonly clock: AgentClock;
  readonly ids: AgentIds;
  /** where pins, assignment and (sim) the kernel op log are kept; in memory when absent */
  readonly stateDir?: string;
  /** explicit state store (tests and the embedded mode keep one across agent restarts) */
  readonly store?: AgentStateStore;
  readonly logger?: Logger;
  /** default 5000 */
  readonly heartbeatMs?: number;
  /** the heartbeat's scheduler (tests: a TestScheduler); default rxjs asyncScheduler */
  readonly scheduler?: SchedulerLike;
  /** timeout of the start-up assignment request; default 2000 */
  readonly requestTimeoutMs?: number;
  /**
   * The coordinator's assignment verify key (`assignment-signing.pub`): assignments it did not
   * sign, or signed for another node, or not newer than what the node holds, are refused. An
   * agent without one does not start unless `insecureUnsignedAssignments` is set.
   */
  readonly assignmentVerifyKey?: KeyObject;
  /**
   * Accept unsigned assignments (no verify key): anyone who can publish on the node's assign
   * subject steers its kernel. Off by default, warned about loudly; never for production.
   */
  readonly insecureUnsignedAssignments?: boolean;
  /**
   * TEST ONLY (TRAMWAY_TEST_CRASH_AFTER in main.ts): `crash` is called right after the kernel
   * accepted this step of an attach (`link-created`: after link_create, before link_pin;
   * `link-pinned`: after link_pin), before the agent saved or reported the link. The crash
   * tests kill the process there; never set in production.
   */
  readonly testCrashAfter?: {
    readonly point: 'link-created' | 'link-pinned';
    readonly crash: () => void;
  };
  /**
   * where program objects are fetched by digest (`spec.program.object`): the embedded store, the
   * fleet's Object Store bucket; absent: a policy that names an object is refused (recorded)
   */
  readonly programs?: ProgramSource;
  /** how long a fact batch waits for the coordinator's ack before it is kept for a retry; default 10000 */
  readonly factAckTimeoutMs?: number;
}

/**
 * The reply to an assignment (`AssignReply`): `accepted: false` with `error` for one the node
 * refused; `epoch` and `generation` are what the node holds after it.
 */
export interface AssignOutcome {
  readonly accepted: boolean;
  readonly epoch?: number;
  readonly generation: number;
  readonly error?: AssignmentRefusal;
  readonly reason?: string;
}

/** The reply to a module request. */
export type ModuleOutcome = { ok: true } | { ok: false; errno: string; reason: string };

export interface Agent {
  /** registers and starts serving; resolves with the error that prevented it, if any */
  start(): Promise<Error | undefined>;
  /** stops timers and responders, waits for the work in progress; the kernel keeps its pinned links */
  stop(): Promise<Error | undefined>;
  readonly nodeId: string;
  bootId(): string;
  observedGeneration(): number;
  /** how many facts of this boot the facts stream has not acknowledged yet (its outbox) */
  pendingFacts(): number;
  assignment(): AgentAssignment | null;
  heldLinks(): readonly HeldLink[];
  /** the plan held for each assigned policy version (as sent, or the agent's own) */
  plans(): readonly HeldPlan[];
  actualState(): Promise<NodeActualState>;
  /** runs a reconciliation pass now (after the work already queued) */
  reconcile(): Promise<void>;
  /** loads or drains-then-unloads a module (sim nodes); what the `module` request does */
  module(action: 'load' | 'unload', module: string): Promise<ModuleOutcome>;
  /**
   * adopts an assignment already checked (a newer (epoch, generation) only): in-process callers;
   * the bus goes through `receiveAssignment`
   */
  assign(assignment: AgentAssignment): AssignOutcome;
  /**
   * what the `assign` request and the start-up fetch do: checks the signature (with a verify
   * key), the schema, the node and the (epoch, generation), then adopts it
   */
  receiveAssignment(payload: unknown, via?: string): AssignOutcome;
  /** refused assignments so far, by reason */
  refusedAssignments(): Readonly<Partial<Record<AssignmentRefusal, number>>>;
  /** the Prometheus registry of this agent and its series (served by `listenMetrics`) */
  readonly metrics: AgentMetrics;
  /** the description of the node's kernel (after start) */
  kernel(): KernelDescription;
  /** the model state, when the driver exposes it */
  kernelState(): KernelState | undefined;
}

/**
 * What the agent holds while it runs, shared by its seams (one object, changed in place; every
 * kernel-touching change runs in the agent's serial queue).
 */
export interface AgentRuntime {
  description: KernelDescription | undefined;
  /** the driver, wrapped once recovered so that each accepted operation goes to the op log */
  driver: KernelDriver;
  bootId: string;
  /** the BTF fingerprint of this start (`btfFingerprint` in start-up.ts) */
  btfFingerprint: string;
  assignment: AgentAssignment | null;
  observedGeneration: number;
  held: HeldLink[];
  /** links about to be created in the current pass (recorded before `link_create`) */
  intents: readonly LinkIntent[];
  plans: readonly HeldPlan[];
  /** links the model does not know on each function, from the last kernel dump (`occupancyOf`) */
  occupied: ReadonlyMap<string, number>;
  policies: readonly PolicyStatus[];
  stopping: boolean;
}
