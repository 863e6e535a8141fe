/**
 * Coordinator memory over many large policy versions (issue 10, attack 6: ten applies of ~1 MB
 * policies took the coordinator from 425 MB to 1-2 GB, for good):
 * `npm run bench:memory -- [--versions 10] [--targets 2000] [--json]`.
 *
 * In one process: the coordinator (SQLite log in a temp dir, in-process bus) and 3 agents on
 * sim kernels. Applies `--versions` versions of one policy, each with `--targets` patterns of
 * ~220 bytes (matching nothing, so every node's plan lists each one as unmatched), waits for
 * each rollout to complete, then collects garbage and reads the heap. Prints the heap after
 * each version and what the coordinator retains outside the log (`retained()`): bounded means
 * the heap after the last version is about that after the second, and the retained counts stay
 * flat. Needs `--expose-gc` (the npm script passes it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import { createCoordinator } from '../services/coordinator/src/app.js';
import { SPEC_CACHE_SIZE } from '../services/coordinator/src/rollout/node-assignments.js';
import type { Agent } from '../services/agent/src/index.js';
import { createAgent, createSimKernel } from '../services/agent/src/index.js';

const USAGE = 'usage: bench:memory [--versions 10] [--targets 2000] [--json]';

const parseArgs = (argv: readonly string[]) => {
  let versions = 10;
  let targets = 2000;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--versions') versions = Number(argv[++i]);
    else if (a === '--targets') targets = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (!Number.isSafeInteger(versions) || versions < 2) throw new Error(`--versions >= 2\n${USAGE}`);
  if (!Number.isSafeInteger(targets) || targets < 1 || targets > 3000)
    throw new Error(`--targets in 1..3000 (the plan bound: 10,000 entries over 3 nodes)\n${USAGE}`);
  return { versions, targets, json };
};

const SPEC: KernelSpec = {
  profile: 'v26',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [{ name: 'tcp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] }],
    },
  ],
};

const heapMb = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:memory does)');
  gc();
  gc();
  return process.memoryUsage().heapUsed / (1 << 20);
};

const main = async (): Promise<void> => {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'tramway-bench-memory-'));
  const store = await SqliteEventStore.open({ path: join(dir, 'log.sqlite'), pollIntervalMs: 0 });
  const bus = createInProcessBus({ maxPayloadBytes: 8 << 20 });
  const coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    http: { host: '127.0.0.1', port: 0 },
    options: {
      staleAfterMs: 600_000,
      tickMs: 50,
      driftIntervalMs: 0,
      requestTimeoutMs: 60_000,
    },
  });
  await coordinator.start();
  // the agents keep their state in files, as on a node: the heap measured is the coordinator's
  const agents: Agent[] = [];
  for (const nodeId of ['mem-1', 'mem-2', 'mem-3']) {
    const kernel = createSimKernel(SPEC);
    if (!kernel.ok) throw new Error(kernel.error.join('\n'));
    let n = 0;
    const agent = createAgent({
      nodeId,
      labels: { role: 'web' },
      bus,
      driver: kernel.value.driver,
      clock: { now: () => new Date() },
      ids: { newId: () => `${nodeId}-${++n}` },
      stateDir: join(dir, nodeId),
      heartbeatMs: 500,
    });
    const error = await agent.start();
    if (error) throw error;
    agents.push(agent);
  }
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${coordinator.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { rolloutId?: string } };
  };
  const rows: { version: number; specBytes: number; heapMb: number; retained: unknown }[] = [];
  const baseline = heapMb();
  try {
    for (let v = 1; v <= args.versions; v++) {
      const spec = {
        program: { name: 'tcp_lat', attach: 'fentry' },
        targets: [
          { pattern: 'tcp_sendmsg', cookie: v },
          ...Array.from({ length: args.targets - 1 }, (_, i) => ({
            pattern: `nomatch_v${v}_${i}_${'x'.repeat(200)}`,
          })),
        ],
        rollout: { waves: ['100%'], pauseSeconds: 0 },
      };
      const policy = {
        apiVersion: 'tramway.dev/v1alpha1',
        kind: 'TracingPolicy',
        metadata: { name: 'big' },
        spec,
      };
      const applied = await post('/v1/policies', { policy });
      if (applied.status !== 202)
        throw new Error(`apply v${v}: ${applied.status} ${JSON.stringify(applied.body)}`);
      for (;;) {
        const s = (await (await fetch(`${coordinator.url}/v1/policies/big/status`)).json()) as {
          rollout?: { id: string; state: string };
        };
        if (s.rollout?.id === applied.body.rolloutId && s.rollout?.state === 'completed') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      rows.push({
        version: v,
        specBytes: JSON.stringify(spec).length,
        heapMb: heapMb(),
        retained: coordinator.core.retained(),
      });
      if (!args.json)
        process.stdout.write(
          `v${v}: spec ${(rows.at(-1)!.specBytes / 1024).toFixed(0)} KB, heap ${rows.at(-1)!.heapMb.toFixed(1)} MB, retained ${JSON.stringify(rows.at(-1)!.retained)}\n`,
        );
    }
  } finally {
    for (const a of agents) await a.stop();
    await coordinator.stop();
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // the validated-spec cache (SPEC_CACHE_SIZE, 4) fills over the first versions: growth is
  // measured from the one after it is full
  const from = rows[Math.min(SPEC_CACHE_SIZE, rows.length - 2)]!;
  const second = rows[1]!.heapMb;
  const last = rows.at(-1)!.heapMb;
  const result = {
    versions: args.versions,
    targets: args.targets,
    baselineHeapMb: Number(baseline.toFixed(1)),
    heapMbAfterSecond: Number(second.toFixed(1)),
    heapMbAfterLast: Number(last.toFixed(1)),
    heapMbAfterCacheFull: Number(from.heapMb.toFixed(1)),
    growthPerVersionMb: Number(
      ((last - from.heapMb) / Math.max(1, rows.length - from.version)).toFixed(2),
    ),
    specKbPerVersion: Math.round(rows[0]!.specBytes / 1024),
    rows,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else
    process.stdout.write(
      `heap after v2 ${result.heapMbAfterSecond} MB, after v${from.version} ${result.heapMbAfterCacheFull} MB, after v${args.versions} ${result.heapMbAfterLast} MB: ${result.growthPerVersionMb} MB per version since v${from.version} (a version's spec is ${result.specKbPerVersion} KB, its plans ${args.targets} entries per node)\n`,
    );
};

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
