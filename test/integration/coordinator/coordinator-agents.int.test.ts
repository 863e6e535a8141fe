/**
 * The coordinator with the real agents of services/agent on simulated kernels (the kernel model),
 * in one process: real in-process bus, real SQLite log, real HTTP API.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { RecordedEvent } from '@tramway/shared/lib';
import type { Agent } from '../../../services/agent/src/index.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { main as cli } from '../../../services/cli/src/main.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { apiCaller, startTestCoordinator } from '../../support/test-coordinator.js';
import { waitUntil } from '../../support/wait-until.js';
import { startSimAgent } from '../../support/sim-agent.js';

const SPEC: KernelSpec = {
  profile: 'v26',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [
        { name: 'tcp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'tcp_recvmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'udp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
      ],
    },
    {
      name: 'nf_tables',
      kind: 'module',
      loaded: false,
      functions: [
        { name: 'nft_do_chain', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'nft_lookup', ret: 'int', params: ['void *', 'void *', 'u64'] },
      ],
    },
  ],
};

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator;
let agents: Agent[];

const startCoordinator = (): Promise<Coordinator> =>
  startTestCoordinator({ bus, store, http: true });

const startAgent = async (nodeId: string): Promise<Agent> => {
  const agent = await startSimAgent({ nodeId, bus, spec: SPEC, heartbeatMs: 50 });
  agents.push(agent);
  return agent;
};

/** A call as the holder of token `who` (an operator; default `ops`). */
const http = apiCaller(() => coordinator);

const policy = (patterns: string[], rollout: Record<string, unknown> = {}) => ({
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name: 'tcp-latency' },
  spec: {
    program: { name: 'tcp_lat', attach: 'fentry' },
    targets: patterns.map((pattern) => ({ pattern })),
    rollout,
  },
});

const allEvents = async (): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
};

const completed = () =>
  waitUntil('rollout completed', async () => {
    const s = (await http('GET', '/v1/policies/tcp-latency/status')).body;
    return s.rollout?.state === 'completed' ? s : undefined;
  });

beforeEach(async () => {
  dir = makeTempDir('tramway-coord-agents-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  agents = [];
  coordinator = await startCoordinator();
  for (const id of ['node-a', 'node-b', 'node-c']) await startAgent(id);
  await waitUntil('registered', () => Object.keys(coordinator.core.fleet().nodes).length === 3);
});

afterEach(async () => {
  for (const a of agents) await a.stop();
  await coordinator.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

describe('coordinator with real sim agents', () => {
  it('plans on the nodes, rolls out in waves and converges every node', async () => {
    const plan = await http('POST', '/v1/plan', { policy: policy(['tcp_*']) });
    expect(plan.status).toBe(200);
    expect(plan.body.nodes.map((p: { counts: { attach: number } }) => p.counts.attach)).toEqual([
      2, 2, 2,
    ]);
    const applied = await http('POST', '/v1/policies', {
      policy: policy(['tcp_*'], { waves: [1, '100%'] }),
    });
    expect(applied.status).toBe(202);
    const s = await completed();
    expect(s.rollout.waves.map((w: { nodes: string[] }) => w.nodes)).toEqual([
      ['node-a'],
      ['node-b', 'node-c'],
    ]);
    expect(
      s.nodes.map((x: { state: string; functions: { attached: number } }) => [
        x.state,
        x.functions.attached,
      ]),
    ).toEqual([
      ['converged', 2],
      ['converged', 2],
      ['converged', 2],
    ]);
  });

  it('attaches pending module targets once the module is loaded through the API', async () => {
    await http('POST', '/v1/policies', { policy: policy(['tcp_*', 'nf_tables:nft_*']) });
    await completed();
    const loaded = await http('POST', '/v1/nodes/node-b/modules/nf_tables/load');
    expect(loaded).toEqual({ status: 200, body: { ok: true } });
    await waitUntil('nft functions attached on node-b', () => {
      const links = Object.values(coordinator.core.fleet().nodes['node-b']!.links);
      return links.flatMap((l) => l.connections).some((c) => c.function === 'nft_do_chain');
    });
    const nodeA = Object.values(coordinator.core.fleet().nodes['node-a']!.links);
    expect(nodeA.flatMap((l) => l.connections).map((c) => c.function)).not.toContain(
      'nft_do_chain',
    );
  });

  it('agents reconcile to the plans the coordinator recorded: no re-plan until a module loads, then one, with its reason', async () => {
    // Given a policy applied on three nodes, its plan recorded for each
    await http('POST', '/v1/policies', { policy: policy(['tcp_*', 'nf_tables:nft_*']) });
    await completed();
    const ofType = async (type: string) => (await allEvents()).filter((e) => e.type === type);
    expect(
      (await ofType('PlanRecorded')).map((e) => (e.data as { nodeId: string }).nodeId).sort(),
    ).toEqual(['node-a', 'node-b', 'node-c']);
    expect(agents.map((a) => a.plans().map((p) => p.source))).toEqual([
      ['assigned'],
      ['assigned'],
      ['assigned'],
    ]);
    expect(await ofType('NodeReplanned')).toEqual([]);

    // When nf_tables loads on node-b
    expect(await http('POST', '/v1/nodes/node-b/modules/nf_tables/load')).toEqual({
      status: 200,
      body: { ok: true },
    });
    await waitUntil(
      'NodeReplanned recorded',
      async () => (await ofType('NodeReplanned')).length > 0,
    );
    await agents[1]!.reconcile();

    // Then node-b re-planned once, saying why, and the others kept their recorded plans
    const replanned = await ofType('NodeReplanned');
    expect(replanned.map((e) => e.data)).toMatchObject([
      {
        nodeId: 'node-b',
        policy: 'tcp-latency',
        policyVersion: 1,
        reason: 'module nf_tables loaded',
      },
    ]);
    expect(agents.map((a) => a.plans()[0]?.source)).toEqual(['assigned', 'replanned', 'assigned']);
  });

  it("status: pending and rejected come from the nodes' reconcile outcomes in the log, across a restart and a module load", async () => {
    type Status = { nodes: { nodeId: string; functions: Record<string, number> }[] };
    const functionsOf = async () =>
      ((await http('GET', '/v1/policies/tcp-latency/status')).body as Status).nodes.map((n) => [
        n.nodeId,
        n.functions,
      ]);
    // Given a policy whose nf_tables targets wait for their module on every node
    await http('POST', '/v1/policies', { policy: policy(['tcp_*', 'nf_tables:nft_*']) });
    await completed();
    const waiting = { attached: 2, pending: 2, rejected: 0 };
    await waitUntil('pending reported', async () =>
      (await functionsOf()).every(([, f]) => JSON.stringify(f) === JSON.stringify(waiting)),
    );
    // When the coordinator restarts (nothing in memory), the status is the same, from the log
    await coordinator.stop();
    coordinator = await startCoordinator();
    await completed();
    expect(await functionsOf()).toEqual([
      ['node-a', waiting],
      ['node-b', waiting],
      ['node-c', waiting],
    ]);
    const reconciled = (await allEvents()).filter((e) => e.type === 'NodeReconciled');
    expect(reconciled.length).toBeGreaterThanOrEqual(3);
    expect(reconciled.at(-1)?.metadata.actor).toMatch(/^agent:node-/);
    // When node-b loads nf_tables, its pending targets attach and its status follows
    expect((await http('POST', '/v1/nodes/node-b/modules/nf_tables/load')).status).toBe(200);
    await waitUntil('node-b status updated', async () =>
      (await functionsOf()).some(
        ([id, f]) =>
          id === 'node-b' &&
          JSON.stringify(f) === JSON.stringify({ attached: 4, pending: 0, rejected: 0 }),
      ),
    );
    expect((await functionsOf()).filter(([id]) => id !== 'node-b')).toEqual([
      ['node-a', waiting],
      ['node-c', waiting],
    ]);
  });

  it('who did it: each link connected or released names its agent and the person it acted for', async () => {
    // Given alice applies v1, bob applies v2 (make-before-break replaces v1), carol rolls back
    await http('POST', '/v1/policies', { policy: policy(['tcp_*']) }, 'alice');
    await completed();
    const v2 = policy(['tcp_*', 'udp_*']);
    const applied = await http('POST', '/v1/policies', { policy: v2 }, 'bob');
    expect(applied.status).toBe(202);
    await completed();
    expect(
      (await http('POST', '/v1/policies/tcp-latency/rollback', { reason: 'noisy' }, 'carol'))
        .status,
    ).toBe(200);
    await waitUntil('rolled back on every node', async () => {
      const s = (await http('GET', '/v1/policies/tcp-latency/status')).body;
      return s.rollout?.id === `${applied.body.rolloutId}-rollback` &&
        s.rollout?.state === 'completed' &&
        agents.every((a) => a.heldLinks().every((l) => l.policyVersion === 1))
        ? s
        : undefined;
    });
    await waitUntil('facts recorded', async () =>
      (await allEvents()).some(
        (e) =>
          e.type === 'LinkReleased' &&
          e.metadata.correlationId === `${applied.body.rolloutId}-rollback`,
      ),
    );
    // Then the agents' facts carry the rollout as correlation and their assignment as cause
    const events = await allEvents();
    const created = events.filter((e) => e.type === 'LinkCreated');
    const issued = new Map(
      events.filter((e) => e.type === 'AssignmentIssued').map((e) => [e.id, e]),
    );
    for (const e of created) {
      expect(e.metadata.actor).toMatch(/^agent:node-/);
      const cause = issued.get(e.metadata.causationId ?? '');
      expect(cause?.metadata.correlationId).toBe(e.metadata.correlationId);
    }
    const initiators = created.map(
      (e) => (issued.get(e.metadata.causationId!)!.data as { initiatedBy: string }).initiatedBy,
    );
    expect(new Set(initiators)).toEqual(new Set(['token:alice', 'token:bob', 'token:carol']));

    // And `tramway audit function` shows the agent and the person, in the table and --json
    const run = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await cli(argv, {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        cwd: dir.path,
        env: {},
      });
      return { code, stdout, stderr };
    };
    const rm = ['--db', dir.file('log.sqlite'), '--read-model', dir.file('rm.sqlite')];
    const asJson = await run(
      'audit',
      'function',
      'udp_sendmsg',
      '--node',
      'node-a',
      ...rm,
      '--json',
    );
    expect(asJson.stderr).toBe('');
    expect(asJson.code).toBe(0);
    const entries = JSON.parse(asJson.stdout) as {
      action: string;
      actor: string;
      onBehalfOf: string | null;
    }[];
    expect(entries.map((e) => [e.action, e.actor, e.onBehalfOf])).toEqual([
      ['connected', 'agent:node-a', 'token:bob'],
      ['disconnected', 'agent:node-a', 'token:carol'],
    ]);
    const table = await run('audit', 'function', 'udp_sendmsg', '--node', 'node-a', ...rm);
    expect(table.stdout).toMatch(/connected .*agent:node-a for token:bob/);
    expect(table.stdout).toMatch(/disconnected .*agent:node-a for token:carol/);
    const program = await run('audit', 'program', 'tcp_lat', '--node', 'node-b', ...rm, '--json');
    const rows = JSON.parse(program.stdout) as {
      type: string;
      actor: string;
      onBehalfOf: string | null;
    }[];
    expect(rows.filter((r) => r.type === 'LinkCreated').map((r) => r.onBehalfOf)).toEqual([
      'token:alice',
      'token:bob',
      'token:carol',
    ]);
    const policyRows = JSON.parse(
      (await run('audit', 'policy', 'tcp-latency', ...rm, '--json')).stdout,
    ) as { type: string; actor: string; onBehalfOf: string | null }[];
    expect(policyRows.find((r) => r.type === 'PolicyApplied')).toMatchObject({
      actor: 'token:alice',
      onBehalfOf: null,
    });
    expect(
      new Set(policyRows.filter((r) => r.type === 'LinkCreated').map((r) => r.onBehalfOf)),
    ).toEqual(new Set(['token:alice', 'token:bob', 'token:carol']));
  });

  it('restarts between waves, replays, and converges with no link attached twice', async () => {
    await http('POST', '/v1/policies', {
      policy: policy(['tcp_*'], { waves: [1, '100%'], pauseSeconds: 1 }),
    });
    await waitUntil('wave 0 completed', async () => {
      const s = (await http('GET', '/v1/policies/tcp-latency/status')).body;
      return s.rollout?.waves[0]?.state === 'completed';
    });
    await coordinator.stop();
    coordinator = await startCoordinator();
    await completed();
    const events = await allEvents();
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(events.filter((e) => e.type === 'AssignmentIssued')).toHaveLength(3);
    const created = events.filter((e) => e.type === 'LinkCreated');
    expect(created.map((e) => (e.data as { nodeId: string }).nodeId).sort()).toEqual([
      'node-a',
      'node-b',
      'node-c',
    ]);
    expect(events.filter((e) => e.type === 'LinkReleased')).toEqual([]);
  });

  it('loses no fact published while no coordinator listened', async () => {
    await http('POST', '/v1/policies', { policy: policy(['tcp_*', 'nf_tables:nft_*']) });
    await completed();
    // Given the coordinator is down while node-c loads nf_tables and attaches its pending targets
    await coordinator.stop();
    expect(await agents[2]!.module('load', 'nf_tables')).toEqual({ ok: true });
    await waitUntil('node-c attached nft', () =>
      agents[2]!.heldLinks().some((l) => l.connections.some((c) => c.function === 'nft_lookup')),
    );
    expect((await allEvents()).some((e) => e.type === 'ModuleLoaded')).toBe(false);
    // When a coordinator starts again on the log
    coordinator = await startCoordinator();
    // Then the facts of that time reach the log, once each
    await waitUntil(
      'module facts recorded',
      () => coordinator.core.fleet().nodes['node-c']?.modules['nf_tables'] !== undefined,
    );
    const events = await allEvents();
    expect(events.filter((e) => e.type === 'ModuleLoaded')).toHaveLength(1);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });
});
