/**
 * Agent reconciliation cost on one node: time from `start()` to converged (assignment fetched,
 * patterns resolved, links attached and pinned, facts published) and for a policy update
 * (make-before-break), against a baseline measured in the same run: the same kernel operations
 * applied straight to the kernel model, with no agent around them. Medians of RUNS runs.
 *
 *   npx tsx --conditions=@tramway/source services/agent/bench/agent.bench.ts [--json] [--functions N] [--state-dir]
 *
 * `--state-dir`: the agent keeps its state in a fresh directory under the OS temp dir (the file
 * store, with its fsyncs) instead of in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOp, buildKernel } from '@tramway/shared/kernel';
import type { KernelOp, KernelProfile, KernelSpec, KernelState } from '@tramway/shared/kernel';
import { createInProcessBus } from '@tramway/shared/infra';
import { createAgent } from '../src/app.js';
import { createSimKernel } from '../src/kernel/sim-kernel.loader.js';
import type { AgentPolicySpec } from '../src/reconcile/agent-policy.js';
import { createFileStateStore, createMemoryStateStore } from '../src/state/agent-state.store.js';

const RUNS = 7;
const args = process.argv.slice(2);
const json = args.includes('--json');
const fnArg = args.indexOf('--functions');
const FUNCTIONS = fnArg >= 0 ? Number(args[fnArg + 1]) : 500;
const onDisk = args.includes('--state-dir');

const specOf = (profile: KernelProfile): KernelSpec => ({
  profile,
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: Array.from({ length: FUNCTIONS }, (_, i) => ({
        name: `fn_${i}`,
        ret: 'int',
        params: ['void *', 'u64'],
      })),
    },
  ],
});

/** version 2 changes the cookie: every link is replaced, make-before-break */
const policy = (strategy: 'multi' | 'per-function', cookie: string): AgentPolicySpec => ({
  program: { name: 'bench_prog', attach: 'fentry' },
  targets: [{ pattern: 'fn_*', cookie }],
  strategy,
});

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** The agent's own kernel steps, applied straight to the model: the cost of the kernel alone. */
const baseline = (profile: KernelProfile, strategy: 'multi' | 'per-function'): number => {
  const built = buildKernel(specOf(profile));
  if (!built.ok) throw new Error('spec');
  let state: KernelState = built.value;
  const run = (op: KernelOp): number => {
    const o = applyOp(state, op);
    if (!o.ok) throw new Error(`${op.op}: ${o.reason}`);
    state = o.state;
    const v = o.value;
    return v !== null && 'progId' in v ? v.progId : v !== null && 'linkId' in v ? v.linkId : 0;
  };
  const t0 = performance.now();
  const attach = (targets: string[], multi: boolean): void => {
    const prog = run({
      op: 'prog_load',
      name: 'bench_prog',
      attach: multi ? 'fentry.multi' : 'fentry',
      ...(multi && profile === 'v26' ? {} : { origin: { name: targets[0]! } }),
    });
    const link = run({
      op: 'link_create',
      prog,
      targets: targets.map((name) => ({ name })),
      cookies: targets.map(() => 1n),
    });
    run({ op: 'link_pin', link });
    run({ op: 'prog_release', prog });
  };
  const names = Array.from({ length: FUNCTIONS }, (_, i) => `fn_${i}`);
  if (strategy === 'multi') attach(names, true);
  else for (const n of names) attach([n], false);
  return performance.now() - t0;
};

const agentRun = async (
  profile: KernelProfile,
  strategy: 'multi' | 'per-function',
): Promise<{ converge: number; update: number; links: number }> => {
  const kernel = createSimKernel(specOf(profile));
  if (!kernel.ok) throw new Error(kernel.error.join('\n'));
  const bus = createInProcessBus();
  bus.respond('tramway.coord.assignment.*', () => ({
    nodeId: 'bench-1',
    generation: 1,
    policies: [{ name: 'bench', version: 1, spec: policy(strategy, '1') }],
  }));
  const dir = onDisk ? mkdtempSync(join(tmpdir(), 'tramway-agent-bench-')) : undefined;
  const agent = createAgent({
    nodeId: 'bench-1',
    labels: {},
    bus,
    driver: kernel.value.driver,
    clock: { now: () => new Date() },
    ids: { newId: () => 'bench' },
    store: dir === undefined ? createMemoryStateStore() : createFileStateStore(dir),
    heartbeatMs: 60_000,
  });
  const t0 = performance.now();
  const err = await agent.start();
  if (err || agent.observedGeneration() !== 1) throw new Error(`not converged: ${String(err)}`);
  const converge = performance.now() - t0;
  const t1 = performance.now();
  agent.assign({
    nodeId: 'bench-1',
    generation: 2,
    policies: [{ name: 'bench', version: 2, spec: policy(strategy, '2') }],
  });
  await agent.reconcile();
  const update = performance.now() - t1;
  const links = agent.heldLinks().length;
  await agent.stop();
  await bus.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  return { converge, update, links };
};

const rows: Record<string, unknown>[] = [];
for (const [profile, strategy] of [
  ['v24', 'multi'],
  ['v26', 'multi'],
  ['v24', 'per-function'],
] as const) {
  const base: number[] = [];
  const conv: number[] = [];
  const upd: number[] = [];
  let links = 0;
  for (let i = 0; i < RUNS; i++) {
    base.push(baseline(profile, strategy));
    const r = await agentRun(profile, strategy);
    conv.push(r.converge);
    upd.push(r.update);
    links = r.links;
  }
  const b = median(base);
  const c = median(conv);
  const u = median(upd);
  rows.push({
    profile,
    strategy,
    functions: FUNCTIONS,
    links,
    baselineMs: +b.toFixed(2),
    convergeMs: +c.toFixed(2),
    convergeRatio: +(c / b).toFixed(2),
    updateMs: +u.toFixed(2),
    updateRatio: +(u / b).toFixed(2),
  });
}

if (json) process.stdout.write(`${JSON.stringify({ runs: RUNS, rows }, null, 2)}\n`);
else {
  process.stdout.write(
    `agent reconcile, ${FUNCTIONS} functions, state ${onDisk ? 'on disk' : 'in memory'}, median of ${RUNS} runs (baseline: the same attaches as raw kernel-model ops)\n`,
  );
  process.stdout.write(
    'profile strategy      links  baseline ms  converge ms  ratio  update ms  ratio\n',
  );
  for (const r of rows)
    process.stdout.write(
      `${String(r['profile']).padEnd(8)}${String(r['strategy']).padEnd(14)}${String(r['links']).padStart(5)}` +
        `${String(r['baselineMs']).padStart(13)}${String(r['convergeMs']).padStart(13)}${String(r['convergeRatio']).padStart(7)}` +
        `${String(r['updateMs']).padStart(11)}${String(r['updateRatio']).padStart(7)}\n`,
    );
}
