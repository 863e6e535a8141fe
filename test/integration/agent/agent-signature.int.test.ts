/**
 * The agent's side of signed assignments (docs/fleet-protocol.md, "Signed assignments", "Epoch"):
 * a real agent on a sim kernel over the in-process bus. Without a verify key it does not start
 * unless told it may run insecure; with one it orders assignments by (epoch, generation), so a
 * higher epoch always wins, and counts each refusal by its code.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FleetBus, LogRecord } from '@tramway/shared/infra';
import { createInProcessBus, createMemoryLogger, signAssignment } from '@tramway/shared/infra';
import type { Agent } from '../../../services/agent/src/app.js';
import { testAssignmentKeys } from '../../support/assignment-keys.js';
import { waitUntil } from '../../support/wait-until.js';
import { fakeCoordinator, simAgent, simSpec, tcpPolicy } from './agent-harness.js';

let bus: FleetBus;
let agents: Agent[];

beforeEach(() => {
  bus = createInProcessBus();
  fakeCoordinator(bus);
  agents = [];
});
afterEach(async () => {
  for (const a of agents) await a.stop();
  await bus.close();
});

const assignment = (epoch: number, generation: number, patterns: readonly string[]) => ({
  nodeId: 'node-1',
  epoch,
  generation,
  policies: [{ name: 'tcp-latency', version: generation, spec: tcpPolicy(patterns) }],
});
const send = (payload: unknown) =>
  bus.request('tramway.agent.node-1.assign', payload, { timeoutMs: 5000 });
const attached = (agent: Agent) =>
  agent
    .heldLinks()
    .flatMap((l) => l.connections.map((c) => c.function))
    .sort();

describe('an agent and the assignments it accepts', () => {
  it('does not start without a verify key', async () => {
    const { agent } = simAgent({ nodeId: 'node-1', bus, spec: simSpec('v24'), verifyKey: null });
    const error = await agent.start();
    expect(error?.message).toMatch(/no assignment verify key/);
  });

  it('with --insecure-unsigned-assignments accepts unsigned ones, and says so loudly', async () => {
    const records: LogRecord[] = [];
    const { agent } = simAgent({
      nodeId: 'node-1',
      bus,
      spec: simSpec('v24'),
      verifyKey: null,
      insecureUnsignedAssignments: true,
      logger: createMemoryLogger(records),
    });
    agents.push(agent);
    expect(await agent.start()).toBeUndefined();
    expect(records.some((r) => r.level === 'warn' && r.msg.startsWith('INSECURE'))).toBe(true);
    expect(await send(assignment(0, 1, ['tcp_sendmsg']))).toEqual({
      accepted: true,
      epoch: 0,
      generation: 1,
    });
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
  });

  it('orders by (epoch, generation): a higher epoch always wins, an older pair is refused', async () => {
    const { agent } = simAgent({ nodeId: 'node-1', bus, spec: simSpec('v24') });
    agents.push(agent);
    expect(await agent.start()).toBeUndefined();
    const key = testAssignmentKeys().privateKey;
    expect(await send(signAssignment(key, assignment(0, 5, ['tcp_sendmsg'])))).toMatchObject({
      accepted: true,
      generation: 5,
    });
    await waitUntil('generation 5', () => agent.observedGeneration() === 5);
    // the coordinator took the node back: epoch 1 wins over generation 5 of epoch 0
    expect(await send(signAssignment(key, assignment(1, 2, ['tcp_recvmsg'])))).toEqual({
      accepted: true,
      epoch: 1,
      generation: 2,
    });
    await waitUntil('generation 2 of epoch 1', () => agent.observedGeneration() === 2);
    expect(attached(agent)).toEqual(['tcp_recvmsg']);
    // any pair of epoch 0 is older now, whatever its generation
    expect(await send(signAssignment(key, assignment(0, 1_000_000, ['tcp_sendmsg'])))).toEqual({
      accepted: false,
      epoch: 1,
      generation: 2,
      error: 'replayed',
      reason:
        'epoch 0 generation 1000000 is older than the one the node holds (epoch 1 generation 2)',
    });
    // the same pair with other content is refused too
    expect(await send(signAssignment(key, assignment(1, 2, ['tcp_sendmsg'])))).toMatchObject({
      accepted: false,
      error: 'replayed',
    });
    expect(await send(assignment(2, 1, ['tcp_sendmsg']))).toMatchObject({
      accepted: false,
      error: 'unsigned',
    });
    expect(agent.refusedAssignments()).toEqual({ replayed: 2, unsigned: 1 });
    expect(agent.assignment()).toMatchObject({ epoch: 1, generation: 2 });
    expect(attached(agent)).toEqual(['tcp_recvmsg']);
  });
});
