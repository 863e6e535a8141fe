/**
 * The coordinator's HTTP API under hostile clients (docs/fleet-protocol.md, "Limits"): a real
 * coordinator HTTP server on a free loopback port, an in-process bus, a real SQLite log and
 * scripted agents. Raw node:http / node:net clients, so a reset is seen as a reset.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RawAnswer } from '../../support/raw-http.js';
import { rawRequest } from '../../support/raw-http.js';
import { connect } from 'node:net';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import type { HttpLimits } from '../../../services/coordinator/src/http/http-api.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { authAs } from '../../support/api-tokens.js';
import { waitUntil } from '../../support/wait-until.js';
import { createScriptedAgent } from '../coordinator/scripted-agent.js';
import type { ScriptedAgent } from '../coordinator/scripted-agent.js';

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator;
let agents: ScriptedAgent[];
let auth: { authorization: string };

const start = async (
  limits: Partial<HttpLimits> = {},
  options: { maxPlanEntries?: number } = {},
): Promise<void> => {
  coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    http: { host: '127.0.0.1', port: 0, limits },
    options: { tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 5000, ...options },
  });
  await coordinator.start();
  auth = await authAs(coordinator.core, 'ops');
};

const startAgent = async (nodeId: string): Promise<void> => {
  const agent = createScriptedAgent(bus, { nodeId, labels: { role: 'web' } });
  agents.push(agent);
  await agent.start();
  await waitUntil('agent registered', () => coordinator.core.fleet().nodes[nodeId]?.registered);
};

/** One request over node:http; rejects on a transport error (a reset included). */
const send = (
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<RawAnswer> =>
  rawRequest(`${coordinator.url}${path}`, method, {
    headers: { ...auth, ...headers },
    ...(body === undefined ? {} : { body }),
  });

const policy = (patterns: readonly string[]) => ({
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name: 'tcp-latency' },
  spec: {
    program: { name: 'tcp_lat', attach: 'fentry' },
    targets: patterns.map((pattern) => ({ pattern })),
  },
});

beforeEach(async () => {
  dir = makeTempDir('tramway-http-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  agents = [];
});

afterEach(async () => {
  for (const a of agents) a.stop();
  await coordinator.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

describe('coordinator HTTP limits', () => {
  it('answers a body over the cap with a 413 problem and Connection: close, not a reset', async () => {
    await start({ maxBodyBytes: 64 * 1024 });
    const big = JSON.stringify({ policy: 'x'.repeat(4 << 20) });
    const declared = await send('POST', '/v1/plan', big);
    expect(declared.status).toBe(413);
    expect(declared.headers.connection).toBe('close');
    expect(declared.body).toMatchObject({ code: 'PayloadTooLarge' });
    expect(declared.body.detail).toContain(String(64 * 1024));
    // chunked: no content-length, the cap is found while reading
    const chunked = await send('POST', '/v1/plan', big, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    expect(chunked.status).toBe(413);
    expect((await send('GET', '/v1/nodes')).status).toBe(200);
  });

  it('answers 200,000 nested [ with a 400 naming the depth limit', async () => {
    await start();
    const answer = await send('POST', '/v1/plan', `{"policy":${'['.repeat(200_000)}}`);
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe('InvalidRequest');
    expect(JSON.stringify(answer.body)).toContain('64 levels');
  });

  it('answers a YAML alias bomb, and deep YAML nesting, with a 400', async () => {
    await start();
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
      '',
    ].join('\n');
    for (const text of [bomb, `a: ${'['.repeat(200_000)}`]) {
      const asYaml = await send('POST', '/v1/plan', text, { 'content-type': 'application/yaml' });
      expect(asYaml.status).toBe(400);
      expect(asYaml.body.code).toBe('InvalidPolicy');
      const inJson = await send('POST', '/v1/plan', JSON.stringify({ policy: text }));
      expect(inJson.status).toBe(400);
      expect(inJson.body).toEqual(asYaml.body);
    }
    const { errors: details } = (
      await send('POST', '/v1/plan', bomb, {
        'content-type': 'application/yaml',
      })
    ).body as { errors: string[] };
    expect(details.join('\n')).toMatch(/alias expansions .* limit of 100/);
  });

  it('disconnects a client that never finishes its body, and keeps answering others', async () => {
    await start({ requestTimeoutMs: 300, headersTimeoutMs: 300 });
    const { port } = new URL(coordinator.url);
    const socket = connect(Number(port), '127.0.0.1');
    const closed = new Promise<string>((resolve) => {
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(received));
    });
    socket.write(
      `POST /v1/plan HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${auth.authorization}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"pol`,
    );
    const received = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect(received).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4))).toMatchObject({
      type: 'https://tramway.dev/problems/request-timeout',
      status: 408,
      code: 'RequestTimeout',
    });
    expect((await send('GET', '/v1/nodes')).status).toBe(200);
  });

  it('reports a node whose plan reply is over the bus limit as unreachable, and that node plans again', async () => {
    await start();
    await startAgent('node-01');
    // 30,000 patterns are refused by validation before any node is asked
    const tooMany = Array.from({ length: 30_000 }, (_, i) => `nomatch_${i}_*`);
    const refused = await send('POST', '/v1/plan', JSON.stringify({ policy: policy(tooMany) }));
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/30000 targets, more than 4096/);
    // 4,096 long patterns pass validation, but the node's plan (each one unmatched) is over 1 MiB
    const patterns = Array.from({ length: 4096 }, (_, i) => `nomatch_${i}_`.padEnd(219, 'x') + '*');
    const huge = await send('POST', '/v1/plan', JSON.stringify({ policy: policy(patterns) }));
    expect(huge.status).toBe(200);
    expect(huge.body.nodes).toEqual([]);
    expect(huge.body.unreachable).toEqual([
      { nodeId: 'node-01', reason: expect.stringMatching(/ReplyTooLarge.*too large/) as string },
    ]);
    const later = await send('POST', '/v1/plan', JSON.stringify({ policy: policy(['tcp_*']) }));
    expect(later.status).toBe(200);
    expect(later.body.nodes).toHaveLength(1);
    expect(later.body.unreachable).toBeUndefined();
  });

  it('refuses a plan with more entries than the cap (400 PlanTooLarge), for plan and apply', async () => {
    await start({}, { maxPlanEntries: 2 });
    await startAgent('node-01');
    await startAgent('node-02');
    const body = JSON.stringify({ policy: policy(['tcp_*']) });
    for (const path of ['/v1/plan', '/v1/policies']) {
      const answer = await send('POST', path, body);
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe('PlanTooLarge');
      expect(answer.body.detail).toMatch(/4 entries .* over the limit of 2/);
    }
    const one = await send('POST', '/v1/plan', JSON.stringify({ policy: policy(['tcp_send*']) }));
    expect(one.status).toBe(200);
  });
});
