/**
 * The in-process baseline of bench:fleet: the same fleet (N sim agents on the same kernel, the
 * same policy) in the embedded mode (services/embedded: coordinator, agents, in-process bus and
 * SQLite log in this one process). Converge time here is the fleet's own work without NATS,
 * serialization across processes or the JetStream log; the ratio against it is their cost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedFleet } from '../../services/embedded/src/index.js';
import { api, tracingPolicy } from '../../test/support/fleet-processes.js';
import { waitUntil } from '../../test/support/wait-until.js';
import { benchKernel } from './fleet-run.js';

export interface InProcessResult {
  readonly nodes: number;
  /** undefined when it did not converge within its cap (see `problem`) */
  readonly convergeMs: number | undefined;
  readonly problem?: string;
}

export const runInProcess = async (o: {
  readonly nodes: number;
  readonly functions: number;
  readonly deadline: number;
  readonly dir: string;
  /** at most this long for the convergence, so that the run over NATS keeps its time */
  readonly capMs: number;
}): Promise<InProcessResult> => {
  const dataDir = mkdtempSync(join(o.dir, `embedded-${o.nodes}-`));
  const kernel = benchKernel(o.functions);
  const remaining = (): number => Math.max(1, Math.round(o.deadline - performance.now()));
  const fleet = await startEmbeddedFleet({
    dataDir,
    port: 0,
    heartbeatMs: 1000,
    registerTimeoutMs: remaining(),
    nodes: Array.from({ length: o.nodes }, (_, i) => ({
      id: `bench-${String(i).padStart(4, '0')}`,
      labels: { tier: 'bench' },
      kernel,
      multiLink: true,
      kernelFile: '(bench kernel)',
    })),
  });
  try {
    const t = performance.now();
    const applied = await api({ url: fleet.url, token: fleet.adminToken }, 'POST', '/v1/policies', {
      policy: tracingPolicy('bench-policy', {
        targets: ['bench_fn_*'],
        nodeSelector: { matchLabels: { tier: 'bench' } },
      }),
    });
    if (applied.status !== 202) throw new Error(`apply refused: ${JSON.stringify(applied.body)}`);
    let last = '';
    const done = await waitUntil(
      `${o.nodes} in-process nodes converged`,
      async () => {
        const s = await api(
          { url: fleet.url, token: fleet.adminToken },
          'GET',
          '/v1/policies/bench-policy/status',
        );
        const body = s.body as { rollout?: { state: string }; nodes?: { state: string }[] };
        const states = new Map<string, number>();
        for (const n of body.nodes ?? []) states.set(n.state, (states.get(n.state) ?? 0) + 1);
        last = `rollout ${body.rollout?.state ?? '?'}, nodes ${JSON.stringify(Object.fromEntries(states))}`;
        if (body.rollout?.state === 'held' || body.rollout?.state === 'rolled-back') return last;
        return (
          body.rollout?.state === 'completed' &&
          body.nodes?.length === o.nodes &&
          body.nodes.every((n) => n.state === 'converged')
        );
      },
      { timeoutMs: Math.min(remaining(), o.capMs), intervalMs: 100 },
    ).catch(() => false);
    if (done !== true)
      return {
        nodes: o.nodes,
        convergeMs: undefined,
        problem:
          typeof done === 'string'
            ? `stopped short: ${done}`
            : `not converged after ${Math.round(o.capMs)} ms: ${last}`,
      };
    return { nodes: o.nodes, convergeMs: performance.now() - t };
  } finally {
    await fleet.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};
