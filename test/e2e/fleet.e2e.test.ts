/**
 * The fleet end to end (issue 5, item 6): a real nats-server started here, the coordinator as its
 * own process (services/coordinator/src/main.ts, JetStream log), and real agents (createAgent on
 * sim kernels) in agent-host processes (test/support/fleet-agent-host.ts), each agent with its own
 * STATE_DIR. Every assertion reads the log or asks a node over NATS.
 *
 * The scenarios share one server and one coordinator (starting processes is the cost on 2 cores)
 * and run in order; each uses its own nodes, selected by a `scenario` label, and its own policy.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetBus } from '@tramway/shared/infra';
import { connectNatsBus } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { RecordedEvent } from '@tramway/shared/lib';
import { createFileStateStore, rebootSimNode } from '../../services/agent/src/index.js';
import type { NodeActualState } from '../../services/agent/src/index.js';
import type { AgentHostConfig, HostedAgent } from '../support/fleet-agent-host.js';
import {
  dataOf,
  doubleAttachments,
  foldLinks,
  generationOfVersion,
  nodeOf,
  ofType,
  tracedFunctions,
} from '../support/fleet-log.js';
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

const fn = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  ret: 'int',
  params: ['void *', 'void *', 'u64'],
  ...extra,
});

const TCP = ['tcp_sendmsg', 'tcp_recvmsg', 'tcp_v4_connect'];
const NFT = ['nft_do_chain', 'nft_lookup_eval'];

/** A V24 node: tcp_* and udp_sendmsg in vmlinux, nf_tables declared but not loaded. */
const WEB_KERNEL: KernelSpec = {
  profile: 'v24',
  objects: [
    { name: 'vmlinux', kind: 'vmlinux', functions: [...TCP, 'udp_sendmsg'].map((n) => fn(n)) },
    { name: 'nf_tables', kind: 'module', loaded: false, functions: NFT.map((n) => fn(n)) },
  ],
};
/** The same functions, every one deny-listed: no tracing program may attach (spec target checks). */
const DENIED_KERNEL: KernelSpec = {
  profile: 'v24',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [...TCP, 'udp_sendmsg'].map((n) => fn(n, { denyListed: true })),
    },
  ],
};

let nats: NatsServerHandle;
let coordinator: CoordinatorHandle;
const dir: TempDir = makeTempDir('tramway-e2e-');
let bus: FleetBus;
const hosts: AgentHostHandle[] = [];

const call = (method: string, path: string, body?: unknown) => api(coordinator, method, path, body);

const agentsOf = (
  scenario: string,
  count: number,
  kernel: (i: number) => string = () => 'web',
): HostedAgent[] =>
  Array.from({ length: count }, (_, i) => {
    const nodeId = `${scenario}-${String(i + 1).padStart(2, '0')}`;
    return {
      nodeId,
      labels: { scenario },
      stateDir: join(dir.path, nodeId),
      kernel: kernel(i),
    };
  });

const hostConfig = (agents: readonly HostedAgent[]): AgentHostConfig => ({
  natsUrl: nats.url,
  heartbeatMs: 200,
  requestTimeoutMs: 2000,
  kernels: { web: WEB_KERNEL, denied: DENIED_KERNEL },
  agents,
});

const startHost = async (name: string, agents: readonly HostedAgent[]) => {
  const host = await spawnAgentHost(dir.file(`${name}.json`), hostConfig(agents), { nats });
  hosts.push(host);
  return host;
};

const registered = (nodeIds: readonly string[]) =>
  waitUntil(
    `${nodeIds.length} nodes registered`,
    async () => {
      const nodes = ((await call('GET', '/v1/nodes')).body as { items: { nodeId: string }[] })
        .items;
      const known = new Set(nodes.map((n) => n.nodeId));
      return nodeIds.every((id) => known.has(id));
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );

interface PolicyStatus {
  version: number;
  rollout: {
    id: string;
    state: string;
    waves: { index: number; nodes: string[]; state: string; succeeded: number; failed: number }[];
  };
  nodes: { nodeId: string; state: string; functions: { attached: number; pending: number } }[];
}

const status = async (policy: string): Promise<PolicyStatus | undefined> => {
  const reply = await call('GET', `/v1/policies/${policy}/status`);
  return reply.status === 200 ? (reply.body as PolicyStatus) : undefined;
};

const rolloutState = (policy: string, state: string, version?: number) =>
  waitUntil(
    `${policy}${version === undefined ? '' : ` v${version}`} rollout ${state}`,
    async () => {
      const s = await status(policy);
      return s?.rollout.state === state && (version === undefined || s.version === version)
        ? s
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );

const apply = async (policy: Record<string, unknown>) => {
  const reply = await call('POST', '/v1/policies', { policy });
  expect(reply.status, JSON.stringify(reply.body)).toBe(202);
  return reply.body as { policy: string; version: number; rolloutId: string };
};

const nodeState = async (nodeId: string): Promise<NodeActualState> =>
  (await bus.request(`tramway.agent.${nodeId}.state`, {}, { timeoutMs: 5000 })) as NodeActualState;

/**
 * Waits until the log satisfies `ok`; on timeout the error lists the events of `nodeId` (when
 * given) and the last output of the coordinator and the agent hosts, to say what happened.
 */
const logUntil = async (
  what: string,
  ok: (events: RecordedEvent[]) => boolean,
  nodeId?: string,
): Promise<RecordedEvent[]> => {
  let last: RecordedEvent[] = [];
  try {
    return await waitUntil(
      what,
      async () => {
        last = await readLog(nats.url, nats.credentials());
        return ok(last) ? last : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  } catch (error) {
    const mine = nodeId === undefined ? [] : last.filter((e) => nodeOf(e) === nodeId);
    const tail = (text: string) => text.slice(-2000);
    throw new Error(
      [
        (error as Error).message,
        ...(nodeId === undefined
          ? []
          : [`events of ${nodeId}: ${mine.map((e) => `${e.type}#${e.id}`).join(', ')}`]),
        `coordinator output: ${tail(coordinator.output())}`,
        ...hosts.slice(-2).map((h) => `agent host output: ${tail(h.output())}`),
      ].join('\n'),
    );
  }
};

beforeAll(async () => {
  nats = await startNatsServer();
  coordinator = await spawnCoordinator({ natsUrl: nats.url, securityDir: nats.securityDir });
  bus = await connectNatsBus(nats.url, { name: 'e2e-test', credentials: nats.credentials() });
});

afterAll(async () => {
  await bus?.close();
  for (const h of hosts) await h.stop('SIGTERM');
  await coordinator?.stop('SIGTERM');
  await nats?.stop();
  dir.remove();
});

describe('fleet over a real nats-server', () => {
  const FLEET_A = agentsOf('a', 20);

  it('rolls a policy out to 20 agents in 3 waves, each node linked as planned', async () => {
    // Given 20 agents in two processes
    await startHost('a1', FLEET_A.slice(0, 10));
    await startHost('a2', FLEET_A.slice(10));
    await registered(FLEET_A.map((a) => a.nodeId));
    const policy = tracingPolicy('web-a', {
      targets: ['tcp_*', 'nf_tables:nft_*'],
      nodeSelector: { matchLabels: { scenario: 'a' } },
      rollout: { waves: [2, '50%', '100%'] },
    });
    const plan = await call('POST', '/v1/plan', { policy });
    expect(plan.status).toBe(200);
    // When it is applied
    const { rolloutId } = await apply(policy);
    const s = await rolloutState('web-a', 'completed');
    // Then the waves were 2, 8 and 10 nodes, and every node converged
    expect(s.rollout.waves.map((w) => [w.nodes.length, w.state])).toEqual([
      [2, 'completed'],
      [8, 'completed'],
      [10, 'completed'],
    ]);
    expect(s.nodes).toHaveLength(20);
    expect(s.nodes.every((n) => n.state === 'converged')).toBe(true);
    // And the log shows the waves in order: each starts after the previous one completed
    const events = await logUntil('20 LinkCreated', (ev) =>
      FLEET_A.every((a) => ofType(ev, 'LinkCreated', a.nodeId).length > 0),
    );
    const waveLog = events
      .filter(
        (e) =>
          (e.type === 'WaveStarted' || e.type === 'WaveCompleted') &&
          dataOf<{ rolloutId: string }>(e).rolloutId === rolloutId,
      )
      .map((e) => `${e.type}:${dataOf<{ wave: number }>(e).wave}`);
    expect(waveLog).toEqual([
      'WaveStarted:0',
      'WaveCompleted:0',
      'WaveStarted:1',
      'WaveCompleted:1',
      'WaveStarted:2',
      'WaveCompleted:2',
    ]);
    // And no node of a later wave was assigned before its wave started
    const startedAt = (wave: number) =>
      events.findIndex(
        (e) => e.type === 'WaveStarted' && dataOf<{ wave: number }>(e).wave === wave,
      );
    s.rollout.waves.forEach((w) => {
      for (const nodeId of w.nodes) {
        const first = events.findIndex(
          (e) => e.type === 'AssignmentIssued' && nodeOf(e) === nodeId,
        );
        expect(first).toBeGreaterThan(startedAt(w.index));
      }
    });
    // And each node's links trace exactly the functions its plan said to attach
    const live = foldLinks(events);
    const plans = plan.body.nodes as {
      nodeId: string;
      targets: { function: string; status: string }[];
    }[];
    expect(plans).toHaveLength(20);
    for (const p of plans) {
      const planned = p.targets
        .filter((t) => t.status === 'attach')
        .map((t) => t.function)
        .sort();
      expect(planned).toEqual([...TCP].sort());
      expect(p.targets.filter((t) => t.status === 'pending').map((t) => t.function)).toEqual(NFT);
      expect(tracedFunctions(live, p.nodeId, 'web-a')).toEqual(planned);
    }
  });

  it('loads a module on one node and attaches its pending targets there only', async () => {
    // When nf_tables is loaded on a-03
    const loaded = await call('POST', '/v1/nodes/a-03/modules/nf_tables/load');
    expect(loaded.status).toBe(200);
    expect(loaded.body).toEqual({ ok: true });
    // Then a LinkCreated of a-03 carries the module's functions
    const events = await logUntil('nft functions attached on a-03', (ev) =>
      ofType(ev, 'LinkCreated', 'a-03').some((e) =>
        dataOf<{ connections: { function: string }[] }>(e).connections.some(
          (c) => c.function === 'nft_do_chain',
        ),
      ),
    );
    const moduleLoaded = ofType(events, 'ModuleLoaded', 'a-03');
    expect(moduleLoaded.map((e) => dataOf<{ module: string }>(e).module)).toEqual(['nf_tables']);
    const live = foldLinks(events);
    expect(tracedFunctions(live, 'a-03', 'web-a')).toEqual(
      [...TCP, ...NFT.map((f) => `nf_tables:${f}`)].sort(),
    );
    // And no other node traces them
    for (const a of FLEET_A.filter((x) => x.nodeId !== 'a-03'))
      expect(tracedFunctions(live, a.nodeId, 'web-a')).toEqual([...TCP].sort());
  });

  it('drains the links pinning a module before unloading it', async () => {
    // When nf_tables is unloaded on a-03
    const unloaded = await call('POST', '/v1/nodes/a-03/modules/nf_tables/unload');
    expect(unloaded.status).toBe(200);
    expect(unloaded.body).toEqual({ ok: true });
    const events = await logUntil(
      'ModuleUnloaded on a-03',
      (ev) => ofType(ev, 'ModuleUnloaded', 'a-03').length > 0,
    );
    // Then every link tracing a module function was released before ModuleUnloaded
    const unloadedAt = events.findIndex((e) => e.type === 'ModuleUnloaded' && nodeOf(e) === 'a-03');
    let liveAtUnload: string[] = [];
    foldLinks(events, (index, _e, live) => {
      if (index === unloadedAt) liveAtUnload = tracedFunctions(live, 'a-03', 'web-a');
    });
    expect(liveAtUnload).toEqual([...TCP].sort());
    // And the node still traces its vmlinux targets
    const state = await nodeState('a-03');
    expect(state.links.flatMap((l) => l.connections.map((c) => c.function)).sort()).toEqual(
      [...TCP].sort(),
    );
    expect(state.modules.find((m) => m.name === 'nf_tables')?.state ?? 'unloaded').toBe('unloaded');
  });

  it('updates a policy make-before-break on every node', async () => {
    // When web-a v2 (tcp_sendmsg and udp_sendmsg, the program reads arg 0) replaces v1
    const { version } = await apply(
      tracingPolicy('web-a', {
        program: { name: 'web_a', attach: 'fentry', reads: [0] },
        targets: ['tcp_sendmsg', 'udp_sendmsg'],
        nodeSelector: { matchLabels: { scenario: 'a' } },
        rollout: { waves: ['50%', '100%'] },
      }),
    );
    expect(version).toBe(2);
    await rolloutState('web-a', 'completed', 2);
    const events = await logUntil('every v1 link released', (ev) => {
      const live = foldLinks(ev);
      return FLEET_A.every(
        (a) => tracedFunctions(live, a.nodeId, 'web-a').join() === 'tcp_sendmsg,udp_sendmsg',
      );
    });
    // Then on every node, for tcp_sendmsg (traced by both versions), the v2 link was created
    // before the v1 link was released, and at no position was it traced by no link
    for (const { nodeId } of FLEET_A) {
      const g2 = generationOfVersion(events, nodeId, 'web-a', 2);
      expect(g2, nodeId).toBeDefined();
      const createdV2 = events.findIndex(
        (e) =>
          e.type === 'LinkCreated' &&
          nodeOf(e) === nodeId &&
          (dataOf<{ observedGeneration?: number }>(e).observedGeneration ?? 0) >= g2! &&
          dataOf<{ connections: { function: string }[] }>(e).connections.some(
            (c) => c.function === 'tcp_sendmsg',
          ),
      );
      const assignedV2 = events.findIndex(
        (e) =>
          e.type === 'AssignmentIssued' &&
          nodeOf(e) === nodeId &&
          dataOf<{ generation: number }>(e).generation === g2,
      );
      // releases of v1 links tracing tcp_sendmsg once v2 was assigned, and every position from
      // the node's first tcp_sendmsg link on where no web-a link traced it
      const oldReleases: number[] = [];
      const gaps: number[] = [];
      let traced = false;
      foldLinks(events, (index, e, live, released) => {
        if (nodeOf(e) !== nodeId) return;
        if (
          index > assignedV2 &&
          released?.functions.includes('tcp_sendmsg') &&
          (released.observedGeneration ?? 0) < g2!
        )
          oldReleases.push(index);
        const now = tracedFunctions(live, nodeId, 'web-a').includes('tcp_sendmsg');
        if (traced && !now) gaps.push(index);
        traced ||= now;
      });
      expect(createdV2, nodeId).toBeGreaterThan(assignedV2);
      expect(oldReleases.length, nodeId).toBeGreaterThan(0);
      expect(
        oldReleases.filter((r) => r < createdV2),
        nodeId,
      ).toEqual([]);
      expect(gaps, nodeId).toEqual([]);
    }
  });

  it('holds a rollout at its first wave when the targets fail on most nodes', async () => {
    // Given 5 nodes, the first 4 with every function deny-listed
    const fleetB = agentsOf('b', 5, (i) => (i < 4 ? 'denied' : 'web'));
    await startHost('b', fleetB);
    await registered(fleetB.map((a) => a.nodeId));
    // When a policy is rolled out in waves [2, 100%] with at most 10% failures
    const { rolloutId } = await apply(
      tracingPolicy('web-b', {
        targets: ['tcp_*'],
        nodeSelector: { matchLabels: { scenario: 'b' } },
        rollout: { waves: [2, '100%'], maxFailureRatio: 0.1 },
      }),
    );
    // Then the rollout is held at wave 0
    const s = await rolloutState('web-b', 'held');
    expect(s.rollout.waves[0]!.state).toBe('held');
    expect(s.rollout.waves.slice(1).every((w) => w.state !== 'completed')).toBe(true);
    const wave0 = s.rollout.waves[0]!.nodes;
    expect(wave0).toHaveLength(2);
    // And, a while later, nothing was assigned beyond the first wave
    await new Promise((r) => setTimeout(r, 1500));
    const events = await readLog(nats.url, nats.credentials());
    const ofRollout = (type: string) =>
      events.filter(
        (e) => e.type === type && dataOf<{ rolloutId: string }>(e).rolloutId === rolloutId,
      );
    expect(ofRollout('WaveHeld').map((e) => dataOf<{ wave: number }>(e).wave)).toEqual([0]);
    expect(ofRollout('WaveStarted').map((e) => dataOf<{ wave: number }>(e).wave)).toEqual([0]);
    const assigned = new Set(
      fleetB
        .filter((a) => ofType(events, 'AssignmentIssued', a.nodeId).length > 0)
        .map((a) => a.nodeId),
    );
    expect([...assigned].sort()).toEqual([...wave0].sort());
    // And the failures are in the log with errno, failing target and reason
    const failed = events.filter(
      (e) => e.type === 'LinkCreateFailed' && wave0.includes(nodeOf(e)!),
    );
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      const d = dataOf<{ errno: number; failingTarget: { function: string }; reason: string }>(f);
      expect(d.errno).toBeGreaterThan(0);
      expect(d.failingTarget.function).toMatch(/^tcp_/);
      expect(d.reason).not.toBe('');
    }
  });

  const NODE_E = agentsOf('e', 1);
  let hostE: AgentHostHandle;

  it('keeps its links across an agent crash and restart (same STATE_DIR, same boot)', async () => {
    hostE = await startHost('e', NODE_E);
    await registered(['e-01']);
    await apply(
      tracingPolicy('web-e', {
        targets: ['tcp_*'],
        nodeSelector: { matchLabels: { scenario: 'e' } },
      }),
    );
    await rolloutState('web-e', 'completed');
    const before = await nodeState('e-01');
    expect(before.links).toHaveLength(1);
    // When the agent process is killed and started again on the same STATE_DIR
    await hostE.stop('SIGKILL');
    hostE = await startHost('e-restart', NODE_E);
    const after = await waitUntil('restarted agent answers', () =>
      nodeState('e-01').catch(() => undefined),
    );
    // Then it is the same boot and it holds the same link
    expect(after.bootId).toBe(before.bootId);
    expect(after.links).toEqual(before.links);
    // And the log holds one LinkCreated, one ProgramLoaded and no release for it
    await new Promise((r) => setTimeout(r, 1000));
    const events = await readLog(nats.url, nats.credentials());
    expect(ofType(events, 'LinkCreated', 'e-01')).toHaveLength(1);
    expect(ofType(events, 'ProgramLoaded', 'e-01')).toHaveLength(1);
    expect(ofType(events, 'LinkReleased', 'e-01')).toHaveLength(0);
    expect(ofType(events, 'NodeBooted', 'e-01')).toHaveLength(1);
  });

  it('loses its links on a reboot (new boot id), records NodeBooted, and attaches them again', async () => {
    const before = await nodeState('e-01');
    // When the node "reboots": its process stops and its boot id and kernel are gone
    await hostE.stop('SIGTERM');
    rebootSimNode(NODE_E[0]!.stateDir!);
    hostE = await startHost('e-reboot', NODE_E);
    // Then a NodeBooted with the new boot id is recorded, and a new LinkCreated after it
    const events = await logUntil(
      'second NodeBooted and a link after it',
      (ev) => {
        const booted = ofType(ev, 'NodeBooted', 'e-01');
        if (booted.length < 2) return false;
        const at = ev.indexOf(booted[1]!);
        return ev.slice(at).some((e) => e.type === 'LinkCreated' && nodeOf(e) === 'e-01');
      },
      'e-01',
    );
    const booted = ofType(events, 'NodeBooted', 'e-01').map((e) => dataOf<{ bootId: string }>(e));
    expect(booted[1]!.bootId).not.toBe(before.bootId);
    const after = await nodeState('e-01');
    expect(after.bootId).toBe(booted[1]!.bootId);
    expect(after.links.flatMap((l) => l.connections.map((c) => c.function)).sort()).toEqual(
      [...TCP].sort(),
    );
    expect(tracedFunctions(foldLinks(events), 'e-01', 'web-e')).toEqual([...TCP].sort());
  });

  it('survives a coordinator SIGKILL mid-rollout: converges, no link twice, no fact lost', async () => {
    // Given 10 nodes and a rollout in 3 waves with a pause between them
    const fleetG = agentsOf('g', 10);
    await startHost('g', fleetG);
    await registered(fleetG.map((a) => a.nodeId));
    await apply(
      tracingPolicy('web-g', {
        targets: ['tcp_*'],
        nodeSelector: { matchLabels: { scenario: 'g' } },
        rollout: { waves: [2, '50%', '100%'], pauseSeconds: 1 },
      }),
    );
    // When the coordinator is killed once wave 1 is under way
    const atKill = await waitUntil(
      'wave 1 started',
      async () => {
        const st = await status('web-g');
        return (st?.rollout.waves[1]?.state ?? 'pending') !== 'pending' ? st : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect(atKill.rollout.state).toBe('running');
    await coordinator.stop('SIGKILL');
    coordinator = await spawnCoordinator({
      natsUrl: nats.url,
      securityDir: nats.securityDir,
      port: coordinator.port,
      dataDir: coordinator.dataDir,
    });
    // Then the new process replays the log and the rollout completes on every node
    const s = await rolloutState('web-g', 'completed');
    expect(s.nodes.map((n) => n.state)).toEqual(Array(10).fill('converged'));
    const events = await logUntil('every g node linked', (ev) =>
      fleetG.every((a) => ofType(ev, 'LinkCreated', a.nodeId).length > 0),
    );
    // And no event is in the log twice, and no link was ever attached twice
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(doubleAttachments(events.filter((e) => nodeOf(e)?.startsWith('g-')))).toEqual([]);
    const live = foldLinks(events);
    for (const a of fleetG) {
      expect(tracedFunctions(live, a.nodeId, 'web-g')).toEqual([...TCP].sort());
      expect(ofType(events, 'LinkCreated', a.nodeId)).toHaveLength(1);
    }
    // And every fact each agent published (its outbox in STATE_DIR) is in the log exactly once
    const ids = new Map<string, number>();
    for (const e of events) ids.set(e.id, (ids.get(e.id) ?? 0) + 1);
    for (const a of fleetG) {
      const store = createFileStateStore(a.stateDir!);
      const outbox = store.readOutbox(store.load()!.bootId);
      const facts = [...outbox.events.map((f) => [f.id, f.type] as const), ...outbox.trimmed];
      expect(facts.length, a.nodeId).toBeGreaterThan(0);
      const missing = facts
        .filter(([id]) => ids.get(id) !== 1)
        .map(([id, type]) => `${type} ${id}`);
      expect(missing, a.nodeId).toEqual([]);
    }
  });
});
