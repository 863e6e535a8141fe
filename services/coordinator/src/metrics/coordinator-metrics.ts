/**
 * The coordinator's Prometheus metrics (docs/metrics.md), on a prom-client `Registry` of its own:
 * several coordinators in one process (the tests, the embedded mode) never share a series.
 *
 * Two kinds of series. Gauges of the fleet as the log says (nodes, links, rollouts, policies,
 * trampolines) are computed from the projection when scraped (`collect`), so they are never
 * stale and cost nothing between scrapes. Counters and histograms of what happened (events
 * appended, facts ingested, link outcomes, wave durations) are fed by the log's observer hooks
 * as it happens. Every label value is closed or bounded (`@tramway/shared/lib` metric-labels).
 */
import type { FleetRecordedEvent } from '@tramway/shared/domain';
import { FLEET_EVENT_SCHEMAS } from '@tramway/shared/contracts';
import { DEFAULT_MAX_TRAMP_LINKS } from '@tramway/shared/kernel';
import type { AttachType, NewEvent } from '@tramway/shared/lib';
import {
  attachPathOfType,
  closedLabel,
  createLabelBound,
  errnoLabel,
  topN,
} from '@tramway/shared/lib';
import type { FleetState, NodeView, RolloutStatus } from '@tramway/shared/projections';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FleetLogObserver } from '../log/fleet-log.js';

/** What the gauges read when scraped. */
export interface CoordinatorMetricsSource {
  fleet(): FleetState;
  isStale(nodeId: string): boolean;
  /** when this process last heard the node (epoch ms); undefined: not since it started */
  lastHeardMs(nodeId: string): number | undefined;
  /** messages of agents refused since start, by reason */
  refused(): readonly (readonly [string, number])[];
  nowMs(): number;
}

/** How many series the labels that come from the fleet may take (docs/metrics.md). */
export interface MetricsBounds {
  /** per-node series (`node` label): the first nodes by id; the fleet-wide gauges count all */
  readonly maxNodeSeries: number;
  /** distinct `policy` values; later policies are counted under `_other` */
  readonly maxPolicySeries: number;
  /** the fullest trampolines exposed with their function name (`tramway_trampoline_top_links`) */
  readonly topTrampolines: number;
}

export const DEFAULT_METRICS_BOUNDS: MetricsBounds = {
  maxNodeSeries: 5000,
  maxPolicySeries: 100,
  topTrampolines: 10,
};

/** A trampoline at or above this share of its link budget counts as near full. */
export const NEAR_FULL_RATIO = 0.9;

const ROLLOUT_STATES: readonly RolloutStatus[] = ['running', 'held', 'completed', 'rolled-back'];

/** The state a node is counted in by `tramway_nodes_by_state`, first match wins. */
export const NODE_STATES = ['pending', 'stale', 'unassigned', 'reconciling', 'converged'] as const;
export type NodeState = (typeof NODE_STATES)[number];

export const nodeStateOf = (node: NodeView, stale: boolean): NodeState => {
  if (node.admission === 'pending') return 'pending';
  if (stale) return 'stale';
  if (node.assignment === null) return 'unassigned';
  return (node.observedGeneration ?? 0) >= node.assignment.generation ? 'converged' : 'reconciling';
};

/** A node's state for one policy version, from its last reconcile outcome; worst first. */
export const POLICY_NODE_STATES = ['rejected', 'pending', 'attached'] as const;

const EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(FLEET_EVENT_SCHEMAS));

/** Seconds: a wave with its pauses takes minutes. */
const WAVE_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];
const OCCUPANCY_BUCKETS = [0.1, 0.25, 0.5, 0.75, 0.9, 1];

export interface CoordinatorMetrics {
  readonly registry: Registry;
  /** the text exposition (format 0.0.4) of every series */
  render(): Promise<string>;
  readonly contentType: string;
  /** feeds the counters and the wave histogram from the log */
  readonly logObserver: FleetLogObserver;
  /** adds the process and Node.js runtime series (`process_*`, `nodejs_*`); once per registry */
  collectProcessMetrics(): void;
}

export const createCoordinatorMetrics = (
  source: CoordinatorMetricsSource,
  bounds: MetricsBounds = DEFAULT_METRICS_BOUNDS,
): CoordinatorMetrics => {
  const registry = new Registry();
  const registers = [registry];
  const policyLabel = createLabelBound(bounds.maxPolicySeries);

  // --- gauges computed from the projection at scrape time ---
  const registered = (): NodeView[] =>
    Object.values(source.fleet().nodes).filter((n) => n.registered);
  /** the nodes that get series of their own: the first `maxNodeSeries` by id */
  const labelledNodes = (): NodeView[] =>
    registered()
      .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))
      .slice(0, bounds.maxNodeSeries);

  new Gauge({
    name: 'tramway_nodes',
    help: 'Registered nodes.',
    registers,
    collect() {
      this.set(registered().length);
    },
  });
  new Gauge({
    name: 'tramway_nodes_stale',
    help: 'Nodes whose heartbeats stopped.',
    registers,
    collect() {
      this.set(Object.keys(source.fleet().nodes).filter((n) => source.isStale(n)).length);
    },
  });
  new Gauge({
    name: 'tramway_nodes_pending',
    help: 'Registered nodes waiting for approval (no assignment, not counted in rollouts).',
    registers,
    collect() {
      this.set(registered().filter((n) => n.admission === 'pending').length);
    },
  });
  new Gauge({
    name: 'tramway_links',
    help: 'Links held across the fleet, as the log says.',
    registers,
    collect() {
      this.set(registered().reduce((sum, n) => sum + Object.keys(n.links).length, 0));
    },
  });
  new Gauge({
    name: 'tramway_rollouts',
    help: 'Rollouts by state.',
    labelNames: ['state'],
    registers,
    collect() {
      const rollouts = Object.values(source.fleet().rollouts);
      for (const state of ROLLOUT_STATES)
        this.set({ state }, rollouts.filter((r) => r.status === state).length);
    },
  });
  new Gauge({
    name: 'tramway_log_position',
    help: 'Global position of the last event folded in.',
    registers,
    collect() {
      this.set(source.fleet().position);
    },
  });
  new Gauge({
    name: 'tramway_nodes_by_state',
    help: 'Registered nodes by state: pending (approval), stale, unassigned, reconciling (observed generation behind its assignment), converged.',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = new Map<NodeState, number>(NODE_STATES.map((s) => [s, 0]));
      for (const n of registered()) {
        const state = nodeStateOf(n, source.isStale(n.nodeId));
        counts.set(state, counts.get(state)! + 1);
      }
      for (const [state, value] of counts) this.set({ state }, value);
    },
  });
  new Gauge({
    name: 'tramway_nodes_by_attach_path',
    help: 'Registered nodes by the first rung of the attach fallback ladder their kernel offers.',
    labelNames: ['path'],
    registers,
    collect() {
      this.reset();
      for (const path of ['tracing-multi', 'fentry-per-function', 'kprobe-multi', 'unknown'])
        this.set({ path }, 0);
      for (const n of registered()) this.inc({ path: n.attachPath ?? 'unknown' });
    },
  });

  // per policy version: nodes and functions by state, from each node's last reconcile outcome
  // (both computed by the first one's collect: a registry collects in registration order)
  const policyFunctions = new Gauge({
    name: 'tramway_policy_functions',
    help: 'Functions by policy version and state (attached, pending a module, rejected), summed over the nodes.',
    labelNames: ['policy', 'version', 'state'],
    // registered below, after the metric whose collect computes it
    registers: [],
  });
  new Gauge({
    name: 'tramway_policy_nodes',
    help: 'Nodes by policy version and their last reconcile outcome for it: rejected (some function refused), pending (some function waits for its module), attached.',
    labelNames: ['policy', 'version', 'state'],
    registers,
    collect() {
      this.reset();
      policyFunctions.reset();
      for (const n of registered()) {
        for (const o of Object.values(n.reconciled ?? {})) {
          const labels = { policy: policyLabel.label(o.policy), version: String(o.version) };
          const state =
            o.rejected.length > 0 ? 'rejected' : o.pending.length > 0 ? 'pending' : 'attached';
          for (const s of POLICY_NODE_STATES) this.inc({ ...labels, state: s }, 0);
          this.inc({ ...labels, state });
          policyFunctions.inc({ ...labels, state: 'attached' }, o.attached);
          policyFunctions.inc({ ...labels, state: 'pending' }, o.pending.length);
          policyFunctions.inc({ ...labels, state: 'rejected' }, o.rejected.length);
        }
      }
    },
  });
  registry.registerMetric(policyFunctions);

  // per node (bounded by maxNodeSeries)
  new Gauge({
    name: 'tramway_node_up',
    help: 'Per node: 1 while its heartbeats arrive, 0 once it is stale.',
    labelNames: ['node'],
    registers,
    collect() {
      this.reset();
      for (const n of labelledNodes())
        this.set({ node: n.nodeId }, source.isStale(n.nodeId) ? 0 : 1);
    },
  });
  new Gauge({
    name: 'tramway_node_last_seen_age_seconds',
    help: 'Per node: seconds since this coordinator last heard it (absent until heard since start).',
    labelNames: ['node'],
    registers,
    collect() {
      this.reset();
      const now = source.nowMs();
      for (const n of labelledNodes()) {
        const heard = source.lastHeardMs(n.nodeId);
        if (heard !== undefined) this.set({ node: n.nodeId }, Math.max(0, now - heard) / 1000);
      }
    },
  });

  // trampolines: a distribution over every (node, function), a per-node count, a top N
  new Gauge({
    name: 'tramway_trampoline_link_budget',
    help: 'Links one trampoline holds at most (BPF_MAX_TRAMP_LINKS).',
    registers,
    collect() {
      this.set(DEFAULT_MAX_TRAMP_LINKS);
    },
  });
  // computed by the histogram's collect, registered first of the four
  const nearFull = new Gauge({
    name: 'tramway_trampolines_near_full',
    help: `Per node: trampolines holding at least ${NEAR_FULL_RATIO * 100}% of the link budget.`,
    labelNames: ['node'],
    // registered below, after the metric whose collect computes it
    registers: [],
  });
  const fullest = new Gauge({
    name: 'tramway_trampoline_links_max',
    help: 'Per node: links on its fullest trampoline.',
    labelNames: ['node'],
    // registered below, after the metric whose collect computes it
    registers: [],
  });
  const top = new Gauge({
    name: 'tramway_trampoline_top_links',
    help: `Links on the ${bounds.topTrampolines} fullest trampolines of the fleet (the only series with a function label).`,
    labelNames: ['node', 'function'],
    // registered below, after the metric whose collect computes it
    registers: [],
  });
  new Histogram({
    name: 'tramway_trampoline_occupancy_ratio',
    help: 'Gauge histogram, recomputed at each scrape: every trampoline of the fleet (node, function) by links held over the link budget. Use without rate().',
    buckets: OCCUPANCY_BUCKETS,
    registers,
    collect() {
      this.reset();
      top.reset();
      nearFull.reset();
      fullest.reset();
      const all: { node: string; function: string; links: number }[] = [];
      const labelled = new Set(labelledNodes().map((n) => n.nodeId));
      for (const n of registered()) {
        let near = 0;
        let max = 0;
        for (const t of Object.values(n.trampolines)) {
          if (t.connections === 0) continue;
          this.observe(t.connections / DEFAULT_MAX_TRAMP_LINKS);
          if (t.connections >= NEAR_FULL_RATIO * DEFAULT_MAX_TRAMP_LINKS) near++;
          max = Math.max(max, t.connections);
          all.push({ node: n.nodeId, function: t.function, links: t.connections });
        }
        if (labelled.has(n.nodeId)) {
          nearFull.set({ node: n.nodeId }, near);
          fullest.set({ node: n.nodeId }, max);
        }
      }
      for (const t of topN(
        all,
        bounds.topTrampolines,
        (e) => e.links,
        (e) => `${e.node}\0${e.function}`,
      ))
        top.set({ node: t.node, function: t.function }, t.links);
    },
  });
  for (const m of [nearFull, fullest, top]) registry.registerMetric(m);

  // --- counters fed as things happen ---
  const appendedTotal = new Counter({
    name: 'tramway_events_appended_total',
    help: 'Events this coordinator appended to the log.',
    registers,
  });
  const appendedByType = new Counter({
    name: 'tramway_events_appended_by_type_total',
    help: 'Events this coordinator appended to the log, by event type.',
    labelNames: ['type'],
    registers,
  });
  const factsIngested = new Counter({
    name: 'tramway_facts_ingested_total',
    help: "Agents' facts stored in the log (a re-sent fact already there is not counted), by event type.",
    labelNames: ['type'],
    registers,
  });
  const assignmentsIssued = new Counter({
    name: 'tramway_assignments_issued_total',
    help: 'Assignments this coordinator issued to nodes.',
    registers,
  });
  const linkCreates = new Counter({
    name: 'tramway_link_creates_total',
    help: 'Links the agents reported created, by attach path.',
    labelNames: ['path'],
    registers,
  });
  const linkFailures = new Counter({
    name: 'tramway_link_create_failures_total',
    help: 'Link creations the agents reported refused, by attach path and errno name.',
    labelNames: ['path', 'errno'],
    registers,
  });
  new Counter({
    name: 'tramway_refused_messages_total',
    help: 'Messages of agents refused (a node speaking for another, not node facts, malformed).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, value] of source.refused()) this.inc({ reason }, value);
    },
  });
  const waveDuration = new Histogram({
    name: 'tramway_wave_duration_seconds',
    help: 'Rollout waves completed while this coordinator ran, from WaveStarted to WaveCompleted (their occurredAt), by policy.',
    labelNames: ['policy'],
    buckets: WAVE_BUCKETS,
    registers,
  });

  const onAppended = (events: readonly NewEvent[], from: 'decision' | 'facts'): void => {
    appendedTotal.inc(events.length);
    for (const e of events) {
      const type = closedLabel(EVENT_TYPES, e.type);
      appendedByType.inc({ type });
      if (from === 'facts') factsIngested.inc({ type });
      if (e.type === 'AssignmentIssued') assignmentsIssued.inc();
      else if (e.type === 'LinkCreated') {
        const data = e.data as { attachType: AttachType };
        linkCreates.inc({ path: attachPathOfType(data.attachType) });
      } else if (e.type === 'LinkCreateFailed') {
        const data = e.data as { attachType: AttachType; errno: number };
        linkFailures.inc({
          path: attachPathOfType(data.attachType),
          errno: errnoLabel(data.errno),
        });
      }
    }
  };

  // waves in progress (started, not completed): rollout -> policy, wave -> start (epoch ms)
  const rolloutPolicy = new Map<string, string>();
  const waveStarts = new Map<string, number>();
  const onFolded = (event: FleetRecordedEvent, replaying: boolean): void => {
    switch (event.type) {
      case 'RolloutStarted':
        rolloutPolicy.set(event.data.rolloutId, event.data.policy);
        return;
      case 'WaveStarted':
        waveStarts.set(
          `${event.data.rolloutId}#${event.data.wave}`,
          Date.parse(event.metadata.occurredAt),
        );
        return;
      case 'WaveCompleted': {
        const key = `${event.data.rolloutId}#${event.data.wave}`;
        const started = waveStarts.get(key);
        waveStarts.delete(key);
        const policy = rolloutPolicy.get(event.data.rolloutId);
        // a replayed wave was observed by the process that saw it end, not again here
        if (replaying || started === undefined || policy === undefined) return;
        const seconds = (Date.parse(event.metadata.occurredAt) - started) / 1000;
        if (Number.isFinite(seconds) && seconds >= 0)
          waveDuration.observe({ policy: policyLabel.label(policy) }, seconds);
        return;
      }
      case 'RolloutCompleted':
      case 'RolloutRolledBack':
        rolloutPolicy.delete(event.data.rolloutId);
        for (const key of [...waveStarts.keys()])
          if (key.startsWith(`${event.data.rolloutId}#`)) waveStarts.delete(key);
        return;
      default:
        return;
    }
  };

  let processMetrics = false;
  return {
    registry,
    render: () => registry.metrics(),
    contentType: registry.contentType,
    logObserver: { appended: onAppended, folded: onFolded },
    collectProcessMetrics: () => {
      if (processMetrics) return;
      processMetrics = true;
      collectDefaultMetrics({ register: registry });
    },
  };
};
