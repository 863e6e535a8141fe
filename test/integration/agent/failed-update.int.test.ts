/**
 * Make-before-break when the new version cannot attach anything on the node: the old version's
 * links stay and the failure is reported (LinkCreateFailed, NodeReconciled). Real parts: the sim
 * kernel model, the agent, the in-process bus.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '../../../shared/src/infra/index.js';
import type { FleetBus } from '../../../shared/src/infra/index.js';
import { waitUntil } from '../../support/wait-until.js';
import { assignmentOf, fakeCoordinator, simAgent, simSpec, tcpPolicy } from './agent-harness.js';

describe('agent: a policy update that cannot attach anything', () => {
  let bus: FleetBus;
  beforeEach(() => {
    bus = createInProcessBus();
  });
  afterEach(async () => {
    await bus.close();
  });

  it.each(['v24', 'v26'] as const)(
    '%s: keeps the old version linked and reports the failure',
    async (profile) => {
      const coord = fakeCoordinator(bus);
      coord.latest.set(
        'node-1',
        assignmentOf('node-1', 1, [
          { name: 'tcp-latency', version: 1, spec: tcpPolicy(['tcp_*']) },
        ]),
      );
      const { agent, state } = simAgent({ nodeId: 'node-1', bus, spec: simSpec(profile) });
      expect(await agent.start()).toBeUndefined();
      try {
        await waitUntil('v1 attached', () => agent.observedGeneration() === 1);
        const v1Links = agent.heldLinks().map((l) => l.linkId);
        expect(v1Links.length).toBeGreaterThan(0);

        // When v2 asks for fmod_ret on functions that are not error-injectable (spec §2.3)
        const v2 = {
          ...tcpPolicy(['tcp_*']),
          program: { name: 'tcp_ret', attach: 'fmod_ret' as const },
        };
        agent.assign(assignmentOf('node-1', 2, [{ name: 'tcp-latency', version: 2, spec: v2 }]));
        await waitUntil('generation 2 reconciled', () => agent.observedGeneration() === 2);

        // Then v1's links are still held and in the kernel, none released
        expect(agent.heldLinks().map((l) => [l.linkId, l.policyVersion])).toEqual(
          v1Links.map((id) => [id, 1]),
        );
        expect([...state().links.keys()].sort()).toEqual([...v1Links].sort());
        expect(coord.ofType('LinkReleased')).toEqual([]);
        // And the failure is reported: per target, and as the pass's outcome
        await waitUntil('failure reported', () => coord.ofType('LinkCreateFailed').length >= 2);
        const failed = coord
          .ofType('LinkCreateFailed')
          .map(
            (e) => e.data as { observedGeneration: number; failingTarget: { function: string } },
          );
        expect(failed.every((f) => f.observedGeneration === 2)).toBe(true);
        expect(failed.map((f) => f.failingTarget.function).sort()).toEqual([
          'tcp_recvmsg',
          'tcp_sendmsg',
        ]);
        await waitUntil('outcome of generation 2', () =>
          coord
            .ofType('NodeReconciled')
            .some((e) => (e.data as { observedGeneration: number }).observedGeneration === 2),
        );
        const outcome = coord.ofType('NodeReconciled').at(-1)!.data as {
          policies: { version: number; attached: number; rejected: unknown[] }[];
        };
        expect(outcome.policies).toEqual([
          expect.objectContaining({ version: 2, attached: 0, pending: [] }),
        ]);
        expect(outcome.policies[0]!.rejected).toHaveLength(2);
      } finally {
        coord.stop();
        await agent.stop();
      }
    },
  );
});
