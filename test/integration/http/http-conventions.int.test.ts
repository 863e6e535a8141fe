/**
 * The coordinator HTTP API's conventions (docs/fleet-protocol.md, "Coordinator HTTP API"): every
 * error an RFC 9457 problem (`application/problem+json`), 405 with `Allow` for a wrong method,
 * the public `/healthz` and `/readyz` probes, and cursor pagination of the lists. A real
 * coordinator HTTP server on a free loopback port, an in-process bus, a real SQLite log and
 * scripted agents; raw node:http requests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { createFleetCoordinator } from '../../../services/coordinator/src/fleet-coordinator.js';
import type { HttpLimits } from '../../../services/coordinator/src/http/http-api.js';
import { createRoutes, dispatch } from '../../../services/coordinator/src/http/http-api.js';
import { createCoordinatorClient } from '../../../services/cli/src/fleet/coordinator-client.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { tokenFor } from '../../support/api-tokens.js';
import { waitUntil } from '../../support/wait-until.js';
import { createScriptedAgent } from '../coordinator/scripted-agent.js';
import type { ScriptedAgent } from '../coordinator/scripted-agent.js';

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator | undefined;
let agents: ScriptedAgent[];

const start = async (limits: Partial<HttpLimits> = {}): Promise<Coordinator> => {
  coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    http: { host: '127.0.0.1', port: 0, limits },
    options: { tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 5000 },
  });
  await coordinator.start();
  return coordinator;
};

const startAgent = async (c: Coordinator, nodeId: string): Promise<void> => {
  const agent = createScriptedAgent(bus, { nodeId, labels: { role: 'web' } });
  agents.push(agent);
  await agent.start();
  await waitUntil('agent registered', () => c.core.fleet().nodes[nodeId]?.registered);
};

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: ReturnType<typeof JSON.parse>;
}

const send = (
  c: Coordinator,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = request(`${c.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const KEBAB: Record<string, string> = {
  InvalidRequest: 'invalid-request',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  NotFound: 'not-found',
  MethodNotAllowed: 'method-not-allowed',
  PayloadTooLarge: 'payload-too-large',
  UnsupportedMediaType: 'unsupported-media-type',
  MisdirectedRequest: 'misdirected-request',
  TooManyRequests: 'too-many-requests',
};

/** The answer is an RFC 9457 problem of `status` and `code` about `path`. */
const expectProblem = (a: Answer, status: number, code: string, path: string): void => {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.headers['content-type']).toBe('application/problem+json');
  expect(a.body).toMatchObject({
    type: `https://tramway.dev/problems/${KEBAB[code]}`,
    title: expect.any(String),
    status,
    detail: expect.any(String),
    instance: path,
    code,
  });
  expect(a.body).not.toHaveProperty('error');
  expect(JSON.stringify(a.body)).not.toMatch(/\bat .*\.ts:\d+/);
};

beforeEach(async () => {
  dir = makeTempDir('tramway-http-conv-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  agents = [];
  coordinator = undefined;
});

afterEach(async () => {
  for (const a of agents) a.stop();
  await coordinator?.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

describe('coordinator HTTP errors are RFC 9457 problems', () => {
  it('answers 400, 401, 403, 404, 405, 413, 415 and 421 as application/problem+json', async () => {
    const c = await start({ maxBodyBytes: 1024 });
    const admin = bearer(await tokenFor(c.core, 'root', 'admin'));
    const viewer = bearer(await tokenFor(c.core, 'vic', 'viewer'));
    const json = { 'content-type': 'application/json' };

    const bad = await send(c, 'POST', '/v1/plan', { ...admin, ...json }, '{"policy":');
    expectProblem(bad, 400, 'InvalidRequest', '/v1/plan');
    expect(bad.body.errors[0]).toMatch(/^body: /);

    const badLimit = await send(c, 'GET', '/v1/nodes?limit=0', admin);
    expectProblem(badLimit, 400, 'InvalidRequest', '/v1/nodes');
    expect(badLimit.body.errors).toEqual(['query.limit: an integer from 1 to 1000']);

    const none = await send(c, 'GET', '/v1/nodes');
    expectProblem(none, 401, 'Unauthorized', '/v1/nodes');
    expect(none.headers['www-authenticate']).toBe('Bearer realm="tramway"');

    const low = await send(c, 'POST', '/v1/tokens', { ...viewer, ...json }, '{}');
    expectProblem(low, 403, 'Forbidden', '/v1/tokens');
    expect(low.body.details).toEqual({ needed: 'admin', role: 'viewer' });

    expectProblem(await send(c, 'GET', '/v2/nothing', admin), 404, 'NotFound', '/v2/nothing');
    expectProblem(
      await send(c, 'GET', '/v1/policies/absent', admin),
      404,
      'NotFound',
      '/v1/policies/absent',
    );

    const wrong = await send(c, 'DELETE', '/v1/nodes', admin);
    expectProblem(wrong, 405, 'MethodNotAllowed', '/v1/nodes');
    expect(wrong.headers.allow).toBe('GET');
    const both = await send(c, 'PUT', '/v1/policies', admin);
    expectProblem(both, 405, 'MethodNotAllowed', '/v1/policies');
    expect(both.headers.allow).toBe('GET, POST');

    const big = await send(c, 'POST', '/v1/plan', { ...admin, ...json }, 'x'.repeat(4096));
    expectProblem(big, 413, 'PayloadTooLarge', '/v1/plan');
    expect(big.body.errors).toEqual(['body: at most 1024 bytes']);

    const form = await send(
      c,
      'POST',
      '/v1/plan',
      { ...admin, 'content-type': 'application/x-www-form-urlencoded' },
      'a=1',
    );
    expectProblem(form, 415, 'UnsupportedMediaType', '/v1/plan');

    const elsewhere = await send(c, 'GET', '/v1/nodes', { ...admin, host: 'evil.example' });
    expectProblem(elsewhere, 421, 'MisdirectedRequest', '/v1/nodes');
  });

  it('answers 429 as a problem with Retry-After', async () => {
    const c = await start({ rate: { perSecond: 0.001, burst: 2 } });
    const admin = bearer(await tokenFor(c.core, 'root', 'admin'));
    expect((await send(c, 'GET', '/v1/nodes', admin)).status).toBe(200);
    expect((await send(c, 'GET', '/v1/nodes', admin)).status).toBe(200);
    const over = await send(c, 'GET', '/v1/nodes', admin);
    expectProblem(over, 429, 'TooManyRequests', '/v1/nodes');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('lets the CLI client print the detail of a problem', async () => {
    const c = await start();
    const client = createCoordinatorClient({
      url: c.url,
      token: await tokenFor(c.core, 'vic', 'viewer'),
    });
    const refused = await client.createToken('x', 'viewer');
    expect(refused).toMatchObject({
      ok: false,
      kind: 'http',
      status: 403,
      error: {
        code: 'Forbidden',
        message: 'token:vic (viewer) may not POST /v1/tokens: it needs the admin role',
        details: { needed: 'admin', role: 'viewer' },
      },
    });
  });
});

describe('health probes', () => {
  it('serves /healthz and /readyz without a token, saying nothing of the fleet', async () => {
    const c = await start();
    await startAgent(c, 'node-01');
    const live = await send(c, 'GET', '/healthz');
    expect(live).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(live.headers['content-type']).toBe('application/json');
    const ready = await send(c, 'GET', '/readyz');
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(JSON.stringify([live.body, ready.body])).not.toMatch(/node-01|web/);
    // a wrong method on a probe still needs a credential (nothing public but GET)
    expect((await send(c, 'POST', '/healthz')).status).toBe(401);
  });

  it('answers /readyz 503 with a problem until the log is replayed', async () => {
    const core = createFleetCoordinator({ bus, store, clock: { now: () => new Date() } });
    const routes = createRoutes(core);
    const before = await dispatch(routes, {
      method: 'GET',
      path: '/readyz',
      headers: {},
      body: undefined,
    });
    expect(before).toMatchObject({
      status: 503,
      body: {
        type: 'https://tramway.dev/problems/not-ready',
        status: 503,
        code: 'NotReady',
        detail: 'not ready: starting: the log is not replayed yet',
      },
    });
    await core.start();
    try {
      expect(
        await dispatch(routes, { method: 'GET', path: '/readyz', headers: {}, body: undefined }),
      ).toEqual({ status: 200, body: { status: 'ready' } });
    } finally {
      await core.stop();
    }
    expect(
      (await dispatch(routes, { method: 'GET', path: '/readyz', headers: {}, body: undefined }))
        .status,
    ).toBe(503);
  });
});

describe('list pagination', () => {
  /** Every page of `path` at `limit` items a page; the pages' items in order. */
  const walk = async (
    c: Coordinator,
    path: string,
    limit: number,
    auth: Record<string, string>,
  ): Promise<{ items: unknown[]; pages: number }> => {
    const items: unknown[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string =
        `?limit=${limit}` + (cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`);
      const page = await send(c, 'GET', `${path}${q}`, auth);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(limit);
      items.push(...(page.body.items as unknown[]));
      cursor = page.body.nextCursor as string | null;
      pages += 1;
    } while (cursor !== null && pages < 100);
    return { items, pages };
  };

  it('walks every token in name order, page by page, and the CLI sees them all', async () => {
    const c = await start();
    const token = await tokenFor(c.core, 'root', 'admin');
    const names = Array.from({ length: 23 }, (_, i) => `t-${String(i).padStart(2, '0')}`);
    for (const name of names)
      expect((await c.core.tokens.issue({ name, role: 'viewer' }, { actor: 'test' })).status).toBe(
        201,
      );
    const expected = [...names, 'root'].sort();
    const { items, pages } = await walk(c, '/v1/tokens', 5, bearer(token));
    expect(items.map((t) => (t as { name: string }).name)).toEqual(expected);
    expect(pages).toBe(5);
    // the default page holds them all; the last page says so
    const all = await send(c, 'GET', '/v1/tokens', bearer(token));
    expect(all.body.items).toHaveLength(24);
    expect(all.body.nextCursor).toBeNull();
    const listed = await createCoordinatorClient({ url: c.url, token }).tokens();
    expect(listed.ok && listed.body.map((t) => t.name)).toEqual(expected);
  });

  it('walks the nodes and the policies', async () => {
    const c = await start();
    const token = await tokenFor(c.core, 'root', 'admin');
    for (const id of ['node-03', 'node-01', 'node-05', 'node-02', 'node-04'])
      await startAgent(c, id);
    const nodes = await walk(c, '/v1/nodes', 2, bearer(token));
    expect(nodes.items.map((n) => (n as { nodeId: string }).nodeId)).toEqual([
      'node-01',
      'node-02',
      'node-03',
      'node-04',
      'node-05',
    ]);
    expect(nodes.pages).toBe(3);
    const client = createCoordinatorClient({ url: c.url, token });
    const listed = await client.nodes();
    expect(listed.ok && listed.body.map((n) => n.nodeId)).toHaveLength(5);

    expect((await send(c, 'GET', '/v1/policies', bearer(token))).body).toEqual({
      items: [],
      nextCursor: null,
    });
    for (const name of ['beta', 'alpha']) {
      const applied = await client.apply(
        JSON.stringify({
          apiVersion: 'tramway.dev/v1alpha1',
          kind: 'TracingPolicy',
          metadata: { name },
          spec: {
            program: { name: 'tcp_lat', attach: 'fentry' },
            targets: [{ pattern: 'tcp_sendmsg' }],
          },
        }),
      );
      expect(applied.ok, JSON.stringify(applied)).toBe(true);
    }
    const policies = await walk(c, '/v1/policies', 1, bearer(token));
    expect(policies.items).toEqual([
      expect.objectContaining({ name: 'alpha', version: 1, appliedBy: 'token:root' }),
      expect.objectContaining({ name: 'beta', version: 1, appliedBy: 'token:root' }),
    ]);
    const one = await send(c, 'GET', '/v1/policies/alpha', bearer(token));
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ name: 'alpha', version: 1, spec: { targets: [{}] } });
  });

  it('refuses a bad limit or a cursor it did not issue with a 400 problem', async () => {
    const c = await start();
    const auth = bearer(await tokenFor(c.core, 'root', 'admin'));
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'limit=1.5']) {
      const a = await send(c, 'GET', `/v1/tokens?${q}`, auth);
      expectProblem(a, 400, 'InvalidRequest', '/v1/tokens');
      expect(a.body.errors).toEqual(['query.limit: an integer from 1 to 1000']);
    }
    for (const cursor of ['', '!!!', 'not a cursor', 'AAA=', 'YQ']) {
      const a = await send(c, 'GET', `/v1/nodes?cursor=${encodeURIComponent(cursor)}`, auth);
      if (cursor === 'YQ') {
        // base64url of "a": a well-formed cursor; the page after it
        expect(a.status).toBe(200);
        continue;
      }
      expectProblem(a, 400, 'InvalidRequest', '/v1/nodes');
      expect(a.body.errors[0]).toMatch(/^query\.cursor: /);
    }
  });
});
