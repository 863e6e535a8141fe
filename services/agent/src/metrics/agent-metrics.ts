/**
 * The agent's Prometheus metrics (docs/metrics.md, "Agent"), on a prom-client `Registry` of its
 * own (the embedded mode runs several agents in one process). No series carries the node id:
 * the scraper's target labels say which node it scraped. Every label is a closed set (attach
 * paths, errno names, outcomes, refusal reasons, the driver's description).
 */
import type { AssignmentRefusal } from '@tramway/shared/contracts';
import type { AttachPath, Errno } from '@tramway/shared/lib';
import { errnoLabel } from '@tramway/shared/lib';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KernelDescription } from '../kernel-driver/index.js';

/** What the gauges read when scraped. */
export interface AgentMetricsSource {
  linksHeld(): number;
  observedGeneration(): number;
  /** the kernel's description once started (undefined before) */
  kernel(): KernelDescription | undefined;
  refusedAssignments(): Readonly<Partial<Record<AssignmentRefusal, number>>>;
}

/** How a reconcile pass ended (`tramway_agent_reconciles_total{result}`). */
export type ReconcileResult = 'clean' | 'attach_failures' | 'error';

export interface AgentMetrics {
  readonly registry: Registry;
  render(): Promise<string>;
  readonly contentType: string;
  /** one attach (prog_load, link_create, link_pin) on `path`, timed around the driver calls */
  attached(path: AttachPath, seconds: number, failure?: Errno): void;
  /** one reconcile pass */
  reconciled(seconds: number, result: ReconcileResult): void;
  /** adds the process and Node.js runtime series; once per registry */
  collectProcessMetrics(): void;
}

/** Seconds: an attach is a few syscalls (sim: microseconds; a real multi-link: milliseconds). */
const ATTACH_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];
const RECONCILE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const createAgentMetrics = (source: AgentMetricsSource): AgentMetrics => {
  const registry = new Registry();
  const registers = [registry];

  const attachDuration = new Histogram({
    name: 'tramway_agent_attach_duration_seconds',
    help: 'One attach of a link group (prog_load, link_create, link_pin) timed around the kernel driver, by attach path and result (ok, failed).',
    labelNames: ['path', 'result'],
    buckets: ATTACH_BUCKETS,
    registers,
  });
  const creates = new Counter({
    name: 'tramway_agent_link_creates_total',
    help: 'Links this agent created, by attach path.',
    labelNames: ['path'],
    registers,
  });
  const failures = new Counter({
    name: 'tramway_agent_link_create_failures_total',
    help: 'Attaches the kernel refused, by attach path and errno name.',
    labelNames: ['path', 'errno'],
    registers,
  });
  const reconcileDuration = new Histogram({
    name: 'tramway_agent_reconcile_duration_seconds',
    help: 'Reconcile passes, from reading the kernel to the facts handed to the outbox.',
    buckets: RECONCILE_BUCKETS,
    registers,
  });
  const reconciles = new Counter({
    name: 'tramway_agent_reconciles_total',
    help: 'Reconcile passes by result: clean, attach_failures (some attach refused), error (the pass failed).',
    labelNames: ['result'],
    registers,
  });
  for (const result of ['clean', 'attach_failures', 'error']) reconciles.inc({ result }, 0);
  new Gauge({
    name: 'tramway_agent_links_held',
    help: 'Links this agent holds (pinned) for its assignment.',
    registers,
    collect() {
      this.set(source.linksHeld());
    },
  });
  new Gauge({
    name: 'tramway_agent_observed_generation',
    help: 'Generation of the last assignment this agent reconciled to.',
    registers,
    collect() {
      this.set(source.observedGeneration());
    },
  });
  new Gauge({
    name: 'tramway_agent_kernel_info',
    help: '1, labelled with the kernel driver (sim, host), the profile the model runs, the multi-link profile the BTF shows, and the first rung of the attach ladder the kernel offers.',
    labelNames: ['driver', 'profile', 'probed_profile', 'attach_path'],
    registers,
    collect() {
      this.reset();
      const k = source.kernel();
      if (k === undefined) return;
      this.set(
        {
          driver: k.mode,
          profile: k.profile,
          probed_profile: k.probedProfile,
          attach_path: k.attachPath,
        },
        1,
      );
    },
  });
  new Counter({
    name: 'tramway_agent_refused_assignments_total',
    help: 'Assignments this agent refused, by reason (unsigned, bad signature, replayed, wrong node, invalid).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, value] of Object.entries(source.refusedAssignments()))
        this.inc({ reason }, value ?? 0);
    },
  });

  let processMetrics = false;
  return {
    registry,
    render: () => registry.metrics(),
    contentType: registry.contentType,
    attached: (path, seconds, failure) => {
      attachDuration.observe({ path, result: failure === undefined ? 'ok' : 'failed' }, seconds);
      if (failure === undefined) creates.inc({ path });
      else failures.inc({ path, errno: errnoLabel(failure) });
    },
    reconciled: (seconds, result) => {
      reconcileDuration.observe(seconds);
      reconciles.inc({ result });
    },
    collectProcessMetrics: () => {
      if (processMetrics) return;
      processMetrics = true;
      collectDefaultMetrics({ register: registry });
    },
  };
};
