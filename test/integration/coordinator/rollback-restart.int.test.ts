/**
 * Rollback across a coordinator restart (real: SQLite log, in-process bus, coordinator; scripted:
 * the agent). A rollback is two decisions on two streams: the previous version in force again
 * (policy stream), then the rollout rolled back (rollout stream), whose nodes then get the
 * previous version. A coordinator that stops between them leaves the first alone in the log; the
 * next one must finish the rollback, not keep rolling the new version out.
 */
import { describe, expect, it } from 'vitest';
import { encodeFleetEvent } from '@tramway/shared/contracts';
import { FleetStreams } from '@tramway/shared/domain';
import { waitUntil } from '../../support/wait-until.js';
import { useRestartFixture } from './restart-fixture.js';

const fx = useRestartFixture('tramway-rollback-restart-');

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
    expect(
      (await fx.coordinator.core.api.apply(policy(['tcp_sendmsg']), { actor: 'user:alice' }))
        .status,
    ).toBe(202);
    await waitUntil(
      'v1',
      () => fx.coordinator.core.fleet().rollouts['tcp-v1']?.status === 'completed',
    );
    expect(
      (await fx.coordinator.core.api.apply(policy(['tcp_*']), { actor: 'user:alice' })).status,
    ).toBe(202);
    await waitUntil(
      'v2',
      () => fx.coordinator.core.fleet().rollouts['tcp-v2']?.status === 'completed',
    );
    const generation = fx.coordinator.core.fleet().nodes['node-01']!.assignment!.generation;
    // And a coordinator that re-applied v1 for bob's rollback and stopped before the rest
    await fx.stopCoordinator();
    const v1 = (await fx.store.readStream(FleetStreams.policy('tcp')))[0]!;
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
    await fx.store.append(reverted.streamId, 2, [reverted.event]);

    // When the next coordinator starts
    await fx.startCoordinator();

    // Then the rollout is rolled back with the reason given, and node-01 runs v1 again
    await waitUntil(
      'rolled back',
      () => fx.coordinator.core.fleet().rollouts['tcp-v2']?.status === 'rolled-back',
    );
    const events = await fx.allEvents();
    expect(events.find((e) => e.type === 'RolloutRolledBack')?.data).toEqual({
      rolloutId: 'tcp-v2',
      reason: 'too noisy',
    });
    const issued = events.filter((e) => e.type === 'AssignmentIssued').at(-1)!;
    expect(issued.data).toMatchObject({
      generation: generation + 1,
      links: [{ policy: 'tcp', policyVersion: 1 }],
    });
    await waitUntil('v1 again', () => fx.agent.observedGeneration() === generation + 1);
    // And a blank reason is refused before anything is decided
    const blank = await fx.coordinator.core.api.rollback(
      'tcp',
      { reason: ' ' },
      { actor: 'user:bob' },
    );
    expect(blank).toMatchObject({ status: 400, body: { code: 'InvalidRequest' } });
    // And a second rollback finds nothing left to roll back
    const again = await fx.coordinator.core.api.rollback('tcp', {}, { actor: 'user:bob' });
    expect(again.status).toBe(409);
  });
});
