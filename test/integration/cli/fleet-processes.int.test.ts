/**
 * Separate processes over a real nats-server (issue 5, "Three ways to run it"): the coordinator
 * and two agents started with the root scripts `npm run dev:coordinator` / `npm run dev:agent`
 * (tsx, their main.ts reading NATS_URL etc.), a policy applied and followed through the CLI's HTTP
 * client until every node converged.
 */
import { testAssignmentKeyFiles } from '../../support/assignment-keys.js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoordinatorClient } from '../../../services/cli/src/fleet/coordinator-client.js';
import { createCoordinatorClient } from '../../../services/cli/src/fleet/coordinator-client.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { freePort, startNatsServer } from '../../support/nats-server.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output: string;
}

let nats: NatsServerHandle;
let dir: TempDir;
let client: CoordinatorClient;
const procs: Proc[] = [];

/** `npm run SCRIPT` in its own process group (so that stopping it stops tsx and node too). */
const npmRun = (name: string, script: string, env: Record<string, string>): Proc => {
  const child = spawn('npm', ['run', '--silent', script], {
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      // the coordinator signs with the tests' key, agents check with it
      TRAMWAY_SECURITY_DIR: testAssignmentKeyFiles().dir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const proc: Proc = {
    name,
    child,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    output: '',
  };
  child.stdout?.on('data', (c: Buffer) => (proc.output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (proc.output += c.toString()));
  procs.push(proc);
  return proc;
};

const stop = async (proc: Proc): Promise<void> => {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  process.kill(-proc.child.pid!, 'SIGTERM');
  await proc.exited;
};

beforeAll(async () => {
  nats = await startNatsServer({ nodes: ['web-1', 'web-2'] });
  dir = makeTempDir('tramway-processes-');
  const port = await freePort();
  npmRun('coordinator', 'dev:coordinator', {
    NATS_URL: nats.url,
    TRAMWAY_SECURITY_DIR: nats.securityDir!,
    HTTP_PORT: String(port),
    SQLITE_PATH: dir.file('coordinator.sqlite'),
    TICK_MS: '100',
    DATA_DIR: dir.file('coordinator'),
  });
  // the coordinator's first start writes its admin token into DATA_DIR
  const token = await waitUntil(
    'admin token written',
    () =>
      existsSync(dir.file('coordinator/admin.token'))
        ? readFileSync(dir.file('coordinator/admin.token'), 'utf8').trim()
        : undefined,
    { timeoutMs: 40_000, intervalMs: 200 },
  );
  client = createCoordinatorClient({ url: `http://127.0.0.1:${port}`, token });
  await waitUntil('coordinator HTTP API', async () => (await client.nodes()).ok, {
    timeoutMs: 40_000,
    intervalMs: 200,
  });
  for (const [id, kernel] of [
    ['web-1', 'web-v24'],
    ['web-2', 'web-v26'],
  ] as const) {
    npmRun(id, 'dev:agent', {
      NODE_ID: id,
      NODE_LABELS: `role=web,node=${id}`,
      NATS_URL: nats.url,
      TRAMWAY_SECURITY_DIR: nats.securityDir!,
      STATE_DIR: dir.file(id),
      SIM_KERNEL: `examples/fleet/kernels/${kernel}.kernel.yaml`,
      HEARTBEAT_MS: '200',
    });
  }
}, 90_000);

afterAll(async () => {
  for (const p of procs) await stop(p);
  await nats?.stop();
  dir?.remove();
});

describe('coordinator and agents as processes over nats-server', () => {
  it('registers both agents and converges a policy applied through the HTTP client', async () => {
    const nodes = await waitUntil(
      'two nodes registered',
      async () => {
        const r = await client.nodes();
        return r.ok && r.body.length === 2 ? r.body : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    );
    expect(nodes.map((n) => [n.nodeId, n.profile, n.labels['role']])).toEqual([
      ['web-1', 'v24', 'web'],
      ['web-2', 'v26', 'web'],
    ]);

    // the example pauses between waves for `npm start` to show; no need to wait here
    const policy = readFileSync('examples/policies/tcp-latency.yaml', 'utf8').replace(
      /pauseSeconds: \d+/,
      'pauseSeconds: 0',
    );
    const plan = await client.plan(policy);
    expect(
      plan.ok && plan.body.nodes.map((p) => [p.nodeId, p.counts.attach, p.counts.pending]),
    ).toEqual([
      ['web-1', 6, 0],
      ['web-2', 4, 2],
    ]);
    const applied = await client.apply(policy);
    expect(applied.ok && applied.status).toBe(202);

    const status = await waitUntil(
      'every node converged',
      async () => {
        const r = await client.status('tcp-latency');
        return r.ok && r.body.rollout?.state === 'completed' ? r.body : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    );
    expect(status.nodes.map((n) => [n.nodeId, n.state, n.functions.attached])).toEqual([
      ['web-1', 'converged', 6],
      ['web-2', 'converged', 4],
    ]);

    const loaded = await client.module('web-2', 'nf_tables', 'load');
    expect(loaded.ok && loaded.body).toEqual({ ok: true });
    await waitUntil(
      'web-2 pending targets attached',
      async () => {
        const r = await client.status('tcp-latency');
        return r.ok && r.body.nodes.find((n) => n.nodeId === 'web-2')?.functions.attached === 6;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  });

  it('stops every process on SIGTERM without an error or a stack trace', async () => {
    for (const p of [...procs].reverse()) {
      await stop(p);
      // npm itself ends by the signal (code null) or with the script's status
      expect([0, null], `${p.name}: ${p.output}`).toContain(await p.exited);
      expect(p.output, p.name).not.toMatch(/crashed|stopped with an error|\n\s+at /);
    }
  });
});
