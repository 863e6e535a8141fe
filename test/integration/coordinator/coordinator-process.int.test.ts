/**
 * The coordinator as its own process (services/coordinator/src/main.ts) over a real nats-server,
 * with the JetStream log, and real sim agents in this process on their own NATS connections.
 * Killed with SIGKILL between two waves, a new process replays the log and finishes the rollout.
 */
import { testAssignmentKeyFiles } from '../../support/assignment-keys.js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamEventStore, connectNatsBus } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { Agent } from '../../../services/agent/src/index.js';
import { startSimAgent } from '../../support/sim-agent.js';
import { freePort, startNatsServer } from '../../support/nats-server.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const SPEC: KernelSpec = {
  profile: 'v24',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [
        { name: 'tcp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'tcp_recvmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
      ],
    },
  ],
};

let nats: NatsServerHandle;
let port: number;
let child: ChildProcess | undefined;
const buses: FleetBus[] = [];
const agents: Agent[] = [];
let output = '';
const dataDir: TempDir = makeTempDir('tramway-coordinator-process-');
/** the admin token the coordinator wrote into its DATA_DIR (the same across restarts) */
const auth = (): { authorization: string } => ({
  authorization: `Bearer ${readFileSync(dataDir.file('admin.token'), 'utf8').trim()}`,
});

const spawnCoordinator = async (): Promise<ChildProcess> => {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@tramway/source', 'services/coordinator/src/main.ts'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NATS_URL: nats.url,
        TRAMWAY_SECURITY_DIR: nats.securityDir!,
        STORE: 'jetstream',
        HTTP_PORT: String(port),
        TICK_MS: '50',
        DRIFT_INTERVAL_MS: '0',
        LOG_LEVEL: 'info',
        TRAMWAY_ASSIGNMENT_SIGNING_KEY: testAssignmentKeyFiles().signingKey,
        DATA_DIR: dataDir.path,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitUntil(
    'coordinator serving',
    async () =>
      existsSync(dataDir.file('admin.token')) &&
      (await fetch(`http://127.0.0.1:${port}/v1/nodes`, { headers: auth() }).catch(() => undefined))
        ?.ok,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return proc;
};

const killed = (proc: ChildProcess, signal: NodeJS.Signals): Promise<void> =>
  new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });

const http = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...auth() },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as ReturnType<typeof JSON.parse> };
};

beforeAll(async () => {
  nats = await startNatsServer({ nodes: ['node-1', 'node-2', 'node-3'] });
  port = await freePort();
  child = await spawnCoordinator();
  for (const nodeId of ['node-1', 'node-2', 'node-3']) {
    const bus = await connectNatsBus(nats.url, {
      name: nodeId,
      credentials: nats.credentials({ nodeId }),
    });
    buses.push(bus);
    agents.push(await startSimAgent({ nodeId, bus, spec: SPEC, heartbeatMs: 100 }));
  }
}, 60_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
  for (const b of buses) await b.close();
  if (child) await killed(child, 'SIGTERM');
  await nats?.stop();
  dataDir.remove();
});

describe('coordinator process over NATS with the JetStream log', () => {
  it('survives SIGKILL between waves and converges with no link attached twice', async () => {
    await waitUntil(
      '3 nodes registered',
      async () => (await http('GET', '/v1/nodes')).body.items.length === 3,
      {
        timeoutMs: 20_000,
      },
    );
    const applied = await http('POST', '/v1/policies', {
      policy: {
        apiVersion: 'tramway.dev/v1alpha1',
        kind: 'TracingPolicy',
        metadata: { name: 'tcp-latency' },
        spec: {
          program: { name: 'tcp_lat', attach: 'fentry' },
          targets: [{ pattern: 'tcp_*' }],
          rollout: { waves: [1, '100%'], pauseSeconds: 2 },
        },
      },
    });
    expect(applied.status).toBe(202);
    await waitUntil(
      'wave 0 completed',
      async () =>
        (await http('GET', '/v1/policies/tcp-latency/status')).body.rollout?.waves[0]?.state ===
        'completed',
      { timeoutMs: 20_000 },
    );
    // When the coordinator is killed during the pause and started again
    await killed(child!, 'SIGKILL');
    child = await spawnCoordinator();
    // Then it resumes and completes the rollout
    const status = await waitUntil(
      'rollout completed',
      async () => {
        const s = (await http('GET', '/v1/policies/tcp-latency/status')).body;
        return s.rollout?.state === 'completed' ? s : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(status.nodes.map((x: { state: string }) => x.state)).toEqual([
      'converged',
      'converged',
      'converged',
    ]);
    // And the log holds one link per node, one assignment per node, no event twice
    const store = await JetStreamEventStore.open({
      servers: nats.url,
      credentials: nats.credentials(),
    });
    try {
      const events = [];
      for await (const e of store.readAll()) events.push(e);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      expect(events.filter((e) => e.type === 'AssignmentIssued')).toHaveLength(3);
      expect(events.filter((e) => e.type === 'LinkCreated')).toHaveLength(3);
      expect(events.find((e) => e.type === 'PolicyApplied')?.metadata.actor).toBe('token:admin');
    } finally {
      await store.close();
    }
    expect(agents.map((a) => a.heldLinks().length)).toEqual([1, 1, 1]);
  });
});
