/**
 * Separate processes over a real nats-server (issue 5, "Three ways to run it"): the coordinator
 * and two agents started with the root scripts `npm run dev:coordinator` / `npm run dev:agent`
 * (tsx, their main.ts reading NATS_URL etc.), a policy applied and followed through the CLI's HTTP
 * client until every node converged.
 */
import { testAssignmentKeyFiles } from '../../support/assignment-keys.js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SqliteEventStore } from '@tramway/shared/infra';
import { main } from '../../../services/cli/src/main.js';
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
/** `tramway` in-process (main) against the coordinator process */
let tramway: (argv: readonly string[]) => Promise<{ code: number; out: string; err: string }>;
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
  tramway = async (argv) => {
    let out = '';
    let err = '';
    const code = await main(argv, {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      cwd: dir.path,
      env: { TRAMWAY_URL: `http://127.0.0.1:${port}`, TRAMWAY_TOKEN: token, TRAMWAY_TTY: '0' },
    });
    return { code, out, err };
  };
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

  it('says unchanged for the spec in force, rolls back with its own rollout, and deletes the policy from both nodes', async () => {
    // the spec in force: the example as the first test applied it (no pause between waves)
    const v1 = readFileSync('examples/policies/tcp-latency.yaml', 'utf8').replace(
      /pauseSeconds: \d+/,
      'pauseSeconds: 0',
    );
    const file = dir.file('v1.yaml');
    writeFileSync(file, v1);
    const samePlan = await tramway(['plan', '-f', file]);
    expect(samePlan.out).toMatch(/^policy tcp-latency v1 unchanged/);
    expect(samePlan.out).toMatch(/web-1\s+\+0\s+-0\s+=6/);
    const same = await tramway(['apply', '-f', file]);
    expect(same.out).toBe(
      'unchanged: tcp-latency v1 is the spec in force (no new version, no rollout)\n',
    );
    // v2 drops the connect targets: the plan says what each node would lose
    const v2 = v1.replace(/\n\s+- pattern: 'tcp_v\[46\]_connect'\n\s+cookie: 3/, '');
    writeFileSync(dir.file('v2.yaml'), v2);
    const diff = await tramway(['plan', '-f', 'v2.yaml', '--json']);
    expect(JSON.parse(diff.out).diff[0]).toMatchObject({
      nodeId: 'web-1',
      removed: { count: 2, names: ['tcp_v4_connect', 'tcp_v6_connect'] },
      added: { count: 0 },
    });
    expect((await tramway(['apply', '-f', 'v2.yaml'])).code).toBe(0);
    await waitUntil(
      'v2 converged',
      async () => {
        const r = await client.status('tcp-latency');
        return r.ok && r.body.version === 2 && r.body.rollout?.state === 'completed';
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const back = await tramway(['rollback', 'tcp-latency', '--interval-ms', '100']);
    expect(back.code, back.err).toBe(0);
    expect(back.out).toMatch(/rolled back: 2 node\(s\) run v1 again\n$/);
    const again = await tramway(['rollback', 'tcp-latency']);
    expect([again.code, again.err]).toEqual([
      1,
      'tramway rollback: policy tcp-latency runs v1 since rollback tcp-latency-v2-rollback undid v2 (rollout tcp-latency-v2): there is nothing newer to roll back to; apply a new version first\n',
    ]);

    const deleted = await tramway([
      'policy',
      'delete',
      'tcp-latency',
      '--yes',
      '--interval-ms',
      '100',
    ]);
    expect(deleted.code, deleted.err).toBe(0);
    expect(deleted.out).toMatch(/deleted: tcp-latency released from 2 node\(s\)\n$/);
    const status = await client.status('tcp-latency');
    expect(
      status.ok && status.body.nodes.map((n) => [n.nodeId, n.state, n.functions.attached]),
    ).toEqual([
      ['web-1', 'converged', 0],
      ['web-2', 'converged', 0],
    ]);
    const list = await tramway(['policy', 'list']);
    expect(list.out).toBe('no policies\n');
    // the log keeps the deletion, with who asked
    const store = await SqliteEventStore.open({
      path: dir.file('coordinator.sqlite'),
      pollIntervalMs: 0,
    });
    const events = [];
    for await (const e of store.readAll()) events.push(e);
    await store.close();
    expect(
      events.filter((e) => e.type === 'PolicyDeleted').map((e) => [e.data, e.metadata.actor]),
    ).toEqual([
      [{ name: 'tcp-latency', version: 1, reason: 'deleted by token:admin' }, 'token:admin'],
    ]);
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
