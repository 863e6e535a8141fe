/**
 * One size of bench:fleet: a fresh nats-server, the coordinator process (JetStream log), N sim
 * agents spread over H agent-host processes, a policy on FUNCTIONS functions rolled out to all of
 * them, then a coordinator SIGKILL and restart on the resulting log.
 *
 * Baselines measured in the same run, on the same server and processes:
 * - convergence vs one raw NATS request/reply round trip to every node (the agents' `state`
 *   responder, same concurrency as below): the floor of any protocol that talks to each node once;
 * - restart vs the same coordinator's cold start on an empty log (process start, tsx, connect).
 */
import { join } from 'node:path';
import type { FleetBus } from '@tramway/shared/infra';
import { connectNatsBus } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { AgentHostConfig } from '../../test/support/fleet-agent-host.js';
import type {
  AgentHostHandle,
  CoordinatorHandle,
  ChildHandle,
} from '../../test/support/fleet-processes.js';
import {
  api,
  readLog,
  spawnAgentHost,
  spawnCoordinator,
  tracingPolicy,
} from '../../test/support/fleet-processes.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import type { NatsServerHandle } from '../../test/support/nats-server.js';
import { waitUntil } from '../../test/support/wait-until.js';

export interface FleetRunOptions {
  readonly nodes: number;
  readonly functions: number;
  readonly hosts: number;
  /** absolute deadline (performance.now() ms) after which the run gives up */
  readonly deadline: number;
  /** scratch directory for host configs */
  readonly dir: string;
  /** every child started, so that the driver can stop them on a signal */
  readonly children: Set<ChildHandle>;
  readonly log: (line: string) => void;
}

export interface FleetRunResult {
  readonly nodes: number;
  readonly functions: number;
  readonly hosts: number;
  readonly agentsStartMs: number;
  readonly convergeMs: number;
  readonly roundTripAllMs: number;
  readonly coldStartMs: number;
  readonly restartMs: number;
  readonly logEvents: number;
  readonly logMb: number;
}

/** REQUESTS in flight at once for the round-trip baseline */
const CONCURRENCY = 32;

/** FUNCTIONS `bench_fn_*` functions the policy matches, and 20 it does not, in vmlinux (V26). */
export const benchKernel = (functions: number): KernelSpec => ({
  profile: 'v26',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [
        ...Array.from({ length: functions }, (_, i) => `bench_fn_${i}`),
        ...Array.from({ length: 20 }, (_, i) => `other_fn_${i}`),
      ].map((name) => ({ name, ret: 'int', params: ['void *', 'u64'] })),
    },
  ],
});

const remaining = (deadline: number): number =>
  Math.max(1, Math.round(deadline - performance.now()));

const roundTripAll = async (bus: FleetBus, nodeIds: readonly string[]): Promise<number> => {
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < nodeIds.length) {
      const id = nodeIds[next++]!;
      await bus.request(`tramway.agent.${id}.state`, {}, { timeoutMs: 30_000 });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - t0;
};

export const runFleet = async (o: FleetRunOptions): Promise<FleetRunResult> => {
  let nats: NatsServerHandle | undefined;
  let coordinator: CoordinatorHandle | undefined;
  let bus: FleetBus | undefined;
  const hosts: AgentHostHandle[] = [];
  const track = <T extends ChildHandle>(h: T): T => {
    o.children.add(h);
    return h;
  };
  try {
    // plain, with one shared connection per agent host (a secured node connects as itself)
    nats = await startNatsServer({ secure: false });
    const natsUrl = nats.url;
    const env = {
      STALE_AFTER_MS: '600000',
      REQUEST_TIMEOUT_MS: '30000',
      TICK_MS: '100',
    };
    let t = performance.now();
    coordinator = track(
      await spawnCoordinator({ natsUrl, env, readyTimeoutMs: remaining(o.deadline) }),
    );
    const coldStartMs = performance.now() - t;
    o.log(`  coordinator cold start ${coldStartMs.toFixed(0)} ms`);

    const nodeIds = Array.from(
      { length: o.nodes },
      (_, i) => `bench-${String(i).padStart(4, '0')}`,
    );
    const perHost = Math.ceil(o.nodes / o.hosts);
    t = performance.now();
    const started = await Promise.all(
      Array.from({ length: o.hosts }, async (_, h) => {
        const ids = nodeIds.slice(h * perHost, (h + 1) * perHost);
        if (ids.length === 0) return undefined;
        const config: AgentHostConfig = {
          natsUrl,
          heartbeatMs: 5000,
          requestTimeoutMs: 30_000,
          sharedBus: true,
          kernels: { bench: benchKernel(o.functions) },
          agents: ids.map((nodeId) => ({ nodeId, labels: { tier: 'bench' }, kernel: 'bench' })),
        };
        return track(
          await spawnAgentHost(join(o.dir, `host-${o.nodes}-${h}.json`), config, {
            readyTimeoutMs: remaining(o.deadline),
          }),
        );
      }),
    );
    for (const h of started) if (h) hosts.push(h);
    // the current coordinator (a restart keeps its data dir, so its admin token)
    const base = {
      get url() {
        return coordinator!.url;
      },
      get token() {
        return coordinator!.token;
      },
    };
    await waitUntil(
      `${o.nodes} nodes registered`,
      async () =>
        ((await api(base, 'GET', '/v1/nodes?limit=1000')).body as { items: unknown[] }).items
          .length === o.nodes,
      { timeoutMs: remaining(o.deadline), intervalMs: 200 },
    );
    const agentsStartMs = performance.now() - t;
    o.log(`  ${o.nodes} agents registered in ${agentsStartMs.toFixed(0)} ms`);

    bus = await connectNatsBus(natsUrl, { name: 'bench-fleet' });
    const roundTripAllMs = await roundTripAll(bus, nodeIds);
    o.log(`  baseline: one state round trip to every node ${roundTripAllMs.toFixed(0)} ms`);

    const converged = async (what: string): Promise<void> => {
      const outcome = await waitUntil(
        what,
        async () => {
          const s = await api(base, 'GET', '/v1/policies/bench-policy/status');
          if (s.status !== 200) return false;
          const body = s.body as { rollout: { state: string }; nodes: { state: string }[] };
          if (body.rollout.state === 'held' || body.rollout.state === 'rolled-back') {
            const states = new Map<string, number>();
            for (const n of body.nodes) states.set(n.state, (states.get(n.state) ?? 0) + 1);
            return `rollout ${body.rollout.state}: nodes ${JSON.stringify(Object.fromEntries(states))}`;
          }
          return (
            body.rollout.state === 'completed' &&
            body.nodes.length === o.nodes &&
            body.nodes.every((n) => n.state === 'converged')
          );
        },
        { timeoutMs: remaining(o.deadline), intervalMs: 100 },
      );
      // a held rollout stops short of completion: waiting longer cannot help
      if (typeof outcome === 'string') throw new Error(`${what}: ${outcome}`);
    };
    t = performance.now();
    const applied = await api(base, 'POST', '/v1/policies', {
      policy: tracingPolicy('bench-policy', {
        targets: ['bench_fn_*'],
        nodeSelector: { matchLabels: { tier: 'bench' } },
      }),
    });
    if (applied.status !== 202) throw new Error(`apply refused: ${JSON.stringify(applied.body)}`);
    await converged(`${o.nodes} nodes converged`);
    const convergeMs = performance.now() - t;
    o.log(`  converged in ${convergeMs.toFixed(0)} ms`);

    const events = await readLog(natsUrl);
    const logEvents = events.length;
    const logMb = Buffer.byteLength(JSON.stringify(events)) / 1e6;

    await coordinator.stop('SIGKILL');
    o.children.delete(coordinator);
    t = performance.now();
    coordinator = track(
      await spawnCoordinator({
        natsUrl,
        env,
        port: coordinator.port,
        dataDir: coordinator.dataDir,
        readyTimeoutMs: remaining(o.deadline),
      }),
    );
    await converged('status replayed after restart');
    const restartMs = performance.now() - t;
    o.log(`  restart (replay of ${logEvents} events) ${restartMs.toFixed(0)} ms`);
    return {
      nodes: o.nodes,
      functions: o.functions,
      hosts: hosts.length,
      agentsStartMs,
      convergeMs,
      roundTripAllMs,
      coldStartMs,
      restartMs,
      logEvents,
      logMb,
    };
  } finally {
    await bus?.close().catch(() => undefined);
    for (const h of hosts) {
      await h.stop('SIGTERM');
      o.children.delete(h);
    }
    if (coordinator) {
      await coordinator.stop('SIGTERM');
      o.children.delete(coordinator);
    }
    await nats?.stop();
  }
};
