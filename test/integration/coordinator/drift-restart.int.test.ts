/**
 * Drift repair across a coordinator restart (real: SQLite log, in-process bus, coordinator;
 * scripted: the agent). A coordinator records a node's drift (DriftFound) and then repairs it
 * (the same links as the next generation) in two appends; one that stops between them leaves a
 * log whose drift is recorded but not repaired. The next coordinator must still repair it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFleetEvent } from '@tramway/shared/contracts';
import type { DriftItem } from '@tramway/shared/domain';
import { FleetStreams } from '@tramway/shared/domain';
import type { FleetBus } from '@tramway/shared/infra';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import { createScriptedAgent } from './scripted-agent.js';
import type { ScriptedAgent } from './scripted-agent.js';

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator;
let agent: ScriptedAgent;

const startCoordinator = async (): Promise<Coordinator> => {
  const c = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    options: { staleAfterMs: 60_000, tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 2000 },
  });
  await c.start();
  return c;
};

const allEvents = async (): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
};

beforeEach(async () => {
  dir = makeTempDir('tramway-drift-restart-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  coordinator = await startCoordinator();
  agent = createScriptedAgent(bus, { nodeId: 'node-01', labels: { role: 'web' } });
  await agent.start();
  await waitUntil('registered', () => coordinator.core.fleet().nodes['node-01']?.registered);
});

afterEach(async () => {
  agent.stop();
  await coordinator.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

describe('drift repair after a restart', () => {
  it('repairs a drift a stopped coordinator recorded but did not repair', async () => {
    // Given node-01 runs tcp v1 (generation 1), then loses its link behind the log's back
    const applied = await coordinator.core.api.apply(
      {
        policy: {
          apiVersion: 'tramway.dev/v1alpha1',
          kind: 'TracingPolicy',
          metadata: { name: 'tcp' },
          spec: { program: { name: 'tcp_lat', attach: 'fentry' }, targets: [{ pattern: 'tcp_*' }] },
        },
      },
      'user:alice',
    );
    expect(applied.status).toBe(202);
    await waitUntil(
      'converged',
      () => coordinator.core.fleet().nodes['node-01']?.observedGeneration === 1,
    );
    agent.loseLink();
    // And a coordinator that recorded that drift and stopped before repairing it
    await coordinator.stop();
    const linkId = Number(Object.keys(coordinator.core.fleet().nodes['node-01']!.links)[0]);
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
    await store.append(found.streamId, 'no-stream', [found.event]);

    // When the next coordinator checks for drift
    coordinator = await startCoordinator();
    const reports = await coordinator.core.checkDrift();

    // Then it repairs the node: generation 2, caused by the drift recorded, and nothing recorded twice
    expect(reports).toEqual([{ nodeId: 'node-01', items, repaired: true }]);
    const events = await allEvents();
    expect(events.filter((e) => e.type === 'DriftFound').map((e) => e.id)).toEqual([
      'drift:node-01:g1',
    ]);
    const repair = events.filter((e) => e.type === 'AssignmentIssued').at(-1)!;
    expect(repair).toMatchObject({
      id: 'assignment:node-01:g2',
      metadata: { actor: 'coordinator', causationId: 'drift:node-01:g1' },
    });
    await waitUntil('link back', () => agent.links().length === 1);
    expect(agent.observedGeneration()).toBe(2);
  });
});
