/**
 * Issue 10, attack 2 (the phantom node) and item 5 (converged from facts), replayed against real
 * processes: a real nats-server with auth and TLS as deployed, the coordinator process (its
 * admission rule the node registry, nodes.json) and a real agent in an agent-host process. Node
 * credentials are issued without auto-approval: a node registered by facts and heartbeats alone
 * (a phantom, with a credential of its own) stays pending: it gets no assignment and no rollout
 * counts it. A node admitted but whose heartbeats claim a generation it never reported as a fact
 * (NodeReconciled) is not converged, and its wave does not complete.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetBus } from '@tramway/shared/infra';
import { connectNatsBus } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import { dataOf, ofType } from '../support/fleet-log.js';
import type { AgentHostHandle, CoordinatorHandle } from '../support/fleet-processes.js';
import {
  api,
  readLog,
  spawnAgentHost,
  spawnCoordinator,
  tracingPolicy,
} from '../support/fleet-processes.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { startNatsServer } from '../support/nats-server.js';
import type { TempDir } from '../support/temp-dir.js';
import { makeTempDir } from '../support/temp-dir.js';
import { waitUntil } from '../support/wait-until.js';

const fn = (name: string) => ({ name, ret: 'int', params: ['void *', 'void *', 'u64'] });
const KERNEL: KernelSpec = {
  profile: 'v24',
  objects: [
    { name: 'vmlinux', kind: 'vmlinux', functions: ['tcp_sendmsg', 'tcp_recvmsg'].map(fn) },
  ],
};

interface NodeRow {
  nodeId: string;
  admission: 'pending' | 'approved';
  generation: number;
  observedGeneration: number;
}
interface PolicyStatus {
  version: number;
  rollout: { state: string; waves: { index: number; nodes: string[]; state: string }[] } | null;
  nodes: { nodeId: string; state: string; generation: number; observedGeneration: number }[];
}

let nats: NatsServerHandle;
let coordinator: CoordinatorHandle;
let host: AgentHostHandle;
/** a connection per phantom node, each with its own credential (issued without auto-approval) */
const phantoms = new Map<string, FleetBus>();
const as = (nodeId: string): FleetBus => phantoms.get(nodeId)!;
const dir: TempDir = makeTempDir('tramway-sec-admission-');

const call = (method: string, path: string, body?: unknown) => api(coordinator, method, path, body);
const nodes = async (): Promise<NodeRow[]> =>
  ((await call('GET', '/v1/nodes')).body as { items: NodeRow[] }).items;
const statusOf = async (policy: string): Promise<PolicyStatus> =>
  (await call('GET', `/v1/policies/${policy}/status`)).body as PolicyStatus;

/** What a forger without any credential publishes for a node that does not exist. */
const forgedNode = async (nodeId: string, labels: Record<string, string>): Promise<void> => {
  const now = new Date().toISOString();
  await as(nodeId).publish(`tramway.facts.${nodeId}`, {
    nodeId,
    bootId: `boot-${nodeId}`,
    events: [
      {
        id: `${nodeId}/forged/registered`,
        type: 'NodeRegistered',
        schemaVersion: 1,
        data: {
          nodeId,
          labels,
          bootId: `boot-${nodeId}`,
          kernelRelease: '6.12.0',
          profile: 'v26',
          btfFingerprint: 'sha256:00',
        },
        metadata: { occurredAt: now, actor: `node:${nodeId}` },
      },
    ],
  });
};
const forgedHeartbeat = (nodeId: string, observedGeneration: number) =>
  as(nodeId).publish(`tramway.hb.${nodeId}`, {
    nodeId,
    bootId: `boot-${nodeId}`,
    observedGeneration,
    at: new Date().toISOString(),
  });

beforeAll(async () => {
  nats = await startNatsServer();
  // credentials issued without auto-approval (the registry says autoApprove: false)
  await nats.addNodes(['web-1', 'evil-1', 'ghost-1'], { autoApprove: false });
  coordinator = await spawnCoordinator({ natsUrl: nats.url, securityDir: nats.securityDir });
  host = await spawnAgentHost(
    dir.file('agents.json'),
    {
      natsUrl: nats.url,
      heartbeatMs: 200,
      requestTimeoutMs: 2000,
      kernels: { web: KERNEL },
      agents: [
        {
          nodeId: 'web-1',
          labels: { role: 'web' },
          stateDir: join(dir.path, 'web-1'),
          kernel: 'web',
        },
      ],
    },
    { nats },
  );
  for (const nodeId of ['evil-1', 'ghost-1'])
    phantoms.set(
      nodeId,
      await connectNatsBus(nats.url, { name: nodeId, credentials: nats.credentials({ nodeId }) }),
    );
}, 180_000);

afterAll(async () => {
  for (const b of phantoms.values()) await b.close();
  await host?.stop();
  await coordinator?.stop();
  await nats?.stop();
  dir.remove();
});

describe('admission and converged-from-facts against real processes', () => {
  it('lists a new node as pending until an admin approves it, recording the approver', async () => {
    await waitUntil('web-1 listed', async () => (await nodes()).some((n) => n.nodeId === 'web-1'), {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect((await nodes()).find((n) => n.nodeId === 'web-1')?.admission).toBe('pending');
    const log = await readLog(nats.url, nats.credentials());
    expect(ofType(log, 'NodeAdmissionPending', 'web-1').map((e) => e.metadata.actor)).toEqual([
      'coordinator',
    ]);
    expect(ofType(log, 'NodeApproved')).toEqual([]);

    expect(await call('POST', '/v1/nodes/web-1/approve', {})).toMatchObject({
      status: 200,
      body: { nodeId: 'web-1', admission: 'approved', changed: true },
    });
    expect((await nodes()).find((n) => n.nodeId === 'web-1')?.admission).toBe('approved');
    // the approver is the caller's identity (whatever credential the harness calls with)
    const approved = ofType(await readLog(nats.url, nats.credentials()), 'NodeApproved', 'web-1');
    expect(approved).toHaveLength(1);
    const approver = approved[0]!.metadata.actor;
    expect(approver).not.toBe('coordinator');
    expect(dataOf<{ reason: string }>(approved[0]!).reason).toBe(`approved by ${approver}`);
    // approving a node never heard of is a 404, and nothing is recorded
    expect((await call('POST', '/v1/nodes/nobody/approve', {})).status).toBe(404);
  });

  it('keeps a phantom node registered by forged facts and heartbeats pending: no assignment, not counted', async () => {
    await forgedNode('evil-1', { role: 'web' });
    for (let i = 0; i < 3; i++) await forgedHeartbeat('evil-1', 1_000);
    await waitUntil('evil-1 listed', async () =>
      (await nodes()).some((n) => n.nodeId === 'evil-1'),
    );
    expect((await nodes()).find((n) => n.nodeId === 'evil-1')).toMatchObject({
      admission: 'pending',
      generation: 0,
      observedGeneration: 0,
    });

    const applied = await call('POST', '/v1/policies', {
      policy: tracingPolicy('tcp-latency', {
        targets: ['tcp_sendmsg'],
        nodeSelector: { matchLabels: { role: 'web' } },
      }),
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(202);
    await waitUntil(
      'rollout completed',
      async () => (await statusOf('tcp-latency')).rollout?.state === 'completed',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const status = await statusOf('tcp-latency');
    expect(status.rollout?.waves.flatMap((w) => w.nodes)).toEqual(['web-1']);
    expect(status.nodes.map((n) => [n.nodeId, n.state])).toEqual([['web-1', 'converged']]);
    const log = await readLog(nats.url, nats.credentials());
    expect(ofType(log, 'AssignmentIssued', 'evil-1')).toEqual([]);
    expect(ofType(log, 'NodeAdmissionPending', 'evil-1')).toHaveLength(1);
    expect(ofType(log, 'NodeApproved', 'evil-1')).toEqual([]);
  });

  it('does not count a node converged on its heartbeats: only its NodeReconciled facts say so', async () => {
    // ghost-1 is forged, but admitted by an admin (a stolen credential, say): it is in the wave
    await forgedNode('ghost-1', { role: 'web' });
    await waitUntil('ghost-1 listed', async () =>
      (await nodes()).some((n) => n.nodeId === 'ghost-1'),
    );
    expect((await call('POST', '/v1/nodes/ghost-1/approve', {})).status).toBe(200);
    const applied = await call('POST', '/v1/policies', {
      policy: tracingPolicy('recv-latency', {
        targets: ['tcp_recvmsg'],
        nodeSelector: { matchLabels: { role: 'web' } },
      }),
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(202);
    const issued = await waitUntil('ghost-1 given generation 1', async () =>
      ofType(await readLog(nats.url, nats.credentials()), 'AssignmentIssued', 'ghost-1').at(-1),
    );
    const generation = dataOf<{ generation: number }>(issued).generation;
    // it claims, in heartbeats only, to have observed that generation (and more)
    for (const g of [generation, generation + 5]) await forgedHeartbeat('ghost-1', g);
    // a fact sent after the heartbeats: once it is in the log, the heartbeats were ingested
    await as('ghost-1').publish('tramway.facts.ghost-1', {
      nodeId: 'ghost-1',
      bootId: 'boot-ghost-1',
      events: [
        {
          id: 'ghost-1/forged/module',
          type: 'ModuleLoaded',
          schemaVersion: 1,
          data: { nodeId: 'ghost-1', module: 'nf_tables', btfObjId: 9 },
          metadata: { occurredAt: new Date().toISOString(), actor: 'node:ghost-1' },
        },
      ],
    });
    await waitUntil(
      'the fact after the heartbeats recorded',
      async () =>
        ofType(await readLog(nats.url, nats.credentials()), 'ModuleLoaded', 'ghost-1').length === 1,
    );
    // web-1 reconciled and said so (NodeReconciled): converged; ghost-1 only claimed it
    await waitUntil('web-1 converged', async () =>
      (await statusOf('recv-latency')).nodes.some(
        (n) => n.nodeId === 'web-1' && n.state === 'converged',
      ),
    );
    const status = await statusOf('recv-latency');
    expect(status.nodes.map((n) => n.nodeId).sort()).toEqual(['ghost-1', 'web-1']);
    expect(status.nodes.find((n) => n.nodeId === 'ghost-1')).toMatchObject({
      generation,
      observedGeneration: 0,
      state: 'pending',
    });
    expect(status.rollout?.state).toBe('running');
    expect(status.rollout?.waves[0]?.state).not.toBe('completed');
    expect(
      ofType(await readLog(nats.url, nats.credentials()), 'WaveCompleted').filter(
        (e) => dataOf<{ rolloutId: string }>(e).rolloutId === 'recv-latency-v1',
      ),
    ).toEqual([]);
  });
});
