/**
 * Names that are also Object.prototype keys (issue 10, attack 7: a policy named `constructor`
 * hit prototype keys, "update of vundefined"): as policy names and node ids, through the HTTP
 * API, the rollout and the projections, they are names like any other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
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
        { name: 'constructor', ret: 'int', params: ['void *'] },
      ],
    },
  ],
};

/** node ids that are prototype keys (a node id allows letters, digits and _:@-; not __proto__) */
const NODES = ['constructor', 'hasOwnProperty', 'toString', 'valueOf'];

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator;
let agents: Agent[];

/** A call as the holder of token `who` (an operator; default `ops`). */
const http = apiCaller(() => coordinator);

const policy = (name: string) => ({
  policy: {
    apiVersion: 'tramway.dev/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name },
    spec: {
      program: { name: 'tcp_lat', attach: 'fentry' },
      targets: [{ pattern: 'tcp_sendmsg' }, { pattern: 'constructor' }],
      rollout: { waves: ['100%'], pauseSeconds: 0 },
    },
  },
});

beforeEach(async () => {
  dir = makeTempDir('tramway-proto-keys-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  agents = [];
  coordinator = await startTestCoordinator({ bus, store, http: true });
});

afterEach(async () => {
  for (const a of agents) await a.stop();
  await coordinator.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

describe('prototype keys as names', () => {
  it('nodes named constructor, hasOwnProperty, toString, valueOf register, converge and are listed', async () => {
    for (const nodeId of NODES)
      agents.push(await startSimAgent({ nodeId, bus, spec: SPEC, heartbeatMs: 50 }));
    const listed = await waitUntil('every node listed', async () => {
      const r = await http('GET', '/v1/nodes');
      return r.status === 200 && (r.body.items as unknown[]).length === NODES.length
        ? r
        : undefined;
    });
    expect((listed.body.items as { nodeId: string }[]).map((n) => n.nodeId).sort()).toEqual(
      [...NODES].sort(),
    );
    const applied = await http('POST', '/v1/policies', policy('constructor'));
    expect(applied.status).toBe(202);
    expect(applied.body).toMatchObject({ policy: 'constructor', version: 1 });
    const status = await waitUntil('rollout completed', async () => {
      const r = await http('GET', '/v1/policies/constructor/status');
      return r.body.rollout?.state === 'completed' ? r : undefined;
    });
    expect(status.status).toBe(200);
    const nodes = status.body.nodes as { nodeId: string; state: string }[];
    expect(nodes.map((n) => [n.nodeId, n.state]).sort()).toEqual(
      [...NODES].sort().map((n) => [n, 'converged']),
    );
    // a second version of it: the version history is its own, not Object.prototype's
    const again = await http('POST', '/v1/policies', {
      policy: {
        ...policy('constructor').policy,
        spec: { ...policy('constructor').policy.spec, targets: [{ pattern: 'tcp_*' }] },
      },
    });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ policy: 'constructor', version: 2 });
  });

  it.each(['constructor', 'hasownproperty', 'tostring', 'valueof', '__proto__', 'prototype'])(
    'a policy named %s that was never applied is a 404, not a 500',
    async (name) => {
      const r = await http('GET', `/v1/policies/${name}/status`);
      expect(r.status).toBe(404);
      const rb = await http('POST', `/v1/policies/${name}/rollback`, {});
      expect([404, 409]).toContain(rb.status);
    },
  );

  it('a policy named __proto__ is refused with a validation error naming the field, or applied as a name', async () => {
    const r = await http('POST', '/v1/policies', policy('__proto__'));
    expect([202, 400]).toContain(r.status);
    if (r.status === 400) expect(JSON.stringify(r.body)).toMatch(/metadata\.name/);
  });
});
