/**
 * Taking a node back with a new epoch (docs/fleet-protocol.md, "Epoch"), on a real coordinator
 * (SQLite log, in-process bus) with a scripted agent: a node whose state reply claims a
 * generation the coordinator never issued is taken back once, with the reason in the log, and
 * the drift check does not loop however often it runs while the node keeps claiming it.
 */
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '@tramway/shared/lib';
import { waitUntil } from '../../support/wait-until.js';
import { useRestartFixture } from './restart-fixture.js';

const fx = useRestartFixture('tramway-take-back-');

const allEvents = async (): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of fx.store.readAll()) out.push(e);
  return out;
};

describe('a node holding a generation the coordinator never issued', () => {
  it('is taken back once with a new epoch by the drift check, never in a repair loop', async () => {
    const applied = await fx.coordinator.core.api.apply(
      {
        policy: {
          apiVersion: 'tramway.dev/v1alpha1',
          kind: 'TracingPolicy',
          metadata: { name: 'tcp' },
          spec: { program: { name: 'tcp_lat', attach: 'fentry' }, targets: [{ pattern: 'tcp_*' }] },
        },
      },
      { actor: 'user:alice' },
    );
    expect(applied.status).toBe(202);
    await waitUntil(
      'converged',
      () => fx.coordinator.core.fleet().nodes['node-01']?.observedGeneration === 1,
    );
    const before = await allEvents();

    // When the node says it holds generation 1,000,000 (a forged assignment it accepted)
    fx.agent.claimObserved(1_000_000);
    for (let i = 0; i < 5; i++) expect(await fx.coordinator.core.checkDrift()).toEqual([]);

    // Then one take-back, in epoch 1, with why; one new generation; no drift repair
    const added = (await allEvents()).slice(before.length);
    expect(added.map((e) => [e.type, e.id, e.metadata.actor])).toEqual([
      ['NodeTakenBack', 'takeback:node-01:e1', 'coordinator'],
      ['AssignmentIssued', 'assignment:node-01:g2', 'coordinator'],
    ]);
    expect(added[0]!.data).toEqual({
      nodeId: 'node-01',
      epoch: 1,
      claimedGeneration: 1_000_000,
      reason:
        'the node holds generation 1000000, which the coordinator never issued (latest issued: 1)',
    });
    expect(added[1]!.data).toMatchObject({ generation: 2, epoch: 1 });
    // and the node was sent generation 2 of epoch 1
    expect(fx.agent.assignsReceived.at(-1)).toBe(2);
  });
});
