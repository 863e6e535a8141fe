/**
 * The agent as the embedded mode uses it: several agents in one process on one in-process bus,
 * state kept in memory (a `createMemoryStateStore` outlives an agent instance).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '../../../shared/src/infra/index.js';
import { createMemoryStateStore } from '../../../services/agent/src/state/agent-state.store.js';
import { waitUntil } from '../../support/wait-until.js';
import {
  assignmentOf,
  fakeCoordinator,
  signed,
  simAgent,
  simSpec,
  tcpPolicy,
} from './agent-harness.js';

describe('agents in one process (embedded mode)', () => {
  const bus = createInProcessBus();
  const coord = fakeCoordinator(bus);
  afterEach(() => coord.facts.splice(0));

  it('three agents converge independently; a restarted one (same memory store) re-attaches nothing', async () => {
    const nodes = ['e-1', 'e-2', 'e-3'];
    for (const [i, n] of nodes.entries())
      coord.latest.set(
        n,
        assignmentOf(n, i + 1, [{ name: 'tcp-latency', version: 1, spec: tcpPolicy() }]),
      );
    const stores = nodes.map(() => createMemoryStateStore());
    const sims = nodes.map((nodeId, i) =>
      simAgent({ nodeId, bus, spec: simSpec(i === 1 ? 'v26' : 'v24'), store: stores[i]! }),
    );
    for (const s of sims) expect(await s.agent.start()).toBeUndefined();
    await waitUntil('all converged', () =>
      sims.every((s, i) => s.agent.observedGeneration() === i + 1),
    );
    expect(
      coord
        .ofType('LinkCreated')
        .map((e) => (e.data as { nodeId: string }).nodeId)
        .sort(),
    ).toEqual(nodes);

    await sims[0]!.agent.stop();
    const again = simAgent({ nodeId: 'e-1', bus, spec: simSpec('v24'), store: stores[0]! });
    expect(await again.agent.start()).toBeUndefined();
    await waitUntil('restarted agent converged', () => again.agent.observedGeneration() === 1);
    expect(
      stores[0]!.readOps(again.agent.bootId()).filter((o) => o.op === 'link_create'),
    ).toHaveLength(1);
    expect(again.agent.heldLinks().map((l) => l.linkId)).toEqual([1]);
    for (const s of [again, ...sims.slice(1)]) await s.agent.stop();
  });

  it('per-function strategy: one link per function; draining a module releases only its functions’ links', async () => {
    const spec = { ...tcpPolicy(), strategy: 'per-function' as const };
    coord.latest.set('pf-1', assignmentOf('pf-1', 1, [{ name: 'tcp-latency', version: 1, spec }]));
    const { agent } = simAgent({ nodeId: 'pf-1', bus, spec: simSpec('v24', true) });
    expect(await agent.start()).toBeUndefined();
    await waitUntil('converged', () => agent.observedGeneration() === 1);
    const before = agent.heldLinks().map((l) => [l.groupKey, l.attachType]);
    expect(before).toEqual([
      ['vmlinux:tcp_sendmsg', 'BPF_TRACE_FENTRY'],
      ['vmlinux:tcp_recvmsg', 'BPF_TRACE_FENTRY'],
      ['nf_tables:nft_do_chain', 'BPF_TRACE_FENTRY'],
      ['nf_tables:nft_lookup', 'BPF_TRACE_FENTRY'],
    ]);
    // the module the node booted with is a fact too
    await waitUntil('ModuleLoaded at registration', () =>
      coord
        .ofType('ModuleLoaded')
        .some((e) => (e.data as { nodeId: string; module: string }).nodeId === 'pf-1'),
    );
    const vmlinuxLinks = agent
      .heldLinks()
      .slice(0, 2)
      .map((l) => l.linkId);
    expect(await agent.module('unload', 'nf_tables')).toEqual({ ok: true });
    expect(agent.heldLinks().map((l) => l.linkId)).toEqual(vmlinuxLinks);
    await agent.stop();
  });

  it('attaches what its plan says: a first match without an address is not the V24 origin, and is reported refused', async () => {
    const base = simSpec('v24');
    const spec = {
      ...base,
      objects: [
        {
          ...base.objects[0]!,
          functions: [
            { name: 'tcp_aaa_noaddr', ret: 'int', params: ['void *'], address: false },
            ...base.objects[0]!.functions,
          ],
        },
        base.objects[1]!,
      ],
    };
    const { agent } = simAgent({ nodeId: 'plan-1', bus, spec });
    expect(await agent.start()).toBeUndefined();
    const policy = tcpPolicy(['tcp_*']);
    const plan = (await bus.request('tramway.agent.plan-1.plan', {
      policy: {
        apiVersion: 'tramway.dev/v1alpha1',
        kind: 'TracingPolicy',
        metadata: { name: 'tcp-latency' },
        spec: policy,
      },
      policyVersion: 1,
    })) as {
      counts: { attach: number; rejected: number };
      targets: { function: string; status: string }[];
    };
    expect(plan.counts).toMatchObject({ attach: 2, rejected: 1 });
    expect(
      await bus.request(
        'tramway.agent.plan-1.assign',
        signed(assignmentOf('plan-1', 1, [{ name: 'tcp-latency', version: 1, spec: policy }])),
      ),
    ).toEqual({
      accepted: true,
      epoch: 0,
      generation: 1,
    });
    await waitUntil('converged', () => agent.observedGeneration() === 1);
    const attached = agent.heldLinks().flatMap((l) => l.connections.map((c) => c.function));
    expect(attached.sort()).toEqual(
      plan.targets
        .filter((t) => t.status === 'attach')
        .map((t) => t.function)
        .sort(),
    );
    await waitUntil('refusal reported', () =>
      coord
        .ofType('LinkCreateFailed')
        .some((e) => (e.data as { nodeId: string }).nodeId === 'plan-1'),
    );
    const failed = coord
      .ofType('LinkCreateFailed')
      .find((e) => (e.data as { nodeId: string }).nodeId === 'plan-1');
    expect(failed?.data).toMatchObject({
      failingTarget: { function: 'tcp_aaa_noaddr' },
      errno: 2,
      policy: 'tcp-latency',
    });
    await agent.stop();
  });
});
