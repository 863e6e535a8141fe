/**
 * The coordinator end to end in one process: real in-process bus, real SQLite log, real HTTP API,
 * scripted agents speaking the protocol (real: bus, store, HTTP, coordinator; scripted: agents).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, createInProcessBus, onBehalfOf } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import { testAssignmentKeys } from '../../support/assignment-keys.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { createMemoryLogger } from '@tramway/shared/infra';
import type { LogRecord } from '@tramway/shared/infra';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { authAs } from '../../support/api-tokens.js';
import { waitUntil } from '../../support/wait-until.js';
import { createScriptedAgent } from './scripted-agent.js';
import type { ScriptedAgent, ScriptedAgentOptions } from './scripted-agent.js';

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator | undefined;
let agents: ScriptedAgent[];
let records: LogRecord[];
let clockOffsetMs: number;
const clock = { now: () => new Date(Date.now() + clockOffsetMs) };

const startCoordinator = async (staleAfterMs = 10_000): Promise<Coordinator> => {
  const c = createCoordinator({
    bus,
    store,
    clock,
    logger: createMemoryLogger(records),
    assignmentSigningKey: testAssignmentKeys().privateKey,
    http: { host: '127.0.0.1', port: 0 },
    options: { staleAfterMs, tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 2000 },
  });
  await c.start();
  return c;
};

const startAgents = async (specs: ScriptedAgentOptions[]): Promise<void> => {
  for (const s of specs) {
    const a = createScriptedAgent(bus, s);
    agents.push(a);
    await a.start();
  }
  await waitUntil('agents registered', () =>
    specs.every((s) => coordinator!.core.fleet().nodes[s.nodeId]?.registered),
  );
};

const http = async (
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: ReturnType<typeof JSON.parse> }> => {
  const res = await fetch(`${coordinator!.url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(await authAs(coordinator!.core, 'ops')),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text body (metrics)
  }
  return { status: res.status, body: parsed };
};

const policy = (name: string, extra: Record<string, unknown> = {}, pattern = 'tcp_*') => ({
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name },
  spec: {
    program: { name: 'tcp_lat', attach: 'fentry' },
    targets: [{ pattern }],
    ...extra,
  },
});

const allEvents = async (): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
};

const statusOf = async (name: string) => (await http('GET', `/v1/policies/${name}/status`)).body;

const nodeSpecs = (
  count: number,
  extra: Partial<ScriptedAgentOptions> = {},
): ScriptedAgentOptions[] =>
  Array.from({ length: count }, (_, i) => ({
    nodeId: `node-${String(i + 1).padStart(2, '0')}`,
    labels: { role: 'web' },
    ...extra,
  }));

beforeEach(async () => {
  dir = makeTempDir('tramway-coord-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  agents = [];
  records = [];
  clockOffsetMs = 0;
  coordinator = await startCoordinator();
});

afterEach(async () => {
  for (const a of agents) a.stop();
  await coordinator?.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

describe('coordinator rollouts', () => {
  it('rolls a policy out in waves, each wave after the previous one converged', async () => {
    // Given five nodes
    await startAgents(nodeSpecs(5));
    // When a policy with waves [1, "50%", "100%"] is applied by alice
    const applied = await http(
      'POST',
      '/v1/policies',
      { policy: policy('tcp-latency', { rollout: { waves: [1, '50%', '100%'] } }) },
      await authAs(coordinator!.core, 'alice'),
    );
    expect(applied.status).toBe(202);
    expect(applied.body).toMatchObject({ policy: 'tcp-latency', version: 1 });
    // Then the rollout completes with 3 waves of 1, 2 and 2 nodes, every node converged
    const status = await waitUntil('rollout completed', async () => {
      const s = await statusOf('tcp-latency');
      return s.rollout?.state === 'completed' ? s : undefined;
    });
    expect(status.rollout.waves.map((w: { nodes: string[] }) => w.nodes)).toEqual([
      ['node-01'],
      ['node-02', 'node-03'],
      ['node-04', 'node-05'],
    ]);
    expect(status.nodes.map((n: { state: string }) => n.state)).toEqual(Array(5).fill('converged'));
    expect(status.nodes[0].functions.attached).toBe(2); // tcp_sendmsg, tcp_recvmsg
    expect(agents.every((a) => a.links().length === 1)).toBe(true);
    // And each wave started only after the previous one completed, decisions by their actors
    const events = await allEvents();
    const pos = (type: string, wave: number) =>
      events.find((e) => e.type === type && (e.data as { wave: number }).wave === wave)!
        .globalPosition;
    expect(pos('WaveCompleted', 0)).toBeLessThan(pos('WaveStarted', 1));
    expect(pos('WaveCompleted', 1)).toBeLessThan(pos('WaveStarted', 2));
    expect(events.find((e) => e.type === 'PolicyApplied')!.metadata.actor).toBe('token:alice');
    // (the first wave starts with the apply, by its actor; the next ones by the coordinator)
    expect(events.filter((e) => e.type === 'WaveStarted').map((e) => e.metadata.actor)).toEqual([
      'token:alice',
      'coordinator',
      'coordinator',
    ]);
    expect(events.filter((e) => e.type === 'AssignmentIssued')).toHaveLength(5);
  });

  it('records an admin acting on behalf of someone: the admin as actor, the person beside it', async () => {
    await startAgents(nodeSpecs(1));
    const admin = await authAs(coordinator!.core, 'root', 'admin');
    const applied = await http(
      'POST',
      '/v1/policies',
      { policy: policy('tcp-latency') },
      {
        ...admin,
        'x-tramway-on-behalf-of': 'user:bob',
      },
    );
    expect(applied.status).toBe(202);
    const event = (await allEvents()).find((e) => e.type === 'PolicyApplied')!;
    expect(event.metadata).toMatchObject({ actor: 'token:root', onBehalfOf: 'user:bob' });
    expect((event.data as { reason: string }).reason).toBe(
      'new policy applied by token:root on behalf of user:bob',
    );
    // and the audit names the person
    expect((await onBehalfOf(store, [event.globalPosition])).get(event.globalPosition)).toBe(
      'user:bob',
    );
    // and the node's assignment is initiated for that person, so the agent's facts are too
    await waitUntil('assignment issued', async () =>
      (await allEvents()).some((e) => e.type === 'AssignmentIssued'),
    );
    const assignment = (await allEvents()).find((e) => e.type === 'AssignmentIssued')!;
    expect(assignment.data).toMatchObject({ initiatedBy: 'user:bob' });
    // an operator may not say whom it acts for
    const refused = await http(
      'POST',
      '/v1/policies/tcp-latency/rollback',
      {},
      {
        'x-tramway-on-behalf-of': 'user:bob',
      },
    );
    expect(refused.status).toBe(403);
  });

  it('holds the first wave when its failures pass the gate, and resumes on request', async () => {
    // Given four nodes of which the first two fail every attach
    await startAgents([...nodeSpecs(2, { failing: true }), ...nodeSpecs(4).slice(2)]);
    const applied = await http('POST', '/v1/policies', {
      policy: policy('tcp-latency', { rollout: { waves: [2, '100%'], maxFailureRatio: 0.1 } }),
    });
    expect(applied.status).toBe(202);
    // Then wave 0 is held and the other nodes were never assigned
    const held = await waitUntil('wave held', async () => {
      const s = await statusOf('tcp-latency');
      return s.rollout?.state === 'held' ? s : undefined;
    });
    // (the wave not started yet is listed with the nodes the split fixed for it)
    expect(held.rollout.waves).toEqual([
      {
        index: 0,
        nodes: ['node-01', 'node-02'],
        state: 'held',
        succeeded: 0,
        failed: 2,
        reason: expect.stringMatching(/[12] of 2 nodes failed in wave 0/),
      },
      { index: 1, nodes: ['node-03', 'node-04'], state: 'pending', succeeded: 0, failed: 0 },
    ]);
    expect(held.rollout.reason).toMatch(/[12] of 2 nodes failed in wave 0/);
    // every node of the rollout, those of the wave not started as pending
    expect(held.nodes.map((n: { state: string }) => n.state)).toEqual([
      'failed',
      'failed',
      'pending',
      'pending',
    ]);
    expect(agents[2]!.assignsReceived).toEqual([]);
    const heldEvent = (await allEvents()).find((e) => e.type === 'WaveHeld')!;
    // (held as soon as the ratio passed the gate: 1 of 2 already exceeds 0.1)
    expect((heldEvent.data as { failureRatio: number }).failureRatio).toBeGreaterThanOrEqual(0.5);
    expect((heldEvent.data as { reason: string }).reason).toMatch(/[12] of 2 nodes failed/);
    // When the coordinator restarts (the held wave is rehydrated from the log) and bob resumes it
    await coordinator!.stop();
    coordinator = await startCoordinator();
    const resumed = await http(
      'POST',
      `/v1/rollouts/${applied.body.rolloutId}/resume`,
      undefined,
      await authAs(coordinator!.core, 'bob'),
    );
    expect(resumed).toEqual({ status: 200, body: { rolloutId: applied.body.rolloutId } });
    // Then the next wave runs on the healthy nodes and the rollout completes
    const done = await waitUntil('rollout completed', async () => {
      const s = await statusOf('tcp-latency');
      return s.rollout?.state === 'completed' ? s : undefined;
    });
    expect(done.rollout.waves[1]).toMatchObject({
      nodes: ['node-03', 'node-04'],
      state: 'completed',
    });
    const completed0 = (await allEvents()).find(
      (e) => e.type === 'WaveCompleted' && (e.data as { wave: number }).wave === 0,
    )!;
    expect(completed0.metadata.actor).toBe('token:bob');
    expect((completed0.data as { reason?: string }).reason).toMatch(/resumed by token:bob/);
    // And resuming a rollout that is not held is a conflict
    const again = await http('POST', `/v1/rollouts/${applied.body.rolloutId}/resume`);
    expect(again.status).toBe(409);
  });

  it('rolls a failing update back to the previous version', async () => {
    // Given v1 converged on three nodes, whose attach of v2 fails
    await startAgents(nodeSpecs(3, { failingVersions: new Set(['tcp-latency@2']) }));
    await http('POST', '/v1/policies', { policy: policy('tcp-latency') });
    await waitUntil(
      'v1 completed',
      async () => (await statusOf('tcp-latency')).rollout?.state === 'completed',
    );
    const v2 = await http('POST', '/v1/policies', {
      policy: policy('tcp-latency', { rollout: { maxFailureRatio: 0.5 } }, 'tcp_send*'),
    });
    expect(v2.body.version).toBe(2);
    await waitUntil(
      'v2 held',
      async () => (await statusOf('tcp-latency')).rollout?.state === 'held',
    );
    // When carol rolls back
    const rb = await http(
      'POST',
      '/v1/policies/tcp-latency/rollback',
      { reason: 'v2 fails everywhere' },
      await authAs(coordinator!.core, 'carol'),
    );
    expect(rb.status).toBe(200);
    // Then v2's rollout is rolled back, v1 is the policy again, and a rollout of its own gives
    // every node v1 back
    expect(rb.body).toEqual({
      rolloutId: `${v2.body.rolloutId}-rollback`,
      rolledBack: v2.body.rolloutId,
      fromVersion: 2,
      toVersion: 1,
    });
    const s = await statusOf('tcp-latency');
    expect(s.version).toBe(1);
    expect(s.rollout).toMatchObject({
      id: `${v2.body.rolloutId}-rollback`,
      kind: 'rollback',
      version: 1,
      fromVersion: 2,
      rollsBack: v2.body.rolloutId,
    });
    expect(coordinator!.core.fleet().rollouts[v2.body.rolloutId]?.status).toBe('rolled-back');
    await waitUntil(
      'nodes back on v1',
      () =>
        coordinator!.core.staleNodes().length === 0 &&
        Object.values(coordinator!.core.fleet().nodes).every(
          (n) => n.assignment?.links.map((l) => l.policyVersion).join() === '1',
        ),
    );
    const events = await allEvents();
    const rolledBack = events.find((e) => e.type === 'RolloutRolledBack')!;
    expect(rolledBack.data).toEqual({
      rolloutId: v2.body.rolloutId,
      reason: 'v2 fails everywhere',
    });
    expect(rolledBack.metadata.actor).toBe('token:carol');
    // And every node still holds exactly its v1 link (it never lost it: make-before-break)
    for (const a of agents) {
      expect(a.links().map((l) => `${l.policy}@${l.policyVersion}`)).toEqual(['tcp-latency@1']);
    }
    // And rolling back a policy's only version removes it from every node
    await http('POST', '/v1/policies', { policy: policy('other', {}, 'udp_*') });
    await waitUntil(
      'other applied',
      async () => (await statusOf('other')).rollout?.state === 'completed',
    );
    expect(agents.every((a) => a.links().some((l) => l.policy === 'other'))).toBe(true);
    const removed = await http('POST', '/v1/policies/other/rollback', {});
    expect(removed.status).toBe(200);
    await waitUntil('other released everywhere', () =>
      agents.every((a) => !a.links().some((l) => l.policy === 'other')),
    );
    expect(agents.map((a) => a.links().map((l) => l.policy))).toEqual(
      Array(3).fill(['tcp-latency']),
    );
    expect(
      (await allEvents()).filter((e) => e.type === 'PolicyRemoved').map((e) => e.data),
    ).toEqual([
      expect.objectContaining({
        name: 'other',
        version: 1,
        reason: expect.stringMatching(/removed/),
      }),
    ]);
    // its status shows the rollout that took it away (a release, undoing other-v1)
    const gone = await http('GET', '/v1/policies/other/status');
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({
      version: null,
      state: 'removed',
      rollout: { id: 'other-v1-rollback', kind: 'release', version: 1, rollsBack: 'other-v1' },
    });
    expect((await http('GET', '/v1/policies/other')).status).toBe(404);
  });
});

describe('coordinator drift, staleness and restart', () => {
  it('finds drift between a node and the log, records it and repairs it', async () => {
    await startAgents(nodeSpecs(2));
    await http('POST', '/v1/policies', { policy: policy('tcp-latency') });
    await waitUntil(
      'completed',
      async () => (await statusOf('tcp-latency')).rollout?.state === 'completed',
    );
    // Given node-01 loses its link behind everyone's back
    agents[0]!.loseLink();
    // When the drift check runs
    const reports = await coordinator!.core.checkDrift();
    // Then the drift is recorded for node-01 only, and the node got a new generation
    expect(reports.map((r) => r.nodeId)).toEqual(['node-01']);
    const drift = (await allEvents()).filter((e) => e.type === 'DriftFound');
    expect(drift).toHaveLength(1);
    expect(drift[0]!.data).toMatchObject({
      nodeId: 'node-01',
      items: expect.arrayContaining([expect.objectContaining({ kind: 'missing-link' })]),
    });
    await waitUntil(
      'repaired',
      () => agents[0]!.links().length === 1 && agents[0]!.observedGeneration() === 2,
    );
    // And a second check finds nothing
    await waitUntil(
      'log caught up',
      () => coordinator!.core.fleet().nodes['node-01']?.observedGeneration === 2,
    );
    expect(await coordinator!.core.checkDrift()).toEqual([]);
  });

  it('marks a node stale when its heartbeats stop, and alive when they resume', async () => {
    await startAgents(nodeSpecs(2));
    // Given node-02 goes silent while node-01 keeps beating, 11 s later
    clockOffsetMs = 11_000;
    await agents[0]!.heartbeat();
    await waitUntil('beat seen', async () => {
      const nodes = (await http('GET', '/v1/nodes')).body.items as {
        nodeId: string;
        lastSeen: string;
      }[];
      return Date.parse(nodes[0]!.lastSeen) > Date.now() + 5000;
    });
    await coordinator!.core.tick();
    // Then node-02 is stale, node-01 is not, and the metrics say so
    const nodes = (await http('GET', '/v1/nodes')).body.items as {
      nodeId: string;
      stale: boolean;
    }[];
    expect(nodes.map((n) => [n.nodeId, n.stale])).toEqual([
      ['node-01', false],
      ['node-02', true],
    ]);
    const metrics = await http('GET', '/metrics');
    expect(metrics.body).toContain('tramway_nodes_stale 1');
    expect(metrics.body).toContain('tramway_nodes 2');
    // And the decision is recorded
    const staleEvents = (await allEvents()).filter((e) => e.type === 'NodeMarkedStale');
    expect(staleEvents.map((e) => [e.data, e.metadata.actor])).toEqual([
      [expect.objectContaining({ nodeId: 'node-02', lastSeen: expect.any(String) }), 'coordinator'],
    ]);
    // When a restarted coordinator replays the log, node-02 is still stale
    await coordinator!.stop();
    coordinator = await startCoordinator();
    expect(coordinator.core.staleNodes()).toEqual(['node-02']);
    // When node-02 beats again it is alive, and that is recorded too
    await agents[1]!.heartbeat();
    await waitUntil('alive', async () => {
      await coordinator!.core.tick();
      return coordinator!.core.staleNodes().length === 0;
    });
    expect(
      (await allEvents()).filter((e) => e.type === 'NodeMarkedAlive').map((e) => e.data),
    ).toEqual([expect.objectContaining({ nodeId: 'node-02' })]);
  });

  it('does not hold a wave for a node that was only silent, and completes it once the node is heard and converged', async () => {
    // Given two nodes, of which node-02 falls silent (it hears nothing and beats no more)
    await startAgents(nodeSpecs(2));
    agents[1]!.stop();
    // And a policy applied in one wave with a strict failure gate (maxFailureRatio 0)
    const applied = await http('POST', '/v1/policies', {
      policy: policy('tcp-latency', { rollout: { waves: ['100%'], maxFailureRatio: 0 } }),
    });
    expect(applied.status).toBe(202);
    const nodeState = async (nodeId: string): Promise<string | undefined> =>
      (await statusOf('tcp-latency')).nodes?.find((n: { nodeId: string }) => n.nodeId === nodeId)
        ?.state;
    await waitUntil('node-01 converged', async () => (await nodeState('node-01')) === 'converged');
    // When 11 s pass (past the 10 s stale limit) with node-01 beating and node-02 still silent
    clockOffsetMs = 11_000;
    await agents[0]!.heartbeat();
    await waitUntil('node-02 stale', async () => {
      await coordinator!.core.tick();
      return coordinator!.core.staleNodes().includes('node-02');
    });
    for (let i = 0; i < 3; i++) await coordinator!.core.tick();
    // Then the silent node counts as not yet reported: the wave is still running, not held
    const waiting = await statusOf('tcp-latency');
    expect(waiting.rollout.state).toBe('running');
    expect(waiting.rollout.waves).toEqual([
      { index: 0, nodes: ['node-01', 'node-02'], state: 'running', succeeded: 1, failed: 0 },
    ]);
    expect(await nodeState('node-02')).toBe('stale');
    // When node-02 is heard again, fetches its assignment and converges
    await agents[1]!.start();
    // Then it is alive again and the wave and the rollout complete without an operator
    const done = await waitUntil('rollout completed', async () => {
      await coordinator!.core.tick();
      const s = await statusOf('tcp-latency');
      return s.rollout?.state === 'completed' ? s : undefined;
    });
    expect(done.rollout.waves).toEqual([
      {
        index: 0,
        nodes: ['node-01', 'node-02'],
        state: 'completed',
        succeeded: 2,
        failed: 0,
        completedAt: expect.any(String),
      },
    ]);
    expect(coordinator!.core.staleNodes()).toEqual([]);
    const events = await allEvents();
    expect(events.filter((e) => e.type === 'WaveHeld')).toEqual([]);
    expect(events.find((e) => e.type === 'WaveCompleted')!.metadata.actor).toBe('coordinator');
  });

  it('restarts in the middle of a rollout, replays the log and converges without repeating anything', async () => {
    // (the clock jumps a minute below: staleness is not under test here)
    await coordinator!.stop();
    coordinator = await startCoordinator(3_600_000);
    await startAgents(nodeSpecs(3));
    // Given a rollout paused for 60 s after its first wave
    await http('POST', '/v1/policies', {
      policy: policy('tcp-latency', { rollout: { waves: [1, '100%'], pauseSeconds: 60 } }),
    });
    await waitUntil('wave 0 completed', async () => {
      const s = await statusOf('tcp-latency');
      return s.rollout?.waves[0]?.state === 'completed';
    });
    // When the coordinator stops and a new one starts on the same log
    await coordinator!.stop();
    const before = (await allEvents()).length;
    coordinator = await startCoordinator(3_600_000);
    // Then the replayed state has the rollout where it was, and nothing was appended
    expect(
      coordinator.core.fleet().rollouts[Object.keys(coordinator.core.fleet().rollouts)[0]!],
    ).toMatchObject({
      status: 'running',
      currentWave: 0,
    });
    expect((await allEvents()).length).toBe(before);
    // When the pause is over, the rollout resumes and completes
    clockOffsetMs = 61_000;
    for (const a of agents) await a.heartbeat();
    const s = await waitUntil('completed after restart', async () => {
      await coordinator!.core.tick();
      const st = await statusOf('tcp-latency');
      return st.rollout?.state === 'completed' ? st : undefined;
    });
    expect(s.nodes.map((n: { state: string }) => n.state)).toEqual(Array(3).fill('converged'));
    // And no event id twice, one assignment per node, one link per node
    const events = await allEvents();
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(events.filter((e) => e.type === 'AssignmentIssued')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'LinkCreated')).toHaveLength(3);
    expect(agents.map((a) => a.links().length)).toEqual([1, 1, 1]);
  });
});

describe('coordinator edges', () => {
  it('rejects malformed fact batches without touching the log, and logs why', async () => {
    await startAgents(nodeSpecs(1));
    const head = await store.headPosition();
    await bus.publish('tramway.facts.node-01', { nodeId: 'node-01', events: 'nope' });
    await bus.publish('tramway.facts.node-01', {
      nodeId: 'node-01',
      bootId: 'b',
      events: [
        {
          id: 'x1',
          type: 'ModuleLoaded',
          schemaVersion: 1,
          data: { nodeId: 'node-01', module: 'nf_tables', btfObjId: 3 },
          metadata: { occurredAt: new Date().toISOString(), actor: 'agent:node-01' },
        },
        {
          id: 'x2',
          type: 'ModuleLoaded',
          schemaVersion: 1,
          data: { nodeId: 'node-02', module: 'nf_tables', btfObjId: 3 },
          metadata: { occurredAt: new Date().toISOString(), actor: 'agent:node-01' },
        },
      ],
    });
    await bus.publish('tramway.facts.node-01', {
      nodeId: 'node-01',
      bootId: 'b',
      events: [
        {
          id: 'x3',
          type: 'PolicyApplied',
          schemaVersion: 1,
          data: { nodeId: 'node-01', name: 'p', version: 1, spec: {} },
          metadata: { occurredAt: new Date().toISOString(), actor: 'agent:node-01' },
        },
      ],
    });
    await waitUntil('three rejections logged', () =>
      records.filter((r) => r.msg === 'message rejected' || r.msg === 'fact batch rejected')
        .length >= 3
        ? true
        : undefined,
    );
    expect(await store.headPosition()).toBe(head);
    const problems = records
      .filter((r) => r.msg === 'fact batch rejected')
      .flatMap((r) => r.meta['problems'] as string[]);
    expect(problems).toEqual(
      expect.arrayContaining([
        'events[1].data.nodeId: must be node-01',
        'events[0].type: PolicyApplied is not a node fact',
      ]),
    );
  });

  it('refuses invalid policies listing every problem, and plans that cannot work', async () => {
    await startAgents(nodeSpecs(2));
    const bad = await http('POST', '/v1/policies', {
      policy: {
        apiVersion: 'tramway.dev/v1alpha1',
        kind: 'TracingPolicy',
        metadata: { name: 'Bad_Name' },
        spec: { program: { name: 'p', attach: 'kprobe' }, targets: [], rollout: { waves: [5, 2] } },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('InvalidPolicy');
    expect(bad.body.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^policy\.metadata\.name: /),
        expect.stringMatching(/^policy\.spec\.program\.attach: /),
        expect.stringMatching(/^policy\.spec\.targets: /),
        expect.stringMatching(/^policy\.spec\.rollout\.waves\[1\]: /),
      ]),
    );
    const unknownLabel = await http('POST', '/v1/policies', {
      policy: policy('p1', { nodeSelector: { matchLabels: { tier: 'db' } } }),
    });
    expect(unknownLabel.status).toBe(400);
    expect(unknownLabel.body).toMatchObject({
      code: 'PlanRefused',
      errors: expect.arrayContaining([
        'nodeSelector.matchLabels.tier: no registered node has the label "tier"',
      ]),
    });
    const noMatch = await http('POST', '/v1/plan', { policy: policy('p2', {}, 'ext4_*') });
    expect(noMatch.status).toBe(200);
    expect(noMatch.body.refused.reasons[0]).toMatch(
      /^no function matched on any of the 2 selected node\(s\): 'ext4_\*'/,
    );
    expect(noMatch.body.nodes).toHaveLength(2);
    const yaml = await http(
      'POST',
      '/v1/plan',
      'apiVersion: tramway.dev/v1alpha1\nkind: TracingPolicy\nmetadata: {name: y}\nspec:\n  program: {name: p, attach: fentry}\n  targets: [{pattern: "udp_*"}]\n',
      { 'content-type': 'application/yaml' },
    );
    expect(yaml.status).toBe(200);
    expect(yaml.body.nodes[0].counts.attach).toBe(1);
    expect((await http('POST', '/v1/policies', '{not json')).status).toBe(400);
    expect((await http('GET', '/v1/policies/none/status')).status).toBe(404);
    expect((await allEvents()).filter((e) => e.type === 'PolicyApplied')).toEqual([]);
  });

  it('serves its OpenAPI document and relays module requests to the node', async () => {
    await startAgents(nodeSpecs(1));
    const doc = await http('GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toContain('/v1/policies/{name}/rollback');
    expect(await http('POST', '/v1/nodes/node-01/modules/nf_tables/load')).toEqual({
      status: 200,
      body: { ok: true },
    });
    expect((await http('POST', '/v1/nodes/ghost/modules/nf_tables/load')).status).toBe(404);
    // And the log says who asked for the module (the ghost node's request never left)
    const asked = (await allEvents()).filter((e) => e.type === 'ModuleActionRequested');
    expect(asked.map((e) => [e.streamId, e.metadata.actor, e.data])).toEqual([
      [
        'module-requests-node-01',
        'token:ops',
        { nodeId: 'node-01', module: 'nf_tables', action: 'load', ok: true },
      ],
    ]);
  });
});
