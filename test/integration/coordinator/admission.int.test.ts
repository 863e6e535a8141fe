/**
 * Node admission on a real coordinator (SQLite log, in-process bus) with scripted agents
 * (docs/fleet-protocol.md, "Admission"): a node the admission rule does not auto-approve is
 * recorded pending; it is not asked for a plan, not in any rollout, and its assignment fetch
 * answers null; once approved (the approver recorded as the actor) it is selected by the next
 * rollout like any node.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FleetBus } from '@tramway/shared/infra';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { testAssignmentKeys } from '../../support/assignment-keys.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import type { ScriptedAgent } from './scripted-agent.js';
import { createScriptedAgent } from './scripted-agent.js';

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator;
let agents: ScriptedAgent[];

const events = async (): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
};
const policy = (name: string) => ({
  policy: {
    apiVersion: 'tramway.dev/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name },
    spec: { program: { name: 'tcp_lat', attach: 'fentry' }, targets: [{ pattern: 'tcp_*' }] },
  },
});

beforeEach(async () => {
  dir = makeTempDir('tramway-admission-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    assignmentSigningKey: testAssignmentKeys().privateKey,
    options: {
      staleAfterMs: 60_000,
      tickMs: 25,
      driftIntervalMs: 0,
      requestTimeoutMs: 2000,
      // web-* credentials were issued with auto-approval, the others were not
      admission: { autoApprove: (nodeId) => nodeId.startsWith('web-') },
    },
  });
  await coordinator.start();
  agents = [];
  for (const nodeId of ['web-1', 'db-1']) {
    const agent = createScriptedAgent(bus, { nodeId, labels: { role: 'any' } });
    await agent.start();
    agents.push(agent);
  }
  await waitUntil(
    'both admission decisions recorded',
    async () => (await events()).filter((e) => e.streamId.startsWith('admission-')).length === 2,
  );
});

afterEach(async () => {
  for (const a of agents) a.stop();
  await coordinator.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

describe('admission', () => {
  it('records an auto-approved node approved by coordinator, and any other one pending', async () => {
    const decided = (await events()).filter((e) => e.streamId.startsWith('admission-'));
    expect(
      decided.map((e) => [
        e.type,
        e.streamId,
        e.metadata.actor,
        (e.data as { reason: string }).reason,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['NodeApproved', 'admission-web-1', 'coordinator', 'auto-approved credential'],
        ['NodeAdmissionPending', 'admission-db-1', 'coordinator', 'waiting for approval'],
      ]),
    );
    const nodes = coordinator.core.api.nodes().body as { nodeId: string; admission: string }[];
    expect(nodes.map((n) => [n.nodeId, n.admission])).toEqual([
      ['db-1', 'pending'],
      ['web-1', 'approved'],
    ]);
  });

  it('gives a pending node nothing and counts it in no rollout, until it is approved', async () => {
    expect((await coordinator.core.api.apply(policy('tcp'), { actor: 'user:alice' })).status).toBe(
      202,
    );
    await waitUntil('rollout completed', () => {
      const s = coordinator.core.api.status('tcp').body as { rollout: { state: string } };
      return s.rollout.state === 'completed';
    });
    const status = coordinator.core.api.status('tcp').body as { nodes: { nodeId: string }[] };
    expect(status.nodes.map((n) => n.nodeId)).toEqual(['web-1']);
    expect((await events()).filter((e) => e.streamId === 'assignment-db-1')).toEqual([]);
    expect(agents[1]!.assignsReceived).toEqual([]);
    expect(await bus.request('tramway.coord.assignment.db-1', { nodeId: 'db-1' })).toBeNull();

    // an admin approves it: recorded with the approver as actor; the next rollout selects it
    const approved = await coordinator.core.api.approve('db-1', { reason: 'checked' }, 'user:root');
    expect(approved).toMatchObject({ status: 200, body: { changed: true } });
    const event = (await events()).find(
      (e) => e.type === 'NodeApproved' && e.streamId === 'admission-db-1',
    );
    expect([event?.metadata.actor, event?.data]).toEqual([
      'user:root',
      { nodeId: 'db-1', reason: 'checked' },
    ]);
    expect((await coordinator.core.api.apply(policy('tcp2'), { actor: 'user:alice' })).status).toBe(
      202,
    );
    await waitUntil('db-1 converged on tcp2', () => {
      const s = coordinator.core.api.status('tcp2').body as {
        nodes: { nodeId: string; state: string }[];
      };
      return s.nodes.find((n) => n.nodeId === 'db-1')?.state === 'converged';
    });
    expect(agents[1]!.assignsReceived.length).toBeGreaterThan(0);
  });
});
