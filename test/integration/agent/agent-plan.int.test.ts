/**
 * The agent reconciles to the plan its assignment carries (docs/fleet-protocol.md, "The plan is a
 * fact"), and plans on its own only where the kernel changed under that plan, saying why once.
 * Real parts: the sim kernel (pure model), the in-process bus, the state directory on disk. The
 * coordinator is the harness's stand-in; plans are made with the domain's planNode, as the
 * coordinator gets them from the node at plan time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '../../../shared/src/infra/index.js';
import type { FleetBus } from '../../../shared/src/infra/index.js';
import type { KernelSpec } from '../../../shared/src/kernel/index.js';
import type { NewEvent } from '../../../shared/src/lib/index.js';
import type { RecordedPlan } from '@tramway/shared/domain';
import { planNode } from '@tramway/shared/domain';
import { silentLogger } from '@tramway/shared/infra';
import type { Agent } from '../../../services/agent/src/app.js';
import { createAgent } from '../../../services/agent/src/app.js';
import { createSimKernel } from '../../../services/agent/src/kernel/sim-kernel.loader.js';
import { policyOf } from '../../../services/agent/src/reconcile/agent-plans.js';
import type { AgentPolicySpec } from '../../../services/agent/src/reconcile/agent-policy.js';
import { rebootSimNode } from '../../../services/agent/src/state/agent-state.store.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { testAssignmentKeys } from '../../support/assignment-keys.js';
import { waitUntil } from '../../support/wait-until.js';
import { assignmentOf, fakeCoordinator, simAgent, simSpec, tcpPolicy } from './agent-harness.js';

const POLICY = 'tcp-latency';

/** The plan `spec`'s kernel gives for `policy` now, as the coordinator records it. */
const planOn = (kernel: ReturnType<typeof createSimKernel>, policy: AgentPolicySpec) => {
  if (!kernel.ok) throw new Error(kernel.error.join('\n'));
  const made = planNode(
    kernel.value.driver.state()!,
    policyOf({ name: POLICY, version: 1, spec: policy }),
    { nodeId: 'node-1', policyVersion: 1 },
  );
  return { path: made.path, targets: made.targets, unmatched: made.unmatched } as RecordedPlan;
};

const connectionsOf = (e: NewEvent) =>
  (e.data as { connections: { function: string; objId: number; btfId: number }[] }).connections;
const reasonsOf = (events: readonly NewEvent[]) =>
  events.map((e) => (e.data as { reason: string }).reason);

/** vmlinux with one more function before tcp_sendmsg: every later BTF id moves by two types. */
const changedBtf = (profile: 'v24' | 'v26'): KernelSpec => {
  const spec = simSpec(profile);
  const [vmlinux, ...rest] = spec.objects;
  return {
    ...spec,
    objects: [
      {
        ...vmlinux!,
        functions: [
          { name: 'tcp_init', ret: 'int', params: ['void *'] },
          ...(vmlinux as { functions: readonly unknown[] }).functions,
        ],
      } as (typeof spec.objects)[number],
      ...rest,
    ],
  };
};

describe('agent reconciling to its assigned plan', () => {
  let bus: FleetBus;
  let coord: ReturnType<typeof fakeCoordinator>;
  let dir: TempDir;
  const agents: Agent[] = [];

  beforeEach(() => {
    bus = createInProcessBus();
    coord = fakeCoordinator(bus);
    dir = makeTempDir('tramway-agent-plan-');
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
    coord.stop();
    await bus.close();
    dir.remove();
  });

  it('attaches exactly the functions of the plan it was sent, without resolving a pattern', async () => {
    // Given a plan that keeps only tcp_sendmsg of what tcp_* matches on this node
    const spec = simSpec('v24');
    const kernel = createSimKernel(spec);
    if (!kernel.ok) throw new Error(kernel.error.join('\n'));
    const full = planOn(createSimKernel(spec), tcpPolicy(['tcp_*']));
    expect(full.targets.map((t) => t.function)).toEqual(['tcp_sendmsg', 'tcp_recvmsg']);
    const plan = { ...full, targets: full.targets.filter((t) => t.function === 'tcp_sendmsg') };
    let resolves = 0;
    const driver = kernel.value.driver;
    const counting = {
      ...driver,
      resolve: (...args: Parameters<typeof driver.resolve>) => {
        resolves += 1;
        return driver.resolve(...args);
      },
    };
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy(['tcp_*']), plan }]),
    );

    // When the agent starts and reconciles
    const agent = createAgent({
      nodeId: 'node-1',
      labels: {},
      bus,
      driver: counting,
      clock: { now: () => new Date() },
      ids: { newId: () => 'plan-test' },
      logger: silentLogger,
      heartbeatMs: 50,
      requestTimeoutMs: 500,
      assignmentVerifyKey: testAssignmentKeys().publicKey,
    });
    agents.push(agent);
    expect(await agent.start()).toBeUndefined();
    await waitUntil('converged', () => agent.observedGeneration() === 1);
    await waitUntil('LinkCreated', () => coord.ofType('LinkCreated').length === 1);

    // Then it holds the plan's one function, asked the kernel for no resolution, planned nothing
    expect(connectionsOf(coord.ofType('LinkCreated')[0]!).map((c) => c.function)).toEqual([
      'tcp_sendmsg',
    ]);
    expect(resolves).toBe(0);
    expect(coord.ofType('NodeReplanned')).toEqual([]);
    expect(agent.plans()).toMatchObject([{ policy: POLICY, version: 1, source: 'assigned', plan }]);
  });

  it('plans on its own when the assignment has no plan, and says so once', async () => {
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy() }]),
    );
    const { agent } = simAgent({ nodeId: 'node-1', bus, spec: simSpec('v26') });
    agents.push(agent);
    expect(await agent.start()).toBeUndefined();
    await waitUntil('converged', () => agent.observedGeneration() === 1);
    await agent.reconcile();
    await agent.reconcile();
    await waitUntil('NodeReplanned', () => coord.ofType('NodeReplanned').length === 1);
    expect(coord.ofType('NodeReplanned')[0]?.data).toMatchObject({
      nodeId: 'node-1',
      generation: 1,
      policy: POLICY,
      policyVersion: 1,
      reason: 'no plan in the assignment',
    });
    expect(coord.ofType('NodeReplanned')).toHaveLength(1);
  });

  it('re-plans once when a module was unloaded and loaded again (new BTF object id) since its plan', async () => {
    // Given a plan made while nf_tables was loaded with one BTF object id
    const spec = simSpec('v24', true);
    const kernel = createSimKernel(spec);
    if (!kernel.ok) throw new Error(kernel.error.join('\n'));
    const plan = planOn(kernel, tcpPolicy());
    const planned = plan.targets.find((t) => t.function === 'nft_do_chain')!;
    expect(planned.status).toBe('attach');

    // and the module unloaded and loaded again before the assignment arrives
    const sim = simAgent({ nodeId: 'node-1', bus, spec });
    agents.push(sim.agent);
    expect((await sim.driver.apply({ op: 'module_unload', module: 'nf_tables' })).ok).toBe(true);
    expect((await sim.driver.apply({ op: 'module_load', module: 'nf_tables' })).ok).toBe(true);
    const objId = sim.state().modules.get('nf_tables')!.objId!;
    expect(objId).not.toBe(planned.objId);
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy(), plan }]),
    );

    // When the agent reconciles, and reconciles again
    expect(await sim.agent.start()).toBeUndefined();
    await waitUntil('converged', () => sim.agent.observedGeneration() === 1);
    await sim.agent.reconcile();
    await waitUntil('NodeReplanned', () => coord.ofType('NodeReplanned').length === 1);

    // Then it re-planned once, naming the change, and attached to the module as it is now
    expect(reasonsOf(coord.ofType('NodeReplanned'))).toEqual([
      `module nf_tables BTF object id ${planned.objId} -> ${objId}`,
    ]);
    const nft = connectionsOf(coord.ofType('LinkCreated')[0]!).find(
      (c) => c.function === 'nft_do_chain',
    );
    expect(nft?.objId).toBe(objId);
    expect(sim.agent.plans()[0]?.source).toBe('replanned');
  });

  it('re-plans once per module change it drives: unloaded, then loaded', async () => {
    const spec = simSpec('v26', true);
    const plan = planOn(createSimKernel(spec), tcpPolicy());
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy(), plan }]),
    );
    const sim = simAgent({ nodeId: 'node-1', bus, spec });
    agents.push(sim.agent);
    expect(await sim.agent.start()).toBeUndefined();
    await waitUntil('converged', () => sim.agent.observedGeneration() === 1);
    expect(await sim.agent.module('unload', 'nf_tables')).toEqual({ ok: true });
    await sim.agent.reconcile();
    expect(await sim.agent.module('load', 'nf_tables')).toEqual({ ok: true });
    await sim.agent.reconcile();
    await waitUntil('two NodeReplanned', () => coord.ofType('NodeReplanned').length === 2);
    expect(reasonsOf(coord.ofType('NodeReplanned'))).toEqual([
      'module nf_tables unloaded',
      'module nf_tables loaded',
    ]);
    const held = sim.agent.heldLinks().flatMap((l) => l.connections.map((c) => c.function));
    expect(held.sort()).toEqual(['nft_do_chain', 'nft_lookup', 'tcp_recvmsg', 'tcp_sendmsg']);
  });

  it('keeps its plan across a reboot into the same BTF, and re-plans after a reboot into a changed one', async () => {
    // Given a node converged on its plan
    const plan = planOn(createSimKernel(simSpec('v24')), tcpPolicy(['tcp_*']));
    coord.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: POLICY, version: 1, spec: tcpPolicy(['tcp_*']), plan }]),
    );
    const boot = async (spec: KernelSpec) => {
      const sim = simAgent({ nodeId: 'node-1', bus, spec, stateDir: dir.path });
      agents.push(sim.agent);
      expect(await sim.agent.start()).toBeUndefined();
      await waitUntil('converged', () => sim.agent.observedGeneration() === 1);
      await waitUntil('linked', () => sim.agent.heldLinks().length === 1);
      return sim;
    };
    const first = await boot(simSpec('v24'));
    await first.agent.stop();

    // When it reboots into the same kernel: the plan still holds
    rebootSimNode(dir.path);
    const second = await boot(simSpec('v24'));
    expect(second.agent.bootId()).not.toBe(first.agent.bootId());
    expect(coord.ofType('NodeReplanned')).toEqual([]);
    await second.agent.stop();

    // When it reboots into a kernel whose BTF ids moved
    rebootSimNode(dir.path);
    const third = await boot(changedBtf('v24'));
    await waitUntil('NodeReplanned', () => coord.ofType('NodeReplanned').length === 1);

    // Then it re-planned once, saying what changed and that a reboot did it, and attached by the new ids
    const sendmsg = plan.targets.find((t) => t.function === 'tcp_sendmsg')!;
    const [reason] = reasonsOf(coord.ofType('NodeReplanned'));
    expect(reason).toMatch(
      new RegExp(`^BTF id ${sendmsg.btfId} of vmlinux is no longer tcp_sendmsg.* after reboot$`),
    );
    const now = third.state().templates[0]!.funcIds.get('tcp_sendmsg');
    const link = third.agent.heldLinks()[0]!;
    expect(link.connections.find((c) => c.function === 'tcp_sendmsg')?.btfId).toBe(now);
    expect(now).not.toBe(sendmsg.btfId);
  });
});
