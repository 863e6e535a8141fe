/**
 * What the console (services/console, served at /ui) shows, computed from a fleet state: the live
 * one or one rebuilt at a past position (time travel). Pure functions of the state and of the
 * liveness the coordinator adds for the live view; the routes are in console-api.ts
 * (docs/fleet-protocol.md, "Console read endpoints").
 */
import type { FleetRecordedEvent } from '@tramway/shared/domain';
import type { FleetState, NodeView, RolloutView } from '@tramway/shared/projections';
import { READ_MODEL_TABLES, toRowChanges } from '@tramway/shared/projections';
import { DEFAULT_MAX_TRAMP_LINKS } from '@tramway/shared/kernel';
import { ownEntry } from '@tramway/shared/lib';

/** The links one kernel trampoline may hold (BPF_MAX_TRAMP_LINKS on x86_64). */
export const TRAMPOLINE_BUDGET = DEFAULT_MAX_TRAMP_LINKS;

/** How one policy stands on one node (a cell of the fleet grid). */
export type CellState = 'attached' | 'pending' | 'rejected' | 'trampoline-full' | 'none';

export interface FleetCell {
  readonly state: CellState;
  readonly attached: number;
  readonly pending: number;
  readonly rejected: number;
}

/** Liveness the coordinator knows of a node now (absent for a past position). */
export interface NodeLiveness {
  readonly lastSeen: string | null;
  readonly stale: boolean;
  readonly admission: 'pending' | 'approved';
}

export interface FleetRow {
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly profile: string;
  readonly attachPath: string | null;
  readonly kernelRelease: string;
  /** `healthy`, `stale`, `drift`, `unapproved` or `unknown` (a past position: no heartbeat kept) */
  readonly health: 'healthy' | 'stale' | 'drift' | 'unapproved' | 'unknown';
  readonly lastSeen: string | null;
  readonly generation: number;
  readonly observedGeneration: number | null;
  /** the fullest trampoline's links (of `TRAMPOLINE_BUDGET`) */
  readonly busiestTrampoline: number;
  readonly cells: Readonly<Record<string, FleetCell>>;
}

/** E2BIG: the trampoline's link budget is spent (kernel apply-op.ts linkRule). */
const E2BIG = 7;

const isTrampolineFull = (r: { readonly errno: number; readonly reason: string }): boolean =>
  r.errno === E2BIG || r.errno === -E2BIG || /trampoline .* of \d+ links/.test(r.reason);

/** The cell of `policy` on `node`: the worst of what the node reported, or what it was sent. */
export const cellOf = (node: NodeView, policy: string): FleetCell => {
  let attached = 0;
  for (const link of Object.values(node.links))
    if (link.policy === policy) attached += link.connections.length;
  const outcome = node.reconciled === undefined ? undefined : ownEntry(node.reconciled, policy);
  const pending = outcome?.pending.length ?? 0;
  const rejected = outcome?.rejected ?? [];
  const planned = node.plans === undefined ? undefined : ownEntry(node.plans, policy);
  const plannedFull = planned?.plan.targets.some((t) => t.status === 'trampoline-full') ?? false;
  const assigned = node.assignment?.links.some((l) => l.policy === policy) ?? false;
  const awaited =
    assigned &&
    (node.observedGeneration === null ||
      node.observedGeneration < (node.assignment?.generation ?? 0));
  const state: CellState = rejected.some(isTrampolineFull)
    ? 'trampoline-full'
    : rejected.length > 0
      ? 'rejected'
      : pending > 0 || awaited
        ? 'pending'
        : attached > 0
          ? 'attached'
          : plannedFull
            ? 'trampoline-full'
            : assigned || planned !== undefined
              ? 'pending'
              : 'none';
  return { state, attached, pending, rejected: rejected.length };
};

const busiest = (node: NodeView): number =>
  Object.values(node.trampolines).reduce((max, t) => Math.max(max, t.connections), 0);

/** A fleet row without what only the live coordinator knows (liveness). */
type RowOfState = Omit<FleetRow, 'health' | 'lastSeen'> & { readonly drifted: boolean };

/**
 * The rows of each state handed out, computed once per state: a state is never changed (the fold
 * hands out a new one after each event), so the live grid is rebuilt once per change of the log,
 * not once per request or page, and a past state's rows once per position asked for.
 */
const rowsByState = new WeakMap<FleetState, readonly RowOfState[]>();

const rowsOfState = (state: FleetState): readonly RowOfState[] => {
  const known = rowsByState.get(state);
  if (known !== undefined) return known;
  const policies = Object.keys(state.policies).sort();
  const rows = Object.values(state.nodes)
    .filter((n) => n.registered)
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))
    .map((node): RowOfState => ({
      nodeId: node.nodeId,
      labels: node.labels,
      profile: node.profile,
      attachPath: node.attachPath,
      kernelRelease: node.kernelRelease,
      generation: node.assignment?.generation ?? 0,
      observedGeneration: node.observedGeneration,
      busiestTrampoline: busiest(node),
      cells: Object.fromEntries(policies.map((p) => [p, cellOf(node, p)])),
      drifted: node.drift.length > 0,
    }));
  rowsByState.set(state, rows);
  return rows;
};

/** One row of the fleet grid per registered node, in node id order. */
export const fleetRows = (
  state: FleetState,
  liveness: (nodeId: string) => NodeLiveness | undefined,
): FleetRow[] =>
  rowsOfState(state).map(({ drifted, ...row }) => {
    const live = liveness(row.nodeId);
    const health: FleetRow['health'] =
      live === undefined
        ? 'unknown'
        : live.admission !== 'approved'
          ? 'unapproved'
          : live.stale
            ? 'stale'
            : drifted
              ? 'drift'
              : 'healthy';
    return { ...row, health, lastSeen: live?.lastSeen ?? null };
  });

/** Whether `labels` has every `key=value` of `selector` (`key` alone: has the key). */
export const matchesLabels = (
  labels: Readonly<Record<string, string>>,
  selector: readonly (readonly [string, string | undefined])[],
): boolean =>
  selector.every(([k, v]) => Object.hasOwn(labels, k) && (v === undefined || labels[k] === v));

/** Everything the Node view shows of one node. */
export const nodeDetail = (node: NodeView, state: FleetState) => {
  const policies = Object.keys(state.policies).sort();
  return {
    nodeId: node.nodeId,
    labels: node.labels,
    kernelRelease: node.kernelRelease,
    profile: node.profile,
    attachPath: node.attachPath,
    bootId: node.bootId,
    bootedAt: node.bootedAt,
    registeredAt: node.registeredAt,
    generation: node.assignment?.generation ?? 0,
    observedGeneration: node.observedGeneration,
    trampolineBudget: TRAMPOLINE_BUDGET,
    trampolines: Object.values(node.trampolines)
      .map((t) => ({ function: t.function, objId: t.objId, btfId: t.btfId, links: t.connections }))
      .sort((a, b) => b.links - a.links || (a.function < b.function ? -1 : 1)),
    links: Object.values(node.links)
      .map((l) => ({
        linkId: l.linkId,
        programId: l.programId,
        programName: l.programName,
        policy: l.policy,
        attachType: l.attachType,
        functions: l.connections.map((c) => c.function),
        createdAt: l.createdAt,
        createdBy: l.createdBy,
      }))
      .sort((a, b) => a.linkId - b.linkId),
    modules: Object.values(node.modules)
      .map((m) => ({ module: m.module, loadedAt: m.loadedAt }))
      .sort((a, b) => (a.module < b.module ? -1 : 1)),
    /** functions waiting for a module, per policy, as the node last reported */
    pending: Object.values(node.reconciled ?? {}).flatMap((o) =>
      o.pending.map((p) => ({ policy: o.policy, function: p.function, module: p.module })),
    ),
    rejected: Object.values(node.reconciled ?? {}).flatMap((o) =>
      o.rejected.map((r) => ({
        policy: o.policy,
        function: r.function,
        errno: r.errno,
        reason: r.reason,
      })),
    ),
    cells: Object.fromEntries(policies.map((p) => [p, cellOf(node, p)])),
    drift: node.drift,
    lastFailure: node.lastFailure,
  };
};

/** Which nodes and programs trace `fn` in `state`. */
export const functionUsage = (state: FleetState, fn: string) =>
  Object.values(state.nodes)
    .flatMap((node) =>
      Object.values(node.links)
        .filter((l) => l.connections.some((c) => c.function === fn))
        .map((l) => ({
          nodeId: node.nodeId,
          linkId: l.linkId,
          programId: l.programId,
          programName: l.programName,
          policy: l.policy,
          attachType: l.attachType,
          createdAt: l.createdAt,
          trampolineLinks:
            Object.values(node.trampolines).find((t) => t.function === fn)?.connections ?? 0,
        })),
    )
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.linkId - b.linkId));

/** The rollout settings of a policy spec (read loosely: the spec was validated when applied). */
export const rolloutSettings = (
  spec: unknown,
): { maxFailureRatio: number | null; pauseSeconds: number | null } => {
  const r = (spec as { rollout?: { maxFailureRatio?: unknown; pauseSeconds?: unknown } })?.rollout;
  return {
    maxFailureRatio: typeof r?.maxFailureRatio === 'number' ? r.maxFailureRatio : null,
    pauseSeconds: typeof r?.pauseSeconds === 'number' ? r.pauseSeconds : null,
  };
};

/** A rollout as the Rollout view shows it, newest first by start. */
export const rolloutSummary = (r: RolloutView, state: FleetState) => {
  const policy = ownEntry(state.policies, r.policy);
  const settings = rolloutSettings(policy?.version === r.policyVersion ? policy.spec : undefined);
  return {
    rolloutId: r.rolloutId,
    policy: r.policy,
    policyVersion: r.policyVersion,
    status: r.status,
    waveCount: r.waveCount,
    currentWave: r.currentWave,
    startedAt: r.startedAt,
    startedBy: r.startedBy,
    reason: r.reason,
    maxFailureRatio: settings.maxFailureRatio,
    pauseSeconds: settings.pauseSeconds,
    waves: Object.values(r.waves)
      .sort((a, b) => a.wave - b.wave)
      .map((w) => {
        const standing = w.nodes.map((n) => {
          const node = ownEntry(state.nodes, n);
          return node === undefined ? 'none' : cellOf(node, r.policy).state;
        });
        return {
          index: w.wave,
          status: w.status,
          nodes: w.nodes,
          reason: w.reason,
          failureRatio: w.failureRatio,
          succeeded: w.succeeded ?? standing.filter((s) => s === 'attached').length,
          failed:
            w.failed ?? standing.filter((s) => s === 'rejected' || s === 'trampoline-full').length,
        };
      }),
  };
};

/** One event of the log as the console's timeline and live stream show it. */
export interface ConsoleEvent {
  readonly position: number;
  readonly type: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly actor: string;
  readonly streamId: string;
  readonly nodeId: string | null;
  readonly policy: string | null;
  readonly rolloutId: string | null;
  readonly function: string | null;
  readonly summary: string;
}

/** The event's row of the read model's event table (its summary and keys), as a console event. */
export const describeEvent = (event: FleetRecordedEvent): ConsoleEvent => {
  const row = toRowChanges(event).find(
    (c) => c.op === 'insert' && c.table === READ_MODEL_TABLES.events,
  );
  const v = row?.op === 'insert' ? row.values : {};
  const text = (key: string): string | null => {
    const value = v[key];
    return typeof value === 'string' ? value : null;
  };
  return {
    position: event.globalPosition,
    type: event.type,
    occurredAt: event.metadata.occurredAt,
    recordedAt: event.recordedAt,
    actor: event.metadata.actor,
    streamId: event.streamId,
    nodeId: text('node_id'),
    policy: text('policy_name'),
    rolloutId: text('rollout_id'),
    function: text('function'),
    summary: text('summary') ?? event.type,
  };
};
