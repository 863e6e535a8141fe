/**
 * Issue 10, attack 1 ("Forged assignment"), replayed against real processes: a real nats-server,
 * the coordinator process (JetStream log) and real agents in an agent-host process, NATS with
 * auth and TLS as deployed. The attacker holds the coordinator's NATS identity (a stolen
 * `coordinator.nk`: the only identity NATS lets publish on the agents' assign subjects) but not its
 * assignment signing key. Every forged
 * assignment (unsigned, signed with another key, a real one with its generation raised, a real
 * one for another node, a replay of a real earlier one captured off the wire, a huge epoch) is
 * refused by the agent with its error code: its kernel links do not change and the log does not
 * change. The coordinator can always take a node back with a new epoch, and a node that reports a
 * generation the coordinator never issued is taken back once, with the reason in the log, never
 * in a loop.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetBus } from '@tramway/shared/infra';
import { connectNatsBus, signAssignment } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { RecordedEvent } from '@tramway/shared/lib';
import { otherAssignmentKeys } from '../support/assignment-keys.js';
import { dataOf, nodeOf, ofType } from '../support/fleet-log.js';
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
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: ['tcp_sendmsg', 'tcp_recvmsg', 'tcp_v4_connect', 'udp_sendmsg', 'vfs_read'].map(
        fn,
      ),
    },
  ],
};
const NODES = ['web-1', 'web-2'] as const;

interface AssignmentWire {
  nodeId: string;
  epoch: number;
  generation: number;
  policies: { name: string; version: number; spec: Record<string, unknown> }[];
  signature?: { alg: string; value: string };
  [key: string]: unknown;
}
interface HeldLinks {
  observedGeneration: number;
  links: { linkId: number; policy: string | null; connections: { function: string }[] }[];
}

let nats: NatsServerHandle;
let coordinator: CoordinatorHandle;
let host: AgentHostHandle;
let attacker: FleetBus;
const dir: TempDir = makeTempDir('tramway-sec-assign-');
/** every assignment seen on the wire, as sent (the attacker listens) */
const captured: AssignmentWire[] = [];

const call = (method: string, path: string, body?: unknown) => api(coordinator, method, path, body);
const stateOf = async (nodeId: string): Promise<HeldLinks> =>
  (await attacker.request(`tramway.agent.${nodeId}.state`, {}, { timeoutMs: 5000 })) as HeldLinks;
const forge = (nodeId: string, payload: unknown) =>
  attacker.request(`tramway.agent.${nodeId}.assign`, payload, { timeoutMs: 5000 });
const rolloutCompleted = (policy: string, version: number) =>
  waitUntil(
    `${policy} v${version} rolled out`,
    async () => {
      const s = (await call('GET', `/v1/policies/${policy}/status`)).body as {
        version: number;
        rollout: { state: string } | null;
      };
      return s.version === version && s.rollout?.state === 'completed';
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
/** every event of the log once the given node reconciled `generation` (reported as a fact) */
const logOnceReconciled = (nodeId: string, generation: number) =>
  waitUntil(
    `${nodeId} reported NodeReconciled for generation ${generation}`,
    async () => {
      const log = await readLog(nats.url, nats.credentials());
      return ofType(log, 'NodeReconciled', nodeId).some(
        (e) => dataOf<{ observedGeneration: number }>(e).observedGeneration === generation,
      )
        ? log
        : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
const ids = (log: readonly RecordedEvent[]) => log.map((e) => e.id);

beforeAll(async () => {
  nats = await startNatsServer();
  coordinator = await spawnCoordinator({ natsUrl: nats.url, securityDir: nats.securityDir });
  host = await spawnAgentHost(
    dir.file('agents.json'),
    {
      natsUrl: nats.url,
      heartbeatMs: 200,
      requestTimeoutMs: 2000,
      kernels: { web: KERNEL },
      agents: NODES.map((nodeId) => ({
        nodeId,
        labels: { role: 'web' },
        stateDir: join(dir.path, nodeId),
        kernel: 'web',
      })),
    },
    { nats },
  );
  attacker = await connectNatsBus(nats.url, { name: 'attacker', credentials: nats.credentials() });
  attacker.subscribe('tramway.agent.*.assign', (m) => {
    captured.push(m.payload as AssignmentWire);
  });
  await attacker.flush();
  await waitUntil(
    'both nodes registered',
    async () =>
      ((await call('GET', '/v1/nodes')).body as { items: unknown[] }).items.length === NODES.length,
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  // v1, then v2: the attacker captures both real assignments of web-1 off the wire
  for (const [version, targets] of [
    [1, ['tcp_sendmsg']],
    [2, ['tcp_sendmsg', 'tcp_recvmsg']],
  ] as const) {
    const applied = await call('POST', '/v1/policies', {
      policy: tracingPolicy('tcp-latency', {
        targets,
        nodeSelector: { matchLabels: { role: 'web' } },
      }),
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(202);
    await rolloutCompleted('tcp-latency', version);
  }
  await waitUntil('both generations of web-1 captured', () =>
    [1, 2].every((g) => captured.some((a) => a.nodeId === 'web-1' && a.generation === g)),
  );
  for (const nodeId of NODES) await logOnceReconciled(nodeId, 2);
}, 180_000);

afterAll(async () => {
  await attacker?.close();
  await host?.stop();
  await coordinator?.stop();
  await nats?.stop();
  dir.remove();
});

describe('a forged assignment is refused by the agent, which keeps its links, and the log is unchanged', () => {
  it('refuses unsigned, foreign-signed, altered, misdirected, replayed and huge-epoch assignments', async () => {
    const realG1 = captured.find((a) => a.nodeId === 'web-1' && a.generation === 1)!;
    const realG2 = captured.find((a) => a.nodeId === 'web-1' && a.generation === 2)!;
    const realWeb2 = captured.find((a) => a.nodeId === 'web-2' && a.generation === 2)!;
    expect(realG2.signature?.alg).toBe('ed25519');
    const before = {
      web1: await stateOf('web-1'),
      log: await readLog(nats.url, nats.credentials()),
    };
    expect(before.web1.observedGeneration).toBe(2);
    expect(before.web1.links.flatMap((l) => l.connections.map((c) => c.function)).sort()).toEqual([
      'tcp_recvmsg',
      'tcp_sendmsg',
    ]);

    // the attack of the issue: another program on every function, generation 1,000,000
    const evil = {
      nodeId: 'web-1',
      epoch: 0,
      generation: 1_000_000,
      policies: [
        {
          name: 'tcp-latency',
          version: 99,
          spec: {
            program: { name: 'evil', attach: 'fentry' },
            targets: [{ pattern: '*' }],
          },
        },
      ],
    };
    const attempts: [string, unknown, string][] = [
      ['unsigned, generation 1,000,000', evil, 'unsigned'],
      [
        'signed with another key',
        signAssignment(otherAssignmentKeys().privateKey, evil),
        'bad-signature',
      ],
      [
        'a real one with its generation raised',
        { ...realG2, generation: 1_000_000 },
        'bad-signature',
      ],
      [
        'a real one with its policies replaced',
        { ...realG2, policies: evil.policies },
        'bad-signature',
      ],
      ['unsigned, epoch 1,000,000', { ...evil, epoch: 1_000_000, generation: 1 }, 'unsigned'],
      ["web-2's real assignment sent to web-1", realWeb2, 'wrong-node'],
      ['a replay of the real generation 1 captured off the wire', realG1, 'replayed'],
    ];
    for (const [what, payload, error] of attempts) {
      const reply = (await forge('web-1', payload)) as { accepted: boolean; error?: string };
      expect(reply, what).toMatchObject({ accepted: false, error, epoch: 0, generation: 2 });
    }
    // the very assignment the node holds, sent again, is answered as held and changes nothing
    expect(await forge('web-1', realG2)).toEqual({ accepted: true, epoch: 0, generation: 2 });

    // Then the kernel holds exactly the links it held, and the log is as it was
    const after = await stateOf('web-1');
    expect(after.observedGeneration).toBe(2);
    expect(after.links).toEqual(before.web1.links);
    expect(ids(await readLog(nats.url, nats.credentials()))).toEqual(ids(before.log));
  });

  it('lets the coordinator take a node back with a new epoch, after which the old epoch is refused', async () => {
    const realG2 = captured.find((a) => a.nodeId === 'web-1' && a.generation === 2)!;
    const reset = await call('POST', '/v1/nodes/web-1/reset', { reason: 'security test' });
    expect(reset).toMatchObject({
      status: 200,
      body: { nodeId: 'web-1', epoch: 1, generation: 3 },
    });
    const log = await logOnceReconciled('web-1', 3);
    const takenBack = ofType(log, 'NodeTakenBack', 'web-1');
    // recorded as the caller who asked (the same identity that applied the policy)
    const caller = ofType(log, 'PolicyApplied')[0]!.metadata.actor;
    expect(caller).not.toBe('coordinator');
    expect(takenBack.map((e) => [e.data, e.metadata.actor])).toEqual([
      [{ nodeId: 'web-1', epoch: 1, reason: 'security test' }, caller],
    ]);
    expect(
      ofType(log, 'AssignmentIssued', 'web-1')
        .map((e) => dataOf<{ generation: number; epoch?: number }>(e))
        .map((d) => [d.generation, d.epoch ?? 0]),
    ).toEqual([
      [1, 0],
      [2, 0],
      [3, 1],
    ]);
    expect((await stateOf('web-1')).observedGeneration).toBe(3);
    // the earlier epoch's real assignment is now a replay
    expect(await forge('web-1', realG2)).toMatchObject({
      accepted: false,
      error: 'replayed',
      epoch: 1,
      generation: 3,
    });
  });

  it('takes back, once, a node that reports a generation the coordinator never issued (no repair loop)', async () => {
    // a node that ran a forged assignment before it had a verify key reports it as a fact
    const before = await readLog(nats.url, nats.credentials());
    const issuedBefore = ofType(before, 'AssignmentIssued', 'web-2').length;
    // (web-2's own identity: only it may publish web-2's facts)
    const web2 = await connectNatsBus(nats.url, {
      name: 'web-2-lying',
      credentials: nats.credentials({ nodeId: 'web-2' }),
    });
    const now = new Date().toISOString();
    for (let i = 0; i < 3; i++)
      await web2.publish('tramway.facts.web-2', {
        nodeId: 'web-2',
        bootId: 'boot-forged',
        events: [
          {
            id: `web-2/forged/reconciled/${i}`,
            type: 'NodeReconciled',
            schemaVersion: 1,
            data: { nodeId: 'web-2', observedGeneration: 1_000_000, policies: [] },
            metadata: { occurredAt: now, actor: 'node:web-2' },
          },
        ],
      });
    await web2.close();
    // the coordinator takes the node back in a new epoch; the real agent adopts it (generation 3)
    const log = await logOnceReconciled('web-2', 3);
    const takenBack = ofType(log, 'NodeTakenBack', 'web-2');
    expect(takenBack.map((e) => e.data)).toEqual([
      {
        nodeId: 'web-2',
        epoch: 1,
        claimedGeneration: 1_000_000,
        reason:
          'the node reported generation 1000000, which the coordinator never issued (latest issued: 2)',
      },
    ]);
    expect(takenBack[0]!.metadata.actor).toBe('coordinator');
    // one new generation, not a loop of drift repairs
    const issued = ofType(log, 'AssignmentIssued', 'web-2');
    expect(issued.length - issuedBefore).toBe(1);
    expect(dataOf<{ epoch: number }>(issued.at(-1)!).epoch).toBe(1);
    expect(ofType(log, 'DriftFound', 'web-2')).toEqual([]);
    // and once the real agent reported generation 3, the claim is answered: the coordinator's
    // later ticks decide nothing more for it (the rollout stays completed, no other take-back)
    const status = (await call('GET', '/v1/policies/tcp-latency/status')).body as {
      rollout: { state: string };
      nodes: { nodeId: string; state: string; observedGeneration: number }[];
    };
    expect(status.rollout.state).toBe('completed');
    expect(nodeOf(takenBack[0]!)).toBe('web-2');
    expect(
      ofType(await readLog(nats.url, nats.credentials()), 'NodeTakenBack', 'web-2'),
    ).toHaveLength(1);
  });
});
