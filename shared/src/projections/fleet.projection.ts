/**
 * The fleet model as a pure fold over decoded fleet events (STYLE.md §1.2, §4): nodes and their
 * kernel profile, modules, programs, links with their connections, trampoline occupancy per
 * (node, objId, btfId), assignments, policies and rollouts.
 *
 * The state is plain JSON data (records, arrays, strings, numbers, null: never `undefined`),
 * so `JSON.stringify` of a state is its canonical byte form: replaying the same log, or
 * restoring a snapshot and replaying the tail, gives the same bytes.
 *
 * Kept in one file over ~400 lines: the fold's copy-on-write segment (the node table and the
 * occupancy maps owned until a state is handed out) is shared by every event's case, and it is
 * the replay hot path, measured by bench:eventlog.
 */
import { assertNever } from '../lib/assert-never.js';
import type { AttachPath, AttachType, MultiLinkProfile } from '../lib/kernel-vocabulary.js';
import type {
  Connection,
  DesiredLink,
  DriftItem,
  FleetRecordedEvent,
  JsonValue,
  PolicyReconcileOutcome,
} from '../domain/fleet.events.js';
import type { RecordedPlan } from '../domain/plan/node-plan.types.js';

export interface ModuleView {
  readonly module: string;
  readonly btfObjId: number;
  readonly loadedAt: string;
}

export interface ProgramView {
  readonly programId: number;
  readonly name: string;
  readonly attachType: AttachType;
  readonly loadedAt: string;
}

export interface LinkView {
  readonly linkId: number;
  readonly programId: number;
  readonly programName: string;
  readonly policy: string | null;
  readonly attachType: AttachType;
  readonly connections: readonly Connection[];
  readonly createdAt: string;
  readonly createdBy: string;
  readonly createdPosition: number;
}

/** How many connections sit on one trampoline (kernel-multilink-spec.md §1.1: one per key). */
export interface TrampolineOccupancy {
  readonly objId: number;
  readonly btfId: number;
  readonly function: string;
  readonly connections: number;
}

export interface LinkFailureView {
  readonly programName: string;
  readonly function: string;
  readonly errno: number;
  readonly reason: string;
  readonly at: string;
}

/**
 * The latest plan of a node for one policy: the one the coordinator recorded at plan time
 * (`PlanRecorded`, source `recorded`) or the one the agent made on its own because its kernel
 * changed under it (`NodeReplanned`, source `replanned`, with the reason and the generation it
 * was reconciling).
 */
export interface NodePlanView {
  readonly policy: string;
  readonly policyVersion: number;
  readonly source: 'recorded' | 'replanned';
  readonly plan: RecordedPlan;
  readonly at: string;
  readonly by: string;
  readonly position: number;
  readonly rolloutId: string | null;
  readonly generation: number | null;
  readonly reason: string | null;
}

export interface NodeView {
  readonly nodeId: string;
  /** false while only facts other than NodeRegistered have been seen */
  readonly registered: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly bootId: string;
  readonly kernelRelease: string;
  readonly profile: MultiLinkProfile;
  readonly attachPath: AttachPath | null;
  readonly btfFingerprint: string;
  readonly registeredAt: string | null;
  readonly bootedAt: string | null;
  readonly modules: Readonly<Record<string, ModuleView>>;
  readonly programs: Readonly<Record<string, ProgramView>>;
  readonly links: Readonly<Record<string, LinkView>>;
  /** keyed by `trampolineKey(objId, btfId)` */
  readonly trampolines: Readonly<Record<string, TrampolineOccupancy>>;
  readonly assignment: {
    readonly generation: number;
    readonly links: readonly DesiredLink[];
    readonly issuedAt: string;
  } | null;
  readonly observedGeneration: number | null;
  readonly drift: readonly DriftItem[];
  readonly lastFailure: LinkFailureView | null;
  /**
   * The last reconcile outcome per assigned policy (NodeReconciled), keyed by policy name.
   * Absent until the node's first NodeReconciled (so older snapshots stay byte-identical).
   */
  readonly reconciled?: Readonly<Record<string, PolicyReconcileOutcome>>;
  /**
   * The latest plan per policy (PlanRecorded or NodeReplanned), keyed by policy name. Absent
   * until the node's first plan (so older snapshots stay byte-identical).
   */
  readonly plans?: Readonly<Record<string, NodePlanView>>;
  /**
   * Whether the node is admitted (NodeApproved) or waits for approval (NodeAdmissionPending).
   * Absent until the node's first admission decision (so older snapshots stay byte-identical).
   */
  readonly admission?: 'pending' | 'approved';
}

export interface PolicyView {
  readonly name: string;
  readonly version: number;
  readonly spec: { readonly [key: string]: JsonValue };
  readonly appliedAt: string;
  readonly appliedBy: string;
  /**
   * Present once the policy is deleted (PolicyDeleted): its nodes are releasing it. The entry
   * goes when the release rollout completes (every node released it).
   */
  readonly deleting?: {
    readonly at: string;
    readonly by: string;
    readonly rolloutId: string | null;
  };
}

export type WaveStatus = 'running' | 'held' | 'completed';

export interface WaveView {
  readonly wave: number;
  readonly status: WaveStatus;
  readonly nodes: readonly string[];
  readonly reason: string | null;
  readonly failureRatio: number | null;
  readonly succeeded: number | null;
  readonly failed: number | null;
}

export type RolloutStatus = 'running' | 'held' | 'completed' | 'rolled-back';

export interface RolloutView {
  readonly rolloutId: string;
  readonly policy: string;
  readonly policyVersion: number;
  readonly waveCount: number;
  readonly status: RolloutStatus;
  readonly currentWave: number | null;
  readonly waves: Readonly<Record<string, WaveView>>;
  readonly startedAt: string;
  readonly startedBy: string;
  readonly reason: string | null;
  /** what it gives its nodes (RolloutStarted `kind`); absent: `apply` */
  readonly kind?: 'rollback' | 'release';
  /** the rollout a rollback or a rollback to nothing undoes */
  readonly rollsBack?: string;
}

export interface FleetState {
  /** global position of the last event folded in (0: none) */
  readonly position: number;
  /** recordedAt of the last event folded in */
  readonly recordedAt: string | null;
  readonly nodes: Readonly<Record<string, NodeView>>;
  readonly policies: Readonly<Record<string, PolicyView>>;
  readonly rollouts: Readonly<Record<string, RolloutView>>;
}

export const initialFleetState = (): FleetState => ({
  position: 0,
  recordedAt: null,
  nodes: {},
  policies: {},
  rollouts: {},
});

/** Key of a trampoline within a node: the (BTF object id, BTF id) pair of §1.1 "Trampoline". */
export const trampolineKey = (objId: number, btfId: number): string => `${objId}:${btfId}`;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Rec<V> = Record<string, V>;

/**
 * A record's own entry: the records are keyed by names from events (node ids, policy names,
 * rollout ids), and a name like `constructor` must not find Object.prototype's.
 */
const ownEntry = <V>(record: Readonly<Rec<V>>, key: string): V | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;

/** Sets a record's own entry, `__proto__` included (an assignment would change the prototype). */
const setEntry = <V>(record: Rec<V>, key: string, value: NoInfer<V>): void => {
  if (key === '__proto__')
    Object.defineProperty(record, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else record[key] = value;
};

/**
 * Copy-on-write bookkeeping for one fold: an object is copied the first time the fold changes
 * it, then changed in place for the rest of that fold. The input state is never modified.
 */
interface Draft {
  readonly owned: WeakSet<object>;
  /** trampoline keys already built, by objId then btfId (see `keyOf`) */
  readonly keys: TrampolineKeys;
  /** the links and occupancy of every node this segment changed them on, by nodeId (see `tablesOf`) */
  readonly tables: Map<string, NodeTables>;
  /** the nodes this segment owns, by nodeId: one lookup per event instead of two ownership checks */
  readonly nodes: Map<string, Mutable<NodeView>>;
}

/**
 * A node's links and trampoline occupancy as Maps while a segment changes them: a replay folds
 * a million link events into Maps (no copy-on-write check, no dictionary-mode records) and the
 * plain records are written once, when the segment ends (`flushTables`). The occupancy objects
 * are the segment's own copies, so counts change in place.
 */
interface NodeTables {
  readonly node: Mutable<NodeView>;
  readonly links: Map<number, LinkView>;
  readonly trampolines: Map<string, Mutable<TrampolineOccupancy>>;
}

const newDraft = (keys: TrampolineKeys): Draft => ({
  owned: new WeakSet(),
  keys,
  tables: new Map(),
  nodes: new Map(),
});

type TrampolineKeys = Map<number, Map<number, string>>;

/**
 * `trampolineKey`, remembered for the fold: a key string seen before is handed back as the same
 * string, so the occupancy record is looked up by a key the engine has already internalised
 * instead of a new string per connection (two per connection of every link created or released).
 */
const keyOf = (draft: Draft, objId: number, btfId: number): string => {
  let byBtf = draft.keys.get(objId);
  if (byBtf === undefined) {
    byBtf = new Map();
    draft.keys.set(objId, byBtf);
  }
  let key = byBtf.get(btfId);
  if (key === undefined) {
    key = trampolineKey(objId, btfId);
    byBtf.set(btfId, key);
  }
  return key;
};

const own = <T extends object>(draft: Draft, value: T): Mutable<T> => {
  if (draft.owned.has(value)) return value as Mutable<T>;
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Mutable<T>;
  draft.owned.add(copy);
  return copy;
};

const emptyNode = (nodeId: string): NodeView => ({
  nodeId,
  registered: false,
  labels: {},
  bootId: '',
  kernelRelease: '',
  profile: 'none',
  attachPath: null,
  btfFingerprint: '',
  registeredAt: null,
  bootedAt: null,
  modules: {},
  programs: {},
  links: {},
  trampolines: {},
  assignment: null,
  observedGeneration: null,
  drift: [],
  lastFailure: null,
});

const ownedRecord = <V>(draft: Draft, parent: Rec<unknown>, key: string): Rec<V> => {
  const child = own(draft, parent[key] as Rec<V>);
  parent[key] = child;
  return child;
};

const ownedNode = (draft: Draft, root: Mutable<FleetState>, nodeId: string): Mutable<NodeView> => {
  const owned = draft.nodes.get(nodeId);
  if (owned !== undefined) return owned;
  const nodes = own(draft, root.nodes as Rec<NodeView>);
  root.nodes = nodes;
  const node = own(draft, ownEntry(nodes, nodeId) ?? emptyNode(nodeId));
  setEntry(nodes, nodeId, node);
  draft.nodes.set(nodeId, node);
  return node;
};

const ownedRollout = (
  draft: Draft,
  root: Mutable<FleetState>,
  rolloutId: string,
): Mutable<RolloutView> | undefined => {
  const existing = ownEntry(root.rollouts, rolloutId);
  if (!existing) return undefined;
  const rollouts = own(draft, root.rollouts as Rec<RolloutView>);
  root.rollouts = rollouts;
  const rollout = own(draft, existing);
  setEntry(rollouts, rolloutId, rollout);
  return rollout;
};

const setWave = (
  draft: Draft,
  rollout: Mutable<RolloutView>,
  wave: number,
  change: Partial<WaveView>,
): void => {
  const waves = ownedRecord<WaveView>(draft, rollout as Rec<unknown>, 'waves');
  const base: WaveView = waves[String(wave)] ?? {
    wave,
    status: 'running',
    nodes: [],
    reason: null,
    failureRatio: null,
    succeeded: null,
    failed: null,
  };
  waves[String(wave)] = { ...base, ...change };
};

/**
 * The node's links and occupancy as this segment's Maps, built from its records the first time
 * the segment touches them (every occupancy object copied once, so a state handed out before
 * never sees a count change). Map and record agree on key order: integer-like link keys are
 * ordered by the record, other keys by first insertion in both, a deleted key re-added goes last.
 */
const tablesOf = (draft: Draft, node: Mutable<NodeView>): NodeTables => {
  const existing = draft.tables.get(node.nodeId);
  if (existing !== undefined) return existing;
  const links = new Map<number, LinkView>();
  for (const link of Object.values(node.links)) links.set(link.linkId, link);
  const trampolines = new Map<string, Mutable<TrampolineOccupancy>>();
  for (const key of Object.keys(node.trampolines)) {
    trampolines.set(key, { ...(node.trampolines[key] as TrampolineOccupancy) });
  }
  const tables: NodeTables = { node, links, trampolines };
  draft.tables.set(node.nodeId, tables);
  return tables;
};

/** Ends a segment's Maps: each changed node gets plain records built from them. */
const flushTables = (draft: Draft): void => {
  for (const { node, links, trampolines } of draft.tables.values()) {
    const linkRecord: Rec<LinkView> = {};
    for (const [linkId, link] of links) linkRecord[String(linkId)] = link;
    node.links = linkRecord;
    const occupancy: Rec<TrampolineOccupancy> = {};
    for (const [key, t] of trampolines) setEntry(occupancy, key, t);
    node.trampolines = occupancy;
  }
  draft.tables.clear();
};

const removeLink = (draft: Draft, tables: NodeTables, linkId: number): void => {
  const link = tables.links.get(linkId);
  if (link === undefined) return;
  tables.links.delete(linkId);
  const { trampolines } = tables;
  for (const c of link.connections) {
    const key = keyOf(draft, c.objId, c.btfId);
    const t = trampolines.get(key);
    if (t === undefined) continue;
    if (t.connections <= 1) trampolines.delete(key);
    else t.connections -= 1;
  }
};

/** What a reboot loses (ARCHITECTURE.md, "Coordination"): links, programs and loaded modules. */
const forgetBoot = (draft: Draft, node: Mutable<NodeView>): void => {
  draft.tables.delete(node.nodeId);
  node.links = {};
  node.trampolines = {};
  node.programs = {};
  node.modules = {};
};

const applyEvent = (draft: Draft, root: Mutable<FleetState>, event: FleetRecordedEvent): void => {
  const at = event.metadata.occurredAt;
  switch (event.type) {
    case 'NodeRegistered': {
      const node = ownedNode(draft, root, event.data.nodeId);
      node.registered = true;
      node.labels = event.data.labels;
      node.bootId = event.data.bootId;
      node.kernelRelease = event.data.kernelRelease;
      node.profile = event.data.profile;
      node.btfFingerprint = event.data.btfFingerprint;
      node.registeredAt = at;
      return;
    }
    case 'NodeBooted': {
      const node = ownedNode(draft, root, event.data.nodeId);
      node.bootId = event.data.bootId;
      node.bootedAt = at;
      forgetBoot(draft, node);
      return;
    }
    case 'KernelProfileDetected': {
      const node = ownedNode(draft, root, event.data.nodeId);
      node.profile = event.data.profile;
      node.attachPath = event.data.attachPath;
      node.btfFingerprint = event.data.btfFingerprint;
      return;
    }
    case 'ModuleLoaded': {
      const node = ownedNode(draft, root, event.data.nodeId);
      setEntry(ownedRecord<ModuleView>(draft, node as Rec<unknown>, 'modules'), event.data.module, {
        module: event.data.module,
        btfObjId: event.data.btfObjId,
        loadedAt: at,
      });
      return;
    }
    case 'ModuleUnloaded': {
      const node = ownedNode(draft, root, event.data.nodeId);
      delete ownedRecord<ModuleView>(draft, node as Rec<unknown>, 'modules')[event.data.module];
      return;
    }
    case 'ProgramLoaded': {
      const node = ownedNode(draft, root, event.data.nodeId);
      ownedRecord<ProgramView>(draft, node as Rec<unknown>, 'programs')[
        String(event.data.programId)
      ] = {
        programId: event.data.programId,
        name: event.data.name,
        attachType: event.data.attachType,
        loadedAt: at,
      };
      return;
    }
    case 'ProgramUnloaded': {
      const node = ownedNode(draft, root, event.data.nodeId);
      delete ownedRecord<ProgramView>(draft, node as Rec<unknown>, 'programs')[
        String(event.data.programId)
      ];
      return;
    }
    case 'LinkCreated': {
      const { data } = event;
      const node = ownedNode(draft, root, data.nodeId);
      const tables = tablesOf(draft, node);
      removeLink(draft, tables, data.linkId);
      tables.links.set(data.linkId, {
        linkId: data.linkId,
        programId: data.programId,
        programName: data.programName,
        policy: data.policy ?? null,
        attachType: data.attachType,
        connections: data.connections,
        createdAt: at,
        createdBy: event.metadata.actor,
        createdPosition: event.globalPosition,
      });
      const { trampolines } = tables;
      for (const c of data.connections) {
        const key = keyOf(draft, c.objId, c.btfId);
        const t = trampolines.get(key);
        if (t !== undefined) t.connections += 1;
        else
          trampolines.set(key, {
            objId: c.objId,
            btfId: c.btfId,
            function: c.function,
            connections: 1,
          });
      }
      if (data.observedGeneration !== undefined) node.observedGeneration = data.observedGeneration;
      return;
    }
    case 'LinkCreateFailed': {
      const { data } = event;
      const node = ownedNode(draft, root, data.nodeId);
      node.lastFailure = {
        programName: data.programName,
        function: data.failingTarget.function,
        errno: data.errno,
        reason: data.reason,
        at,
      };
      if (data.observedGeneration !== undefined) node.observedGeneration = data.observedGeneration;
      return;
    }
    case 'LinkReleased': {
      const node = ownedNode(draft, root, event.data.nodeId);
      if (node.links[String(event.data.linkId)] !== undefined || draft.tables.has(node.nodeId)) {
        removeLink(draft, tablesOf(draft, node), event.data.linkId);
      }
      if (event.data.observedGeneration !== undefined) {
        node.observedGeneration = event.data.observedGeneration;
      }
      return;
    }
    case 'DriftFound': {
      const node = ownedNode(draft, root, event.data.nodeId);
      node.drift = event.data.items;
      node.observedGeneration = event.data.observedGeneration;
      return;
    }
    case 'NodeReconciled': {
      const node = ownedNode(draft, root, event.data.nodeId);
      node.reconciled = Object.fromEntries(event.data.policies.map((p) => [p.policy, p]));
      node.observedGeneration = event.data.observedGeneration;
      return;
    }
    case 'PlanRecorded':
    case 'NodeReplanned': {
      const { data } = event;
      const node = ownedNode(draft, root, data.nodeId);
      const plans = own(draft, (node.plans ?? {}) as Rec<NodePlanView>);
      node.plans = plans;
      const recorded = event.type === 'PlanRecorded';
      setEntry(plans, data.policy, {
        policy: data.policy,
        policyVersion: data.policyVersion,
        source: recorded ? 'recorded' : 'replanned',
        plan: data.plan,
        at,
        by: event.metadata.actor,
        position: event.globalPosition,
        rolloutId: recorded ? (event.data.rolloutId ?? null) : null,
        generation: recorded ? null : event.data.generation,
        reason: recorded ? null : event.data.reason,
      });
      return;
    }
    case 'NodeAdmissionPending':
    case 'NodeApproved': {
      const node = ownedNode(draft, root, event.data.nodeId);
      node.admission = event.type === 'NodeApproved' ? 'approved' : 'pending';
      return;
    }
    case 'NodeTakenBack':
      // the new epoch's assignment follows as AssignmentIssued; recorded for audit
      return;
    case 'AccessTokenIssued':
    case 'AccessTokenRevoked':
    case 'ModuleActionRequested':
      // People's credentials and requests: recorded for audit (the agent's own facts say what
      // the kernel did); they change nothing of the fleet's state.
      return;
    case 'NodeMarkedStale':
    case 'NodeMarkedAlive':
      // Liveness is the coordinator's live view (heartbeats are not events); these decisions
      // are recorded for audit and change none of the fleet's kernel state.
      return;
    case 'AssignmentIssued': {
      const node = ownedNode(draft, root, event.data.nodeId);
      node.assignment = {
        generation: event.data.generation,
        links: event.data.links,
        issuedAt: at,
      };
      return;
    }
    case 'PolicyApplied': {
      const policies = own(draft, root.policies as Rec<PolicyView>);
      root.policies = policies;
      setEntry(policies, event.data.name, {
        name: event.data.name,
        version: event.data.version,
        spec: event.data.spec,
        appliedAt: at,
        appliedBy: event.metadata.actor,
      });
      return;
    }
    case 'PolicyRemoved': {
      if (!ownEntry(root.policies, event.data.name)) return;
      const policies = own(draft, root.policies as Rec<PolicyView>);
      root.policies = policies;
      delete policies[event.data.name];
      return;
    }
    case 'PolicyDeleted': {
      const existing = ownEntry(root.policies, event.data.name);
      if (!existing) return;
      const policies = own(draft, root.policies as Rec<PolicyView>);
      root.policies = policies;
      setEntry(policies, event.data.name, {
        ...existing,
        deleting: { at, by: event.metadata.actor, rolloutId: null },
      });
      return;
    }
    case 'RolloutStarted': {
      const rollouts = own(draft, root.rollouts as Rec<RolloutView>);
      root.rollouts = rollouts;
      const deleted = ownEntry(root.policies, event.data.policy);
      if (event.data.kind === 'release' && deleted?.deleting) {
        const policies = own(draft, root.policies as Rec<PolicyView>);
        root.policies = policies;
        setEntry(policies, event.data.policy, {
          ...deleted,
          deleting: { ...deleted.deleting, rolloutId: event.data.rolloutId },
        });
      }
      setEntry(rollouts, event.data.rolloutId, {
        ...(event.data.kind === undefined || event.data.kind === 'apply'
          ? {}
          : { kind: event.data.kind }),
        ...(event.data.rollsBack === undefined ? {} : { rollsBack: event.data.rollsBack }),
        rolloutId: event.data.rolloutId,
        policy: event.data.policy,
        policyVersion: event.data.policyVersion,
        waveCount: event.data.waves,
        status: 'running',
        currentWave: null,
        waves: {},
        startedAt: at,
        startedBy: event.metadata.actor,
        reason: null,
      });
      return;
    }
    case 'WaveStarted': {
      const rollout = ownedRollout(draft, root, event.data.rolloutId);
      if (!rollout) return;
      rollout.currentWave = event.data.wave;
      rollout.status = 'running';
      setWave(draft, rollout, event.data.wave, { status: 'running', nodes: event.data.nodes });
      return;
    }
    case 'WaveHeld': {
      const rollout = ownedRollout(draft, root, event.data.rolloutId);
      if (!rollout) return;
      rollout.status = 'held';
      rollout.reason = event.data.reason;
      setWave(draft, rollout, event.data.wave, {
        status: 'held',
        reason: event.data.reason,
        failureRatio: event.data.failureRatio,
      });
      return;
    }
    case 'WaveCompleted': {
      const rollout = ownedRollout(draft, root, event.data.rolloutId);
      if (!rollout) return;
      setWave(draft, rollout, event.data.wave, {
        status: 'completed',
        succeeded: event.data.succeeded,
        failed: event.data.failed,
      });
      return;
    }
    case 'RolloutCompleted': {
      const rollout = ownedRollout(draft, root, event.data.rolloutId);
      if (!rollout) return;
      rollout.status = 'completed';
      // a deleted policy is listed until every node has released it
      const policy = ownEntry(root.policies, rollout.policy);
      if (policy?.deleting?.rolloutId === rollout.rolloutId) {
        const policies = own(draft, root.policies as Rec<PolicyView>);
        root.policies = policies;
        delete policies[rollout.policy];
      }
      return;
    }
    case 'RolloutRolledBack': {
      const rollout = ownedRollout(draft, root, event.data.rolloutId);
      if (!rollout) return;
      rollout.status = 'rolled-back';
      rollout.reason = event.data.reason;
      return;
    }
    default:
      assertNever(event, 'fleet event');
  }
};

/**
 * Folds `events` (in global order) into `state` and returns the new state; `state` is not
 * modified. Each container is copied at most once per call, so folding a long log in one call
 * costs about what in-place mutation would. Events at or before `state.position` are skipped,
 * which makes re-delivery harmless.
 */
export const foldFleet = (state: FleetState, events: Iterable<FleetRecordedEvent>): FleetState => {
  const draft = newDraft(new Map());
  let root: Mutable<FleetState> | undefined;
  for (const event of events) {
    if (event.globalPosition <= (root ?? state).position) continue;
    root ??= own(draft, state);
    applyEvent(draft, root, event);
    root.position = event.globalPosition;
    root.recordedAt = event.recordedAt;
  }
  flushTables(draft);
  return root ?? state;
};

/** One step of the fold: `events.reduce(evolveFleet, initialFleetState())` equals `foldFleet`. */
export const evolveFleet = (state: FleetState, event: FleetRecordedEvent): FleetState =>
  foldFleet(state, [event]);

/** A fold that accepts events one by one (e.g. from an async reader) and yields states on demand. */
export interface FleetFolder {
  readonly push: (event: FleetRecordedEvent) => void;
  /** The state so far; later pushes do not change the returned value. */
  readonly state: () => FleetState;
}

/** Incremental form of `foldFleet`, for async sources: same result, one copy per container per segment. */
export const createFleetFolder = (start: FleetState = initialFleetState()): FleetFolder => {
  let draft = newDraft(new Map());
  let current: FleetState = start;
  return {
    push: (event) => {
      if (event.globalPosition <= current.position) return;
      const root = own(draft, current);
      applyEvent(draft, root, event);
      root.position = event.globalPosition;
      root.recordedAt = event.recordedAt;
      current = root;
    },
    state: () => {
      // Handing the state out ends the copy-on-write segment: later pushes copy again.
      flushTables(draft);
      draft = newDraft(draft.keys);
      return current;
    },
  };
};
