/**
 * Rollback across a coordinator restart (real: SQLite log, in-process bus, coordinator; scripted:
 * the agent). A rollback is two decisions on two streams: the previous version in force again
 * (policy stream), then the rollout rolled back (rollout stream), whose nodes then get the
 * previous version. A coordinator that stops between them leaves the first alone in the log; the
 * next one must finish the rollback, not keep rolling the new version out.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFleetEvent } from '@tramway/shared/contracts';
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
  dir = makeTempDir('tramway-rollback-restart-');
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

const policy = (patterns: string[]) => ({
  policy: {
    apiVersion: 'tramway.dev/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name: 'tcp' },
    spec: {
      program: { name: 'tcp_lat', attach: 'fentry' },
      targets: patterns.map((pattern) => ({ pattern })),
    },
  },
});

describe('rollback after a restart', () => {
  it('finishes a rollback a stopped coordinator began', async () => {
    // Given tcp v1 then v2 converged on node-01
    expect((await coordinator.core.api.apply(policy(['tcp_sendmsg']), 'user:alice')).status).toBe(
      202,
    );
    await waitUntil(
      'v1',
      () => coordinator.core.fleet().rollouts['tcp-v1']?.status === 'completed',
    );
    expect((await coordinator.core.api.apply(policy(['tcp_*']), 'user:alice')).status).toBe(202);
    await waitUntil(
      'v2',
      () => coordinator.core.fleet().rollouts['tcp-v2']?.status === 'completed',
    );
    const generation = coordinator.core.fleet().nodes['node-01']!.assignment!.generation;
    // And a coordinator that re-applied v1 for bob's rollback and stopped before the rest
    await coordinator.stop();
    const v1 = (await store.readStream(FleetStreams.policy('tcp')))[0]!;
    const reverted = encodeFleetEvent(
      {
        type: 'PolicyApplied',
        data: {
          name: 'tcp',
          version: 1,
          spec: (v1.data as { spec: never }).spec,
          reason: 'too noisy',
        },
      },
      {
        id: 'policy:tcp:v1:rollback:tcp-v2',
        metadata: {
          occurredAt: new Date().toISOString(),
          actor: 'user:bob',
          correlationId: 'tcp-v2',
        },
      },
    );
    await store.append(reverted.streamId, 2, [reverted.event]);

    // When the next coordinator starts
    coordinator = await startCoordinator();

    // Then the rollout is rolled back with the reason given, and node-01 runs v1 again
    await waitUntil(
      'rolled back',
      () => coordinator.core.fleet().rollouts['tcp-v2']?.status === 'rolled-back',
    );
    const events = await allEvents();
    expect(events.find((e) => e.type === 'RolloutRolledBack')?.data).toEqual({
      rolloutId: 'tcp-v2',
      reason: 'too noisy',
    });
    const issued = events.filter((e) => e.type === 'AssignmentIssued').at(-1)!;
    expect(issued.data).toMatchObject({
      generation: generation + 1,
      links: [{ policy: 'tcp', policyVersion: 1 }],
    });
    await waitUntil('v1 again', () => agent.observedGeneration() === generation + 1);
    // And a blank reason is refused before anything is decided
    const blank = await coordinator.core.api.rollback('tcp', { reason: ' ' }, 'user:bob');
    expect(blank).toMatchObject({ status: 400, body: { error: { code: 'InvalidRequest' } } });
    // And a second rollback finds nothing left to roll back
    const again = await coordinator.core.api.rollback('tcp', {}, 'user:bob');
    expect(again.status).toBe(409);
  });
});
