/**
 * A coordinator restarted on a log the previous coordinator version wrote (real: SQLite log,
 * in-process bus, coordinator, agents on simulated kernels). That version named rollouts with a
 * random suffix, recorded RolloutStarted without the wave split or the previous version, and put
 * NodeMarkedStale / NodeMarkedAlive / DriftFound in the node stream rather than in the liveness
 * and drift streams of today's deciders. The new coordinator must read all of it, keep the node
 * that log left stale stale until it is heard, and finish the running rollout (the wave not
 * started yet split over the nodes left) without issuing again what was already issued.
 */
import { testAssignmentKeys } from '../../support/assignment-keys.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeFleetEvent, encodeFleetEvent } from '@tramway/shared/contracts';
import type { FleetEvent } from '@tramway/shared/domain';
import { FleetStreams, streamOf } from '@tramway/shared/domain';
import type { FleetBus, LogRecord } from '@tramway/shared/infra';
import { SqliteEventStore, createInProcessBus, createMemoryLogger } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { RecordedEvent } from '@tramway/shared/lib';
import type { Agent } from '../../../services/agent/src/index.js';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { startSimAgent } from '../../support/sim-agent.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';

const SPEC: KernelSpec = {
  profile: 'v26',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [
        { name: 'tcp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'tcp_recvmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
      ],
    },
  ],
};

/** The previous coordinator's rollout id: `<policy>-v<version>-<random>`. */
const RID = 'tcp-v1-3f2a9c1b';
const NODES = ['node-a', 'node-b', 'node-c', 'node-d'];
const POLICY_SPEC = {
  program: { name: 'tcp_lat', attach: 'fentry', sleepable: false, reads: [] },
  targets: [{ pattern: 'tcp_*' }],
  strategy: 'auto',
  rollout: { waves: [2, '100%'], maxFailureRatio: 0, pauseSeconds: 0 },
};
const LINK = {
  policy: 'tcp',
  policyVersion: 1,
  program: 'tcp_lat',
  attachType: 'BPF_TRACE_FENTRY_MULTI' as const,
  functions: ['tcp_sendmsg', 'tcp_recvmsg'],
};

interface Legacy {
  readonly id: string;
  readonly event: FleetEvent;
  readonly actor: string;
  /** the stream the previous version put it in, when not today's */
  readonly streamId?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
}

const T0 = Date.parse('2026-11-30T09:00:00.000Z');

/** What the previous coordinator and its agents wrote: wave 0 of 2 running, node-b silent. */
const legacyLog = (): Legacy[] => {
  const boot = (n: string) => `boot-old-${n}`;
  const agent = (n: string) => `agent:${n}`;
  const registered = NODES.flatMap((n): Legacy[] => [
    {
      id: `${n}/${boot(n)}/registered/0`,
      actor: agent(n),
      event: {
        type: 'NodeRegistered',
        data: {
          nodeId: n,
          labels: { role: 'web' },
          bootId: boot(n),
          kernelRelease: 'sim-v26',
          profile: 'v26',
          btfFingerprint: 'fp-1',
        },
      },
    },
    {
      id: `${n}/${boot(n)}/profile/0`,
      actor: agent(n),
      event: {
        type: 'KernelProfileDetected',
        data: { nodeId: n, profile: 'v26', attachPath: 'tracing-multi', btfFingerprint: 'fp-1' },
      },
    },
  ]);
  const inRollout = { correlationId: RID, causationId: 'policy:tcp:v1' };
  const assigned = (n: string): Legacy => ({
    id: `assignment:${n}:g1`,
    actor: 'coordinator',
    ...inRollout,
    event: {
      type: 'AssignmentIssued',
      data: {
        nodeId: n,
        generation: 1,
        links: [LINK],
        reason: `rollout ${RID}: policy tcp v1`,
        initiatedBy: 'user:alice',
      },
    },
  });
  return [
    ...registered,
    // node-c went silent once and came back (the old ids: the last time heard, in ms)
    {
      id: `stale:node-c:${T0}`,
      actor: 'coordinator',
      streamId: FleetStreams.node('node-c'),
      event: {
        type: 'NodeMarkedStale',
        data: { nodeId: 'node-c', lastSeen: new Date(T0).toISOString(), silentMs: 16_000 },
      },
    },
    {
      id: `alive:node-c:${T0 + 20_000}`,
      actor: 'coordinator',
      streamId: FleetStreams.node('node-c'),
      event: {
        type: 'NodeMarkedAlive',
        data: { nodeId: 'node-c', lastSeen: new Date(T0 + 20_000).toISOString() },
      },
    },
    {
      id: 'policy:tcp:v1',
      actor: 'user:alice',
      correlationId: RID,
      event: {
        type: 'PolicyApplied',
        data: {
          name: 'tcp',
          version: 1,
          spec: POLICY_SPEC,
          reason: 'new policy applied by user:alice',
        },
      },
    },
    {
      id: `rollout:${RID}:started`,
      actor: 'user:alice',
      correlationId: RID,
      // no waveNodes, no previousVersion
      event: {
        type: 'RolloutStarted',
        data: { rolloutId: RID, policy: 'tcp', policyVersion: 1, waves: 2 },
      },
    },
    {
      id: `rollout:${RID}:wave:0:started`,
      actor: 'user:alice',
      correlationId: RID,
      event: {
        type: 'WaveStarted',
        data: { rolloutId: RID, wave: 0, nodes: ['node-a', 'node-b'] },
      },
    },
    assigned('node-a'),
    assigned('node-b'),
    // node-a converged on its old boot; then drift was found and repaired
    {
      id: `node-a/${boot('node-a')}/link/1/created`,
      actor: agent('node-a'),
      event: {
        type: 'LinkCreated',
        data: {
          nodeId: 'node-a',
          linkId: 1,
          programId: 1,
          programName: 'tcp_lat',
          policy: 'tcp',
          attachType: 'BPF_TRACE_FENTRY_MULTI',
          connections: [
            { function: 'tcp_sendmsg', objId: 1, btfId: 1, cookie: '0' },
            { function: 'tcp_recvmsg', objId: 1, btfId: 2, cookie: '0' },
          ],
          observedGeneration: 1,
        },
      },
    },
    {
      id: 'drift:node-a:g1',
      actor: 'coordinator',
      streamId: FleetStreams.node('node-a'),
      event: {
        type: 'DriftFound',
        data: {
          nodeId: 'node-a',
          observedGeneration: 1,
          items: [
            {
              kind: 'unexpected-link',
              linkId: 7,
              detail: 'link 7 (policy none v-) is held but not assigned',
            },
          ],
        },
      },
    },
    {
      id: 'assignment:node-a:g2',
      actor: 'coordinator',
      event: {
        type: 'AssignmentIssued',
        data: {
          nodeId: 'node-a',
          generation: 2,
          links: [LINK],
          reason: 'drift repair: generation 1 again as a new generation',
          initiatedBy: 'coordinator',
        },
      },
    },
    // node-b never answered: marked stale, in its node stream
    {
      id: `stale:node-b:${T0}`,
      actor: 'coordinator',
      streamId: FleetStreams.node('node-b'),
      event: {
        type: 'NodeMarkedStale',
        data: { nodeId: 'node-b', lastSeen: new Date(T0).toISOString(), silentMs: 15_500 },
      },
    },
  ];
};

/** Writes the legacy log as the previous version did, one append per event, and closes it. */
const writeLegacyLog = async (path: string, events: readonly Legacy[]): Promise<void> => {
  const store = await SqliteEventStore.open({ path, pollIntervalMs: 0 });
  try {
    for (const [i, e] of events.entries()) {
      const encoded = encodeFleetEvent(e.event, {
        id: e.id,
        metadata: {
          occurredAt: new Date(T0 + 60_000 + i * 1000).toISOString(),
          actor: e.actor,
          ...(e.correlationId === undefined ? {} : { correlationId: e.correlationId }),
          ...(e.causationId === undefined ? {} : { causationId: e.causationId }),
        },
      });
      await store.append(e.streamId ?? encoded.streamId, 'any', [encoded.event]);
    }
  } finally {
    await store.close();
  }
};

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator;
let agents: Agent[];
let records: LogRecord[];
let legacy: Legacy[];

const allEvents = async (): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
};
const startAgent = async (nodeId: string): Promise<void> => {
  agents.push(await startSimAgent({ nodeId, bus, spec: SPEC, heartbeatMs: 50 }));
};
const nodeOf = (e: RecordedEvent) => (e.data as { nodeId?: string }).nodeId;
const rolloutStatus = () =>
  (
    coordinator.core.api.status('tcp').body as {
      rollout: { id: string; state: string; waves: { index: number; nodes: string[] }[] };
    }
  ).rollout;

beforeEach(async () => {
  dir = makeTempDir('tramway-legacy-log-');
  legacy = legacyLog();
  await writeLegacyLog(dir.file('log.sqlite'), legacy);
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  agents = [];
  records = [];
  coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    logger: createMemoryLogger(records),
    assignmentSigningKey: testAssignmentKeys().privateKey,
    options: { staleAfterMs: 60_000, tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 1000 },
  });
  await coordinator.start();
});

afterEach(async () => {
  for (const a of agents) await a.stop();
  await coordinator.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

describe('coordinator restarted on a log of the previous version', () => {
  it('reads every event of it: decisions in the node stream, a rollout without its split', async () => {
    // Then the log holds the legacy events where the previous version put them, all decodable
    const all = await allEvents();
    // (the admission of the nodes the previous version registered but never assigned, node-c
    // and node-d, is decided now: auto-approved by default; the assigned ones need none)
    const events = all.filter((e) => !e.streamId.startsWith('admission-'));
    for (const e of all.filter((x) => x.streamId.startsWith('admission-')))
      expect([e.type, e.metadata.actor, nodeOf(e)]).toEqual([
        'NodeApproved',
        'coordinator',
        expect.stringMatching(/^node-[cd]$/),
      ]);
    expect(events.map((e) => e.id)).toEqual(legacy.map((e) => e.id));
    const stale = events.find((e) => e.id === `stale:node-b:${T0}`)!;
    expect(stale.streamId).toBe(FleetStreams.node('node-b'));
    expect(stale.streamId).not.toBe(
      streamOf({ type: 'NodeMarkedStale', data: stale.data } as FleetEvent),
    );
    for (const e of events) expect(decodeFleetEvent(e)).toMatchObject({ ok: true });
    // And the coordinator folded all of them, skipping none
    expect(records.filter((r) => r.msg === 'event not decoded')).toEqual([]);
    expect(coordinator.core.state().events).toBe(legacy.length);
    expect(coordinator.core.state().latestRollout['tcp']).toBe(RID);
    expect(coordinator.core.fleet().nodes['node-a']?.drift).toHaveLength(1);
    expect(coordinator.core.staleNodes()).toEqual(['node-b']);
    expect(rolloutStatus()).toMatchObject({
      id: RID,
      state: 'running',
      // a legacy rollout recorded no split: the waves after the running one are listed pending,
      // their nodes not known until they start
      waves: [
        { index: 0, nodes: ['node-a', 'node-b'], state: 'running' },
        { index: 1, state: 'pending' },
      ],
    });
  });

  it('keeps node-b stale until it is heard, then finishes the rollout without issuing anything twice', async () => {
    // Given the nodes but node-b up again, on new boots
    for (const n of ['node-a', 'node-c', 'node-d']) await startAgent(n);
    await waitUntil('node-a reconciled its generation 2 on its new boot', () => {
      const node = coordinator.core.fleet().nodes['node-a'];
      return node?.bootId !== 'boot-old-node-a' && Object.keys(node?.links ?? {}).length === 1;
    });
    await coordinator.core.tick();
    await coordinator.core.tick();

    // Then node-b, never heard since the restart, is still stale (not marked again), and wave 0
    // waits for it
    expect(coordinator.core.staleNodes()).toEqual(['node-b']);
    let events = await allEvents();
    const appended = events.slice(legacy.length);
    expect(appended.filter((e) => e.type.startsWith('NodeMarked'))).toEqual([]);
    expect(appended.filter((e) => e.streamId.startsWith('rollout-'))).toEqual([]);
    expect(rolloutStatus().state).toBe('running');

    // When node-b comes back
    await startAgent('node-b');

    // Then it is marked alive, in its liveness stream, and the rollout completes
    await waitUntil('rollout completed', () => rolloutStatus().state === 'completed');
    expect(coordinator.core.staleNodes()).toEqual([]);
    events = await allEvents();
    const added = events.slice(legacy.length);
    const marks = added.filter((e) => e.type.startsWith('NodeMarked'));
    expect(marks.map((e) => [e.type, e.id, e.streamId])).toEqual([
      ['NodeMarkedAlive', 'alive:node-b:1', FleetStreams.liveness('node-b')],
    ]);
    // wave 0 completed once every node of it converged, wave 1 took the candidates left
    const rollout = added.filter((e) => e.streamId === FleetStreams.rollout(RID));
    expect(rollout.map((e) => [e.id, e.data])).toEqual([
      [`rollout:${RID}:wave:0:completed`, { rolloutId: RID, wave: 0, succeeded: 2, failed: 0 }],
      [`rollout:${RID}:wave:1:started`, { rolloutId: RID, wave: 1, nodes: ['node-c', 'node-d'] }],
      [`rollout:${RID}:wave:1:completed`, { rolloutId: RID, wave: 1, succeeded: 2, failed: 0 }],
      [`rollout:${RID}:completed`, { rolloutId: RID }],
    ]);
    // no other rollout, policy version or plan was started or recorded
    expect(
      added.filter((e) => e.streamId.startsWith('rollout-') || e.streamId.startsWith('policy-')),
    ).toEqual(rollout);
    // only the nodes of wave 1 were assigned (generation 1, for the legacy rollout); node-a and
    // node-b keep what the previous version issued them
    const issued = added.filter((e) => e.type === 'AssignmentIssued');
    expect(issued.map((e) => [e.id, e.metadata.correlationId])).toEqual([
      ['assignment:node-c:g1', RID],
      ['assignment:node-d:g1', RID],
    ]);
    expect(added.filter((e) => e.type === 'DriftFound')).toEqual([]);
    // and every node of the rollout holds the policy
    await waitUntil('every node traces tcp', () =>
      NODES.every(
        (n) =>
          Object.values(coordinator.core.fleet().nodes[n]?.links ?? {}).filter(
            (l) => l.policy === 'tcp',
          ).length === 1,
      ),
    );
    expect(NODES.map((n) => coordinator.core.fleet().nodes[n]?.assignment?.generation)).toEqual([
      2, 1, 1, 1,
    ]);
    expect(added.every((e) => !legacy.some((l) => l.id === e.id))).toBe(true);
    expect(nodeOf(marks[0]!)).toBe('node-b');
  });
});
