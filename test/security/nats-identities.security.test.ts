/**
 * Issue 10's NATS attacks replayed against real processes: a nats-server with TLS and one NKey
 * user per identity (`tramway security init`), the coordinator as its own process (JetStream log)
 * and agents web-1 and web-2 in an agent host, each connected as its own node. Every attack is
 * made with the credentials an attacker could hold (none, a foreign NKey, or web-1's own) and
 * asserts the refusal and that the log, web-2's labels and web-1's generation are unchanged.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createUser } from '@nats-io/nkeys';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetBus, NatsCredentials } from '@tramway/shared/infra';
import {
  ASSIGNMENT_VERIFY_KEY_FILE,
  connectNats,
  connectNatsBus,
  isAppError,
} from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { AgentHostHandle, CoordinatorHandle } from '../support/fleet-processes.js';
import {
  api,
  readLog,
  spawnAgentHost,
  spawnCoordinator,
  tracingPolicy,
} from '../support/fleet-processes.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { startNatsServer } from '../support/nats-server.js';
import type { TempDir } from '../support/temp-dir.js';
import { makeTempDir } from '../support/temp-dir.js';
import { waitUntil } from '../support/wait-until.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const fn = (name: string) => ({ name, ret: 'int', params: ['void *', 'void *', 'u64'] });
const KERNEL: KernelSpec = {
  profile: 'v24',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: ['tcp_sendmsg', 'tcp_recvmsg', 'tcp_v4_connect'].map(fn),
    },
  ],
};

let nats: NatsServerHandle;
let coordinator: CoordinatorHandle;
let host: AgentHostHandle;
let observer: FleetBus;
const dir: TempDir = makeTempDir('tramway-security-');

const eventIds = async (): Promise<string[]> =>
  (await readLog(nats.url, nats.credentials())).map((e) => e.id);

interface NodeView {
  nodeId: string;
  labels: Record<string, string>;
}
const nodes = async (): Promise<NodeView[]> =>
  ((await api(coordinator, 'GET', '/v1/nodes')).body as { items: NodeView[] }).items;

const observedGeneration = async (nodeId: string): Promise<number> =>
  (
    (await observer.request(`tramway.agent.${nodeId}.state`, {}, { timeoutMs: 5000 })) as {
      observedGeneration: number;
    }
  ).observedGeneration;

/** `tramway_refused_messages_total{reason}` of the coordinator's /metrics. */
const refused = async (reason: string): Promise<number> => {
  const res = await fetch(`${coordinator.url}/metrics`, {
    headers: { authorization: `Bearer ${coordinator.token}` },
  });
  if (!res.ok) throw new Error(`/metrics: HTTP ${res.status}`);
  const text = await res.text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`tramway_refused_messages_total{reason="${reason}"} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
};

/** What must not move under an attack: the log, the nodes and their labels, web-1's generation. */
const snapshot = async () => ({
  log: await eventIds(),
  nodes: (await nodes()).map((n) => ({ nodeId: n.nodeId, labels: n.labels })),
  web1Generation: await observedGeneration('web-1'),
});
let before: Awaited<ReturnType<typeof snapshot>>;

const expectNothingChanged = async (): Promise<void> => {
  // a forged message would be ingested within the coordinator's next tick: give it a few
  await observer.flush();
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await snapshot()).toEqual(before);
};

/** A raw nats.js connection as `credentials`, recording the server's permission errors. */
const rawConnection = async (credentials: NatsCredentials | undefined) => {
  const nc: NatsConnection = await connectNats(nats.url, { credentials, name: 'attacker' });
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String(s.error));
  })();
  return {
    nc,
    /** waits until the server has refused a publish to `subject` */
    publishRefused: (subject: string) =>
      waitUntil(`publish to ${subject} refused`, () =>
        errors.some((e) => e.includes(`Permissions Violation for Publish to "${subject}"`)),
      ),
  };
};

beforeAll(async () => {
  nats = await startNatsServer({ nodes: ['web-1', 'web-2'] });
  coordinator = await spawnCoordinator({ natsUrl: nats.url, securityDir: nats.securityDir });
  observer = await connectNatsBus(nats.url, {
    name: 'security-test',
    credentials: nats.credentials(),
  });
  host = await spawnAgentHost(
    dir.file('host.json'),
    {
      natsUrl: nats.url,
      heartbeatMs: 200,
      requestTimeoutMs: 2000,
      kernels: { web: KERNEL },
      agents: ['web-1', 'web-2'].map((nodeId) => ({
        nodeId,
        labels: { role: 'web' },
        stateDir: join(dir.path, nodeId),
        kernel: 'web',
      })),
    },
    { nats },
  );
  const applied = await api(coordinator, 'POST', '/v1/policies', {
    policy: tracingPolicy('tcp-latency', { targets: ['tcp_*'] }),
  });
  expect(applied.status, JSON.stringify(applied.body)).toBe(202);
  await waitUntil(
    'tcp-latency converged on web-1 and web-2',
    async () => {
      const s = await api(coordinator, 'GET', '/v1/policies/tcp-latency/status');
      return s.body?.rollout?.state === 'completed';
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  await waitUntil('web-1 at generation 1', async () => (await observedGeneration('web-1')) >= 1);
  before = await snapshot();
  expect(before.nodes.map((n) => n.nodeId)).toEqual(['web-1', 'web-2']);
});

afterAll(async () => {
  await observer?.close();
  await host?.stop('SIGTERM');
  await coordinator?.stop('SIGTERM');
  await nats?.stop();
  dir.remove();
});

const connectRefusal = async (credentials: NatsCredentials): Promise<unknown> =>
  connectNatsBus(nats.url, { credentials }).then(
    async (bus) => {
      await bus.close();
      return 'connected';
    },
    (error: unknown) => error,
  );

describe('connecting', () => {
  it('refuses a client with no NKey: the forged assignment fails at connect', async () => {
    const error = await connectRefusal({ caFile: nats.credentials()!.caFile! });
    expect(isAppError(error, 'NatsAuthorizationRefused'), String(error)).toBe(true);
    expect((error as Error).message).toContain(nats.url);
    expect((error as Error).message).toMatch(/authorization violation/);
    await expectNothingChanged();
  });

  it('refuses an NKey the server does not know', async () => {
    const seedFile = dir.file('forged.nk');
    writeFileSync(seedFile, new TextDecoder().decode(createUser().getSeed()));
    const error = await connectRefusal({
      nkeySeedFile: seedFile,
      caFile: nats.credentials()!.caFile!,
    });
    expect(isAppError(error, 'NatsAuthorizationRefused'), String(error)).toBe(true);
  });

  it('refuses a client that does not trust the server CA (TLS is required)', async () => {
    const { nkeySeedFile } = nats.credentials({ nodeId: 'web-1' })!;
    const error = await connectRefusal({ nkeySeedFile: nkeySeedFile! });
    expect(isAppError(error, 'NatsTlsRefused'), String(error)).toBe(true);
    expect((error as Error).message).toContain(nats.url);
  });

  it('an agent process with a foreign NKey exits non-zero naming the server and the reason', async () => {
    const seedFile = dir.file('foreign-agent.nk');
    writeFileSync(seedFile, new TextDecoder().decode(createUser().getSeed()));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@tramway/source', 'services/agent/src/main.ts'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_ID: 'web-1',
          NATS_URL: nats.url,
          TRAMWAY_NATS_NKEY_FILE: seedFile,
          TRAMWAY_NATS_CA_FILE: nats.credentials()!.caFile!,
          // it has the coordinator's verify key: what stops it is NATS
          TRAMWAY_ASSIGNMENT_VERIFY_KEY: join(nats.securityDir!, ASSIGNMENT_VERIFY_KEY_FILE),
          LOG_LEVEL: 'error',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // the reason is one fatal log line on stdout (JSON: not a terminal)
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.resume();
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(1);
    const fatal = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string })
      .filter((l) => l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    const reason = fatal[0]!.msg;
    expect(reason).toContain(nats.url);
    expect(reason).toMatch(/authorization violation/);
    await expectNothingChanged();
  });

  it('a coordinator process without credentials exits non-zero naming the server and TLS', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@tramway/source', 'services/coordinator/src/main.ts'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          NATS_URL: nats.url,
          STORE: 'jetstream',
          HTTP_PORT: '0',
          LOG_LEVEL: 'error',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // the reason is one fatal log line on stdout (JSON: not a terminal)
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.resume();
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(1);
    const fatal = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string })
      .filter((l) => l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    const reason = fatal[0]!.msg;
    expect(reason).toContain(nats.url);
    expect(reason).toMatch(/TLS failed/);
    await expectNothingChanged();
  });
});

describe("web-1's credential", () => {
  let web1: Awaited<ReturnType<typeof rawConnection>>;
  beforeAll(async () => {
    web1 = await rawConnection(nats.credentials({ nodeId: 'web-1' }));
  });
  afterAll(async () => {
    await web1?.nc.close();
  });

  it.each(['web-1', 'web-2'])(
    'cannot send an assignment, plan or module request to %s',
    async (node) => {
      const forged = { nodeId: node, generation: 1_000_000, policies: [] };
      for (const [verb, payload] of [
        ['assign', forged],
        ['plan', { policy: {}, policyVersion: 1 }],
        ['module', { action: 'unload', module: 'vmlinux' }],
        ['state', {}],
      ] as const) {
        const subject = `tramway.agent.${node}.${verb}`;
        const error = await web1.nc
          .request(subject, JSON.stringify(payload), { timeout: 3000 })
          .then(
            () => 'answered',
            (e: unknown) => e,
          );
        expect(String(error)).toContain(`Permissions Violation for Publish to "${subject}"`);
      }
      await expectNothingChanged();
    },
  );

  it('cannot publish facts or heartbeats as web-2 or as a phantom node', async () => {
    const bootId = 'forged-boot';
    const relabel = {
      nodeId: 'web-2',
      bootId,
      events: [
        {
          id: 'web-2:forged:registered',
          type: 'NodeRegistered',
          schemaVersion: 1,
          data: {
            nodeId: 'web-2',
            labels: { role: 'db' },
            bootId,
            kernelRelease: '6.12.0-sim',
            profile: 'v24',
            btfFingerprint: 'sha256:00',
          },
          metadata: { occurredAt: new Date().toISOString(), actor: 'agent:web-2' },
        },
      ],
    };
    const beat = (nodeId: string) => ({
      nodeId,
      bootId,
      observedGeneration: 99,
      at: new Date().toISOString(),
    });
    for (const [subject, payload] of [
      ['tramway.facts.web-2', relabel],
      ['tramway.factlog.web-2', relabel],
      ['tramway.factlog.evil-1', { ...relabel, nodeId: 'evil-1' }],
      ['tramway.hb.web-2', beat('web-2')],
      ['tramway.hb.evil-1', beat('evil-1')],
      ['tramway.facts.evil-1', { ...relabel, nodeId: 'evil-1' }],
      ['tramway.coord.assignment.web-2', { nodeId: 'web-2' }],
      ['tramway.es.node-web-2', relabel],
    ] as const) {
      web1.nc.publish(subject, JSON.stringify(payload));
      await web1.publishRefused(subject);
    }
    await expectNothingChanged();
  });

  it("cannot subscribe to web-2's request subjects, the coordinator's replies or others' facts", async () => {
    for (const subject of [
      'tramway.agent.web-2.assign',
      'tramway.agent.web-2.>',
      'tramway.agent.*.assign',
      '_INBOX.>',
      '_INBOX_web-2.>',
      'tramway.facts.*',
      'tramway.factlog.*',
      'tramway.factlog.web-1',
      '>',
    ]) {
      const sub = web1.nc.subscribe(subject);
      const closedWith = await Promise.race([
        sub.closed,
        new Promise((resolve) => setTimeout(() => resolve('still subscribed'), 5000)),
      ]);
      expect(String(closedWith)).toContain(
        `Permissions Violation for Subscription to "${subject}"`,
      );
    }
    expect(web1.nc.isClosed()).toBe(false);
  });

  it('cannot use JetStream ($JS.API) beyond reading the program bucket', async () => {
    for (const subject of [
      '$JS.API.INFO',
      '$JS.API.STREAM.DELETE.TRAMWAY_EVENTS',
      '$JS.API.CONSUMER.CREATE.TRAMWAY_EVENTS',
      '$JS.API.STREAM.DELETE.OBJ_tramway-programs',
      '$JS.API.STREAM.PURGE.OBJ_tramway-programs',
      // the facts stream: no reading, purging, deleting, nor a consumer of its own
      '$JS.API.STREAM.INFO.TRAMWAY_FACTS',
      '$JS.API.STREAM.PURGE.TRAMWAY_FACTS',
      '$JS.API.STREAM.DELETE.TRAMWAY_FACTS',
      '$JS.API.STREAM.MSG.GET.TRAMWAY_FACTS',
      '$JS.API.DIRECT.GET.TRAMWAY_FACTS',
      '$JS.API.CONSUMER.CREATE.TRAMWAY_FACTS',
      '$JS.API.CONSUMER.DURABLE.CREATE.TRAMWAY_FACTS.mine',
      '$JS.API.CONSUMER.MSG.NEXT.TRAMWAY_FACTS.tramway-coordinator',
    ]) {
      const error = await web1.nc.request(subject, '', { timeout: 3000 }).then(
        () => 'answered',
        (e: unknown) => e,
      );
      expect(String(error)).toContain(`Permissions Violation for Publish to "${subject}"`);
    }
    const manager = await jetstreamManager(web1.nc, { timeout: 3000 }).then(
      () => 'opened',
      (e: unknown) => e,
    );
    expect(String(manager)).toContain('Permissions Violation');
    await expectNothingChanged();
  });
});

describe("the bus's report of the server's refusals", () => {
  it('hands a permission violation to onServerError (the agent and coordinator log it)', async () => {
    const errors: string[] = [];
    const bus = await connectNatsBus(nats.url, {
      credentials: nats.credentials({ nodeId: 'web-1' }),
      onServerError: (error) => errors.push(error.message),
    });
    try {
      await bus.publish('tramway.hb.web-2', { nodeId: 'web-2' });
      await waitUntil('violation reported', () =>
        errors.some((e) => e.includes('Permissions Violation for Publish to "tramway.hb.web-2"')),
      );
    } finally {
      await bus.close();
    }
    await expectNothingChanged();
  });
});

describe('a node speaking for another on its own subjects', () => {
  let web1: FleetBus;
  beforeAll(async () => {
    web1 = await connectNatsBus(nats.url, { credentials: nats.credentials({ nodeId: 'web-1' }) });
  });
  afterAll(async () => {
    await web1?.close();
  });

  const forgedRegistration = (batchNode: string, eventNode: string) => ({
    nodeId: batchNode,
    bootId: 'forged-boot',
    events: [
      {
        id: `${eventNode}:forged:registered`,
        type: 'NodeRegistered',
        schemaVersion: 1,
        data: {
          nodeId: eventNode,
          labels: { role: 'db' },
          bootId: 'forged-boot',
          kernelRelease: '6.12.0-sim',
          profile: 'v24',
          btfFingerprint: 'sha256:00',
        },
        metadata: { occurredAt: new Date().toISOString(), actor: `agent:${eventNode}` },
      },
    ],
  });

  it('publishes its own facts to the JetStream facts stream and gets the PubAck (no $JS.API)', async () => {
    // a message the coordinator refuses (not a fact batch): the ack alone is what is tested
    const ack = await web1.persist(
      'tramway.factlog.web-1',
      { probe: true },
      { msgId: 'web-1:probe' },
    );
    expect(ack.duplicate).toBe(false);
    await expect(
      web1.persist('tramway.factlog.web-2', forgedRegistration('web-2', 'web-2'), {
        msgId: 'web-2:forged:registered',
        timeoutMs: 2000,
      }),
    ).rejects.toThrow(/Permissions Violation for Publish to "tramway.factlog.web-2"/);
    await expectNothingChanged();
  });

  it('refuses, counts and acknowledges a fact naming web-2, published on tramway.factlog.web-1', async () => {
    const counted = await refused('node-mismatch');
    await web1.persist('tramway.factlog.web-1', forgedRegistration('web-2', 'web-2'), {
      msgId: 'web-2:forged:registered:stream',
    });
    await waitUntil('fact refused', async () => (await refused('node-mismatch')) === counted + 1);
    await web1.persist('tramway.factlog.web-1', forgedRegistration('web-1', 'web-2'), {
      msgId: 'web-2:forged:registered:stream-2',
    });
    await waitUntil('event refused', async () => (await refused('node-mismatch')) === counted + 2);
    await expectNothingChanged();
  });

  it('refuses and counts a fact batch naming web-2, sent on tramway.facts.web-1', async () => {
    const counted = await refused('node-mismatch');
    await web1.publish('tramway.facts.web-1', forgedRegistration('web-2', 'web-2'));
    await waitUntil('batch refused', async () => (await refused('node-mismatch')) === counted + 1);
    await web1.publish('tramway.facts.web-1', forgedRegistration('web-1', 'web-2'));
    await waitUntil('event refused', async () => (await refused('node-mismatch')) === counted + 2);
    await expectNothingChanged();
  });

  it('refuses and counts a heartbeat naming web-2, sent on tramway.hb.web-1', async () => {
    const counted = await refused('node-mismatch');
    await web1.publish('tramway.hb.web-1', {
      nodeId: 'web-2',
      bootId: 'forged-boot',
      observedGeneration: 99,
      at: new Date().toISOString(),
    });
    await waitUntil(
      'heartbeat refused',
      async () => (await refused('node-mismatch')) === counted + 1,
    );
    await expectNothingChanged();
  });

  it("refuses and counts a request for web-2's assignment on tramway.coord.assignment.web-1", async () => {
    const counted = await refused('node-mismatch');
    const error = await web1
      .request('tramway.coord.assignment.web-1', { nodeId: 'web-2' }, { timeoutMs: 5000 })
      .then(
        () => 'answered',
        (e: unknown) => e,
      );
    expect(isAppError(error), String(error)).toBe(true);
    expect(String(error)).toMatch(/only for its own assignment/);
    expect(await refused('node-mismatch')).toBe(counted + 1);
    // its own assignment is still answered
    const own = (await web1.request(
      'tramway.coord.assignment.web-1',
      { nodeId: 'web-1' },
      { timeoutMs: 5000 },
    )) as { nodeId: string } | null;
    expect(own?.nodeId).toBe('web-1');
    await expectNothingChanged();
  });
});
