/**
 * Drift repair across a coordinator restart (real: SQLite log, in-process bus, coordinator;
 * scripted: the agent). A coordinator records a node's drift (DriftFound) and then repairs it
 * (the same links as the next generation) in two appends; one that stops between them leaves a
 * log whose drift is recorded but not repaired. The next coordinator must still repair it.
 */
import { describe, expect, it } from 'vitest';
import { encodeFleetEvent } from '@tramway/shared/contracts';
import type { DriftItem } from '@tramway/shared/domain';
import { FleetStreams } from '@tramway/shared/domain';
import { waitUntil } from '../../support/wait-until.js';
import { useRestartFixture } from './restart-fixture.js';

const fx = useRestartFixture('tramway-drift-restart-');

describe('drift repair after a restart', () => {
  it('repairs a drift a stopped coordinator recorded but did not repair', async () => {
    // Given node-01 runs tcp v1 (generation 1), then loses its link behind the log's back
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
    fx.agent.loseLink();
    // And a coordinator that recorded that drift and stopped before repairing it
    await fx.stopCoordinator();
    const linkId = Number(Object.keys(fx.coordinator.core.fleet().nodes['node-01']!.links)[0]);
    const items: DriftItem[] = [
      { kind: 'missing-link', detail: 'policy tcp v1 is assigned but no link of it is held' },
      {
        kind: 'missing-link',
        linkId,
        detail: `link ${linkId} is in the log but not in the kernel`,
      },
    ];
    const found = encodeFleetEvent(
      { type: 'DriftFound', data: { nodeId: 'node-01', observedGeneration: 1, items } },
      {
        id: 'drift:node-01:g1',
        metadata: { occurredAt: new Date().toISOString(), actor: 'coordinator' },
      },
    );
    expect(found.streamId).toBe(FleetStreams.drift('node-01'));
    await fx.store.append(found.streamId, 'no-stream', [found.event]);

    // When the next coordinator checks for drift
    await fx.startCoordinator();
    const reports = await fx.coordinator.core.checkDrift();

    // Then it repairs the node: generation 2, caused by the drift recorded, and nothing recorded twice
    expect(reports).toEqual([{ nodeId: 'node-01', items, repaired: true }]);
    const events = await fx.allEvents();
    expect(events.filter((e) => e.type === 'DriftFound').map((e) => e.id)).toEqual([
      'drift:node-01:g1',
    ]);
    const repair = events.filter((e) => e.type === 'AssignmentIssued').at(-1)!;
    expect(repair).toMatchObject({
      id: 'assignment:node-01:g2',
      metadata: { actor: 'coordinator', causationId: 'drift:node-01:g1' },
    });
    await waitUntil('link back', () => fx.agent.links().length === 1);
    expect(fx.agent.observedGeneration()).toBe(2);
  });
});
