/**
 * The agent against a stand-in coordinator, over the in-process bus and over a real
 * nats-server (the same scenarios for both transports). Real parts: the sim kernel (pure
 * model), the bus, the state directory on disk. The coordinator is a stand-in that answers the
 * latest assignment and records facts and heartbeats.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FleetBus } from '../../../shared/src/infra/index.js';
import { connectNatsBus, createInProcessBus, isAppError } from '../../../shared/src/infra/index.js';
import { createMemoryLogger } from '@tramway/shared/infra';
import type { Agent } from '../../../services/agent/src/app.js';
import {
  createFileStateStore,
  rebootSimNode,
} from '../../../services/agent/src/state/agent-state.store.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { startNatsServer } from '../../support/nats-server.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import {
  assignmentOf,
  fakeCoordinator,
  signed,
  simAgent,
  simSpec,
  tcpPolicy,
} from './agent-harness.js';
import { coverageTimeline } from './kernel-timeline.js';

interface Transport {
  readonly name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** a new bus (NATS: its own connection, as the coordinator or as `node`) */
  bus(node?: { nodeId: string }): Promise<FleetBus>;
}

const inProcess = (): Transport => {
  let shared: FleetBus | undefined;
  return {
    name: 'in-process bus',
    setup: () => Promise.resolve(),
    teardown: async () => {
      await shared?.close();
      shared = undefined;
    },
    bus: () => Promise.resolve((shared ??= createInProcessBus())),
  };
};

const nats = (): Transport => {
  let server: NatsServerHandle | undefined;
  const buses: FleetBus[] = [];
  return {
    name: 'NATS (real nats-server)',
    setup: async () => {
      server ??= await startNatsServer({ nodes: ['node-1'] });
    },
    teardown: async () => {
      await Promise.all(buses.splice(0).map((b) => b.close()));
    },
    bus: async (node) => {
      const b = await connectNatsBus(server!.url, { credentials: server!.credentials(node) });
      buses.push(b);
      return b;
    },
    stopServer: async () => server?.stop(),
  } as Transport & { stopServer(): Promise<void> };
};

const POLICY = 'tcp-latency';

describe.each([inProcess(), nats()])('agent over $name', (transport) => {
  let dir: TempDir;
  let coord: ReturnType<typeof fakeCoordinator>;
  const agents: Agent[] = [];

  beforeAll(() => transport.setup());
  afterAll(async () => {
    await (transport as Partial<{ stopServer(): Promise<void> }>).stopServer?.();
  });
  beforeEach(async () => {
    dir = makeTempDir('tramway-agent-');
    coord = fakeCoordinator(await transport.bus());
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
    coord.stop();
    await transport.teardown();
    dir.remove();
  });

  const startAgent = async (
    profile: 'v24' | 'v26',
    over: { logger?: ReturnType<typeof createMemoryLogger> } = {},
  ) => {
    const sim = simAgent({
      nodeId: 'node-1',
      bus: await transport.bus({ nodeId: 'node-1' }),
      spec: simSpec(profile),
      stateDir: dir.path,
      ...over,
    });
    agents.push(sim.agent);
    expect(await sim.agent.start()).toBeUndefined();
    return sim;
  };
  const stopAgent = async (agent: Agent) => {
    agents.splice(agents.indexOf(agent), 1);
    expect(await agent.stop()).toBeUndefined();
  };
  const opsOf = (agent: Agent) => createFileStateStore(dir.path).readOps(agent.bootId());
  const request = async (subject: string, payload: unknown) =>
    (await transport.bus()).request(subject, payload, { timeoutMs: 5000 });

  it.each(['v24', 'v26'] as const)(
    '%s: fetches its assignment at start, attaches, reports every connection and observedGeneration',
    async (profile) => {
      coord.latest.set(
        'node-1',
        assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
      );
      const { agent } = await startAgent(profile);
      await waitUntil('converged', () => agent.observedGeneration() === 1);
      await waitUntil('LinkCreated', () => coord.ofType('LinkCreated').length === 1);
      const created = coord.ofType('LinkCreated')[0]!.data as {
        policy: string;
        connections: { function: string; cookie: string }[];
        observedGeneration: number;
      };
      expect(created.policy).toBe(POLICY);
      expect(created.observedGeneration).toBe(1);
      expect(created.connections.map((c) => `${c.function}=${c.cookie}`).sort()).toEqual([
        'tcp_recvmsg=1',
        'tcp_sendmsg=1',
      ]);
      expect(coord.ofType('NodeRegistered')[0]?.data).toMatchObject({
        nodeId: 'node-1',
        labels: { role: 'web' },
        profile,
      });
      expect(coord.ofType('KernelProfileDetected')[0]?.data).toMatchObject({
        attachPath: 'tracing-multi',
      });
      await waitUntil('heartbeat with generation 1', () =>
        coord.heartbeats.some((h) => h.nodeId === 'node-1' && h.observedGeneration === 1),
      );
      // the nf_tables functions wait for their module
      const state = await agent.actualState();
      expect(state.policies[0]?.pending.map((p) => p.function)).toEqual([
        'nft_do_chain',
        'nft_lookup',
      ]);
    },
  );

  it('applies a policy update make-before-break: the program never leaves a traced function', async () => {
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
    );
    const { agent } = await startAgent('v24');
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    const v2 = {
      ...tcpPolicy(['tcp_*']),
      program: { name: 'tcp_lat', attach: 'fentry' as const, reads: [0] },
    };
    const reply = await request(
      'tramway.agent.node-1.assign',
      signed(assignmentOf('node-1', 2, [{ name: POLICY, version: 2, spec: v2 }])),
    );
    expect(reply).toEqual({ accepted: true, epoch: 0, generation: 2 });
    await waitUntil('generation 2', () => agent.observedGeneration() === 2);
    expect(agent.heldLinks().map((l) => [l.policyVersion, l.linkId])).toEqual([[2, 2]]);
    const timeline = coverageTimeline(simSpec('v24'), opsOf(agent), 'tcp_lat');
    const firstFull = timeline.findIndex((t) => t.covered.size === 2);
    expect(firstFull).toBeGreaterThanOrEqual(0);
    for (const t of timeline.slice(firstFull))
      expect([...t.covered].sort()).toEqual(['vmlinux:tcp_recvmsg', 'vmlinux:tcp_sendmsg']);
    await waitUntil('release of v1 reported', () => coord.ofType('LinkReleased').length === 1);
    expect(coord.ofType('LinkReleased')[0]?.data).toMatchObject({
      linkId: 1,
      reason: 'replaced by tcp-latency version 2',
    });
    // an older generation is not adopted
    expect(
      await request('tramway.agent.node-1.assign', signed(assignmentOf('node-1', 1, []))),
    ).toEqual({
      accepted: false,
      epoch: 0,
      generation: 2,
      error: 'replayed',
      reason: 'epoch 0 generation 1 is older than the one the node holds (epoch 0 generation 2)',
    });
  });

  it.each(['v24', 'v26'] as const)(
    '%s: attaches the pending module targets on its own when the module loads',
    async (profile) => {
      coord.latest.set(
        'node-1',
        assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
      );
      const { agent } = await startAgent(profile);
      await waitUntil('generation 1', () => agent.observedGeneration() === 1);
      expect(
        await request('tramway.agent.node-1.module', { action: 'load', module: 'nf_tables' }),
      ).toEqual({ ok: true });
      const connected = agent
        .heldLinks()
        .flatMap((l) => l.connections.map((c) => `${c.module ?? 'vmlinux'}:${c.function}`));
      expect(connected.sort()).toEqual([
        'nf_tables:nft_do_chain',
        'nf_tables:nft_lookup',
        'vmlinux:tcp_recvmsg',
        'vmlinux:tcp_sendmsg',
      ]);
      await waitUntil('ModuleLoaded', () => coord.ofType('ModuleLoaded').length === 1);
      expect(coord.ofType('ModuleLoaded')[0]?.data).toMatchObject({
        module: 'nf_tables',
        btfObjId: 2,
      });
      // V24: one multi link per program: a new program and link over all targets, then the old one goes
      // V26: one program per BTF object: the module's link is added beside the vmlinux one
      expect(agent.heldLinks().length).toBe(profile === 'v24' ? 1 : 2);
      const timeline = coverageTimeline(simSpec(profile), opsOf(agent), 'tcp_lat');
      const afterFirst = timeline.slice(
        timeline.findIndex((t) => t.covered.has('vmlinux:tcp_sendmsg')),
      );
      for (const t of afterFirst) expect(t.covered.has('vmlinux:tcp_sendmsg')).toBe(true);
    },
  );

  it.each(['v24', 'v26'] as const)(
    '%s: drains the links that pin a module before unloading it',
    async (profile) => {
      coord.latest.set(
        'node-1',
        assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
      );
      const { agent } = await startAgent(profile);
      await waitUntil('generation 1', () => agent.observedGeneration() === 1);
      await agent.module('load', 'nf_tables');
      const before = opsOf(agent).length;
      expect(
        await request('tramway.agent.node-1.module', { action: 'unload', module: 'nf_tables' }),
      ).toEqual({ ok: true });
      const ops = opsOf(agent)
        .slice(before)
        .map((o) => o.op);
      const unload = ops.indexOf('module_unload');
      expect(unload).toBe(ops.length - 1);
      expect(ops.slice(0, unload)).toContain('link_unpin');
      const connected = agent.heldLinks().flatMap((l) => l.connections.map((c) => c.function));
      expect(connected.sort()).toEqual(['tcp_recvmsg', 'tcp_sendmsg']);
      await waitUntil('ModuleUnloaded', () => coord.ofType('ModuleUnloaded').length === 1);
      expect(
        coord
          .ofType('LinkReleased')
          .some((e) => (e.data as { reason: string }).reason === 'drain module nf_tables'),
      ).toBe(true);
      const timeline = coverageTimeline(simSpec(profile), opsOf(agent), 'tcp_lat');
      const afterFirst = timeline.slice(
        timeline.findIndex((t) => t.covered.has('vmlinux:tcp_sendmsg')),
      );
      for (const t of afterFirst) expect(t.covered.has('vmlinux:tcp_sendmsg')).toBe(true);
      expect((await agent.actualState()).modules).toEqual([
        { name: 'nf_tables', state: 'unloaded' },
      ]);
    },
  );

  it('keeps its pinned links across an agent restart and does not attach twice', async () => {
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
    );
    const first = await startAgent('v24');
    await waitUntil('generation 1', () => first.agent.observedGeneration() === 1);
    const links = first.agent.heldLinks().map((l) => l.linkId);
    const bootId = first.agent.bootId();
    await stopAgent(first.agent);

    const second = await startAgent('v24');
    await waitUntil('generation 1 again', () => second.agent.observedGeneration() === 1);
    expect(second.agent.bootId()).toBe(bootId);
    expect(second.agent.heldLinks().map((l) => l.linkId)).toEqual(links);
    const ops = opsOf(second.agent).map((o) => o.op);
    expect(ops.filter((o) => o === 'link_create')).toHaveLength(1);
    expect(ops.filter((o) => o === 'prog_load')).toHaveLength(1);
    // the kernel still has the link, held by its pin only now that the old agent's fd is closed
    const kernelLinks = second.state().links;
    expect([...kernelLinks.values()].map((l) => [l.id, l.pinned, l.fdOpen])).toEqual([
      [links[0], true, false],
    ]);
    expect(coord.ofType('NodeBooted')).toHaveLength(1);
    expect(coord.ofType('LinkCreated')).toHaveLength(1);
    // and it can still release it after the restart (unpin destroys it)
    await request('tramway.agent.node-1.assign', signed(assignmentOf('node-1', 2, [])));
    await waitUntil('generation 2', () => second.agent.observedGeneration() === 2);
    expect(second.state().links.size).toBe(0);
  });

  it('after a reboot knows every link is gone, reports NodeBooted, and re-applies', async () => {
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
    );
    const first = await startAgent('v26');
    await waitUntil('generation 1', () => first.agent.observedGeneration() === 1);
    const oldBoot = first.agent.bootId();
    await stopAgent(first.agent);
    rebootSimNode(dir.path);
    coord.latest.delete('node-1'); // the coordinator is unreachable for the assignment: the persisted one is used

    const second = await startAgent('v26');
    await waitUntil('re-applied', () => second.agent.observedGeneration() === 1);
    expect(second.agent.bootId()).not.toBe(oldBoot);
    expect(second.agent.heldLinks()).toHaveLength(1);
    expect(second.state().links.size).toBe(1);
    await waitUntil('NodeBooted twice', () => coord.ofType('NodeBooted').length === 2);
    expect(coord.ofType('NodeBooted').map((e) => (e.data as { bootId: string }).bootId)).toEqual([
      oldBoot,
      second.agent.bootId(),
    ]);
    await waitUntil('LinkCreated on the new boot', () => coord.ofType('LinkCreated').length === 2);
  });

  it('rejects and logs a malformed message, touching nothing', async () => {
    const logger = createMemoryLogger();
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
    );
    const { agent, state } = await startAgent('v24', { logger });
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    await waitUntil('facts', () => coord.ofType('LinkCreated').length === 1);
    const factsBefore = coord.facts.length;
    const kernelBefore = state();
    // signed with the coordinator's key, and still malformed
    const bad = [
      [
        'tramway.agent.node-1.assign',
        signed({ nodeId: 'node-1', generation: 'two', policies: [] }),
      ],
      [
        'tramway.agent.node-1.assign',
        signed({
          nodeId: 'node-1',
          generation: 5,
          policies: [{ name: 'Bad Name', version: 1, spec: {} }],
        }),
      ],
      ['tramway.agent.node-1.module', { action: 'explode', module: 'nf_tables' }],
      ['tramway.agent.node-1.plan', { policy: { metadata: { name: 'x' } } }],
    ] as const;
    for (const [subject, payload] of bad) {
      const error = await request(subject, payload).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAppError(error), subject).toBe(true);
      expect((error as { remoteCode?: string }).remoteCode).toBe('InvalidMessage');
    }
    const warnings = logger.records.filter((r) => r.msg === 'malformed message rejected');
    expect(warnings).toHaveLength(bad.length);
    expect(warnings[0]?.meta).toMatchObject({
      subject: 'tramway.agent.node-1.assign',
      problems: ['generation: Invalid input: expected number, received string'],
    });
    // one for another node is refused with its code
    expect(
      await request('tramway.agent.node-1.assign', signed(assignmentOf('node-2', 9, []))),
    ).toMatchObject({ accepted: false, error: 'wrong-node', generation: 1 });
    expect(agent.refusedAssignments()).toEqual({ invalid: 2, 'wrong-node': 1 });
    expect(agent.assignment()?.generation).toBe(1);
    expect(state()).toBe(kernelBefore);
    expect(coord.facts.length).toBe(factsBefore);
  });

  it('answers plan requests for its kernel without changing it, and state requests with what the kernel holds', async () => {
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
    );
    const { agent, state } = await startAgent('v24');
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    const kernelBefore = state();
    const plan = (await request('tramway.agent.node-1.plan', {
      policy: {
        apiVersion: 'tramway.dev/v1alpha1',
        kind: 'TracingPolicy',
        metadata: { name: 'udp' },
        spec: tcpPolicy(['*_sendmsg', 'nf_tables:nft_lookup', 'nope_*']),
      },
      policyVersion: 1,
    })) as {
      path: string;
      counts: unknown;
      targets: { function: string; status: string; headroom?: number }[];
      unmatched: unknown[];
    };
    expect(state()).toBe(kernelBefore);
    expect(plan.path).toBe('tracing-multi');
    expect(plan.counts).toEqual({ attach: 2, pending: 1, rejected: 0, trampolineFull: 0 });
    expect(plan.targets.find((t) => t.function === 'tcp_sendmsg')?.headroom).toBe(37);
    expect(plan.targets.find((t) => t.function === 'udp_sendmsg')?.headroom).toBe(38);
    expect(plan.unmatched).toHaveLength(1);
    const actual = (await request('tramway.agent.node-1.state', {})) as {
      links: { policy: string; connections: unknown[] }[];
      observedGeneration: number;
    };
    expect(actual.observedGeneration).toBe(1);
    expect(actual.links.map((l) => [l.policy, l.connections.length])).toEqual([[POLICY, 2]]);
  });

  it('re-publishes the facts of its boot once the coordinator answers again', async () => {
    coord.stop(); // no coordinator: the start-up facts go nowhere
    const { agent } = await startAgent('v24');
    coord = fakeCoordinator(await transport.bus());
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
    );
    await waitUntil('generation 1 via the retried fetch', () => agent.observedGeneration() === 1);
    await waitUntil('registration re-published', () => coord.ofType('NodeRegistered').length === 1);
    expect(coord.ofType('NodeBooted')).toHaveLength(1);
    await waitUntil('link reported', () => coord.ofType('LinkCreated').length === 1);
  });

  it('attaches again when a held link left the kernel behind its back', async () => {
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
    );
    const { agent, driver } = await startAgent('v26');
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    const [link] = agent.heldLinks();
    await driver.apply({ op: 'link_unpin', link: link!.linkId });
    await driver.apply({ op: 'link_release', link: link!.linkId });
    await agent.reconcile();
    expect(agent.heldLinks().map((l) => l.linkId)).toEqual([link!.linkId + 1]);
    await waitUntil('LinkReleased', () => coord.ofType('LinkReleased').length === 1);
    expect(coord.ofType('LinkReleased')[0]?.data).toMatchObject({ reason: 'gone from the kernel' });
  });

  it('v24: a program whose origin is in the module moves its origin off it before the module unloads', async () => {
    const spec = {
      ...tcpPolicy(),
      program: { name: 'tcp_lat', attach: 'fentry' as const, origin: 'nf_tables:nft_do_chain' },
    };
    coord.latest.set('node-1', assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec }]));
    const { agent, state } = await startAgent('v24');
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    // the origin's module is not loaded: the first available function is the origin meanwhile
    const originOf = () => [...state().progs.values()].map((p) => p.origin?.fname);
    expect(originOf()).toEqual(['tcp_sendmsg']);
    expect(await agent.module('load', 'nf_tables')).toEqual({ ok: true });
    expect(originOf()).toEqual(['nft_do_chain']);
    expect(await agent.module('unload', 'nf_tables')).toEqual({ ok: true });
    expect(originOf()).toEqual(['tcp_sendmsg']);
    expect(state().modules.get('nf_tables')?.state).toBe('unloaded');
  });

  it('answers a refused module unload with its errno, and keeps the links', async () => {
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
    );
    const { agent } = await startAgent('v26');
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    const links = agent.heldLinks().map((l) => l.linkId);
    expect(
      await request('tramway.agent.node-1.module', { action: 'unload', module: 'nf_tables' }),
    ).toMatchObject({
      ok: false,
      errno: 'ENOENT',
    });
    expect(
      await request('tramway.agent.node-1.module', { action: 'load', module: 'no_such' }),
    ).toMatchObject({
      ok: false,
      errno: 'ENOENT',
    });
    expect(agent.heldLinks().map((l) => l.linkId)).toEqual(links);
  });

  it('does not publish acknowledged facts again when a coordinator re-sends a generation it already has (the stream holds them)', async () => {
    const assignment = assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]);
    coord.latest.set('node-1', assignment);
    const { agent } = await startAgent('v24');
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    await waitUntil('facts', () => coord.ofType('LinkCreated').length === 1);
    await waitUntil('every fact acknowledged', () => agent.pendingFacts() === 0);
    coord.facts.splice(0);
    expect(await request('tramway.agent.node-1.assign', signed(assignment))).toEqual({
      accepted: true,
      epoch: 0,
      generation: 1,
    });
    // the stream delivers in order: whatever the resync published comes before this marker
    const coordBus = await transport.bus();
    await coordBus.persist(
      'tramway.factlog.node-1',
      { events: [{ id: 'marker' }] },
      { msgId: `marker-${Date.now()}` },
    );
    await waitUntil('the marker', () => coord.facts.some((f) => f.id === 'marker'), {
      timeoutMs: 15_000,
    });
    expect(coord.facts.map((f) => f.id)).toEqual(['marker']);
  });
});
