/**
 * Issue 10, attack 6 ("Unbounded"): the coordinator keeps no spec version, plan or rollout's
 * bookkeeping forever outside the log. Many versions of a policy applied one after the other
 * leave the same counts of retained entries as two (the version in force and the one before
 * it, the plans of the versions nodes hold); a rollback still finds its version, and a
 * restarted coordinator (replaying the log) keeps the same bounds and sends whole assignments.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import { FleetSubjects } from '@tramway/shared/contracts';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { Agent } from '../../../services/agent/src/index.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import { startSimAgent } from '../../support/sim-agent.js';
import { apiCaller, startTestCoordinator } from '../../support/test-coordinator.js';

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
const NODES = ['m-1', 'm-2'];

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator;
let agents: Agent[];

const startCoordinator = (): Promise<Coordinator> =>
  startTestCoordinator({ bus, store, http: true });

/** A call as the holder of token `who` (an operator; default `ops`). */
const http = apiCaller(() => coordinator);

const version = (n: number) => ({
  policy: {
    apiVersion: 'tramway.dev/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name: 'tcp-latency' },
    spec: {
      program: { name: 'tcp_lat', attach: 'fentry' },
      targets: [{ pattern: 'tcp_*', cookie: n }],
      rollout: { waves: ['100%'], pauseSeconds: 0 },
    },
  },
});

const completed = (rolloutId: string) =>
  waitUntil(`rollout ${rolloutId} completed`, async () => {
    const s = (await http('GET', '/v1/policies/tcp-latency/status')).body;
    return s.rollout?.id === rolloutId && s.rollout.state === 'completed' ? s : undefined;
  });

beforeEach(async () => {
  dir = makeTempDir('tramway-memory-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  agents = [];
  coordinator = await startCoordinator();
  for (const nodeId of NODES)
    agents.push(await startSimAgent({ nodeId, bus, spec: SPEC, heartbeatMs: 50 }));
  await waitUntil('registered', () => Object.keys(coordinator.core.fleet().nodes).length === 2);
});

afterEach(async () => {
  for (const a of agents) await a.stop();
  await coordinator.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

describe('coordinator memory stays bounded over many policy versions', () => {
  it('retains two spec versions, the plans nodes may need and one rollout, after eight versions; rollback and restart still work', async () => {
    const retainedAfter: ReturnType<Coordinator['core']['retained']>[] = [];
    for (let n = 1; n <= 8; n++) {
      const applied = await http('POST', '/v1/policies', version(n));
      expect(applied.status).toBe(202);
      await completed(applied.body.rolloutId as string);
      retainedAfter.push(coordinator.core.retained());
    }
    const last = retainedAfter.at(-1)!;
    // the version in force and the one it replaced (a rollback goes back to it)
    expect(last.specVersions).toBe(2);
    // per node: the version it holds and the one it held before
    expect(last.plans).toBe(NODES.length * 2);
    expect(last.rolloutsTracked).toBe(1);
    // the ended rollouts of the policy are forgotten by the rollout decider's cache
    expect(last.aggregates.rollout).toBe(1);
    // the same from the second version on: no growth with the history
    expect(retainedAfter.slice(1).map((r) => r.specVersions)).toEqual(Array(7).fill(2));
    expect(retainedAfter.slice(1).map((r) => r.plans)).toEqual(Array(7).fill(4));

    // a rollback finds the version it goes back to
    const rolledBack = await http('POST', '/v1/policies/tcp-latency/rollback', {});
    expect(rolledBack.status).toBe(200);
    await waitUntil('v7 in force again', async () => {
      const s = (await http('GET', '/v1/policies/tcp-latency/status')).body;
      return s.version === 7 && s.nodes.every((x: { state: string }) => x.state === 'converged');
    });
    await waitUntil('agents on v7', () =>
      agents.every((a) => a.assignment()?.policies[0]?.version === 7),
    );

    // a restarted coordinator replays the log into the same bounds, and sends whole assignments
    await coordinator.stop();
    coordinator = await startCoordinator();
    const replayed = coordinator.core.retained();
    expect(replayed.specVersions).toBeLessThanOrEqual(2);
    expect(replayed.plans).toBeLessThanOrEqual(NODES.length * 3);
    for (const nodeId of NODES) {
      const sent = await bus.request(FleetSubjects.assignment(nodeId), { nodeId });
      expect((sent as { policies: { version: number; spec: unknown }[] }).policies).toEqual([
        expect.objectContaining({ version: 7, spec: expect.anything() }),
      ]);
    }
  });
});
