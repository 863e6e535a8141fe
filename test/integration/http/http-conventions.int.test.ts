/**
 * The coordinator HTTP API's conventions (docs/fleet-protocol.md, "Coordinator HTTP API"): every
 * error an RFC 9457 problem (`application/problem+json`), 405 with `Allow` for a wrong method,
 * the public `/healthz` and `/readyz` probes, and cursor pagination of the lists. Every error the
 * generated OpenAPI document lists, for every operation, is provoked and checked against the
 * document's own problem schema (the list comes from the document, not from this file). A real
 * coordinator HTTP server on a free loopback port, an in-process bus, a real SQLite log and
 * scripted agents; raw node:http requests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RawAnswer } from '../../support/raw-http.js';
import { rawRequest } from '../../support/raw-http.js';
import { SqliteEventStore, createInProcessBus, openFileProgramStore } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { createFleetCoordinator } from '../../../services/coordinator/src/fleet-coordinator.js';
import type { CoordinatorOptions } from '../../../services/coordinator/src/fleet-coordinator.js';
import type { HttpLimits } from '../../../services/coordinator/src/http/http-api.js';
import { createRoutes, dispatch } from '../../../services/coordinator/src/http/http-api.js';
import { OPENAPI_DOCUMENT } from '../../../services/coordinator/src/http/openapi.js';
import {
  documentValidator,
  documentedAnswers,
  documentedCodes,
} from '../../support/openapi-schema.js';
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

const start = async (
  limits: Partial<HttpLimits> = {},
  options: Partial<CoordinatorOptions> = {},
): Promise<Coordinator> => {
  coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    http: { host: '127.0.0.1', port: 0, limits },
    // the audit read model in the log's own file, as the embedded mode keeps it
    auditReadModelPath: dir.file('log.sqlite'),
    programs: openFileProgramStore(dir.file('programs')),
    options: { tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 5000, ...options },
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

const send = (
  c: Coordinator,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  /** the loopback address to send from (the limit of failed authentications is per address) */
  localAddress?: string,
): Promise<RawAnswer> =>
  rawRequest(`${c.url}${path}`, method, {
    headers,
    ...(body === undefined ? {} : { body }),
    ...(localAddress === undefined ? {} : { localAddress }),
  });

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** `PlanTooLarge` → `plan-too-large`, as problem types are named (docs/fleet-protocol.md). */
const kebab = (code: string): string => code.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/** The answer is an RFC 9457 problem of `status` and `code` about `path`. */
const expectProblem = (a: RawAnswer, status: number, code: string, path: string): void => {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.headers['content-type']).toBe('application/problem+json');
  expect(a.body).toMatchObject({
    type: `https://tramway.dev/problems/${kebab(code)}`,
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

describe('every error the OpenAPI document lists', () => {
  /**
   * How to provoke each error: by code for the refusals every route shares, by
   * `operationId code` for a route's own. The list of what to provoke is the generated
   * document's, so an error documented without a way to provoke it here fails this test.
   */
  it('is answered by each operation as the application/problem+json it documents', async () => {
    const c = await start(
      { maxBodyBytes: 1024, authFailures: { perSecond: 0.001, burst: 1 } },
      {
        requestTimeoutMs: 500,
        maxPlanEntries: 3,
        admission: { autoApprove: (nodeId) => nodeId !== 'node-pending' },
      },
    );
    const admin = bearer(await tokenFor(c.core, 'root', 'admin'));
    const json = { 'content-type': 'application/json' };
    for (const id of ['node-01', 'node-gone', 'node-pending']) await startAgent(c, id);
    agents.find((a) => a.nodeId === 'node-gone')!.stop();
    const policy = (name: string, spec: Record<string, unknown> = {}) =>
      JSON.stringify({
        policy: {
          apiVersion: 'tramway.dev/v1alpha1',
          kind: 'TracingPolicy',
          metadata: { name },
          spec: {
            program: { name: 'p', attach: 'fentry' },
            targets: [{ pattern: 'tcp_sendmsg' }],
            nodeSelector: { matchLabels: { role: 'web' } },
            ...spec,
          },
        },
      });
    // a policy applied and rolled back: a second rollback has nothing to roll back
    const applied = await send(c, 'POST', '/v1/policies', { ...admin, ...json }, policy('alpha'));
    expect(applied.status, JSON.stringify(applied.body)).toBe(202);
    const rolloutId = applied.body.rolloutId as string;
    expect((await send(c, 'POST', '/v1/policies/alpha/rollback', admin)).status).toBe(200);
    // an address whose one allowed failed authentication is spent
    const spent = '127.0.0.3';
    expect((await send(c, 'GET', '/v1/nodes', bearer('tw_wrong'), undefined, spent)).status).toBe(
      401,
    );
    let fresh = 10;

    type Op = { readonly method: string; readonly path: string; readonly operationId: string };
    const at = (op: Op, values: Record<string, string> = {}) =>
      op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? 'absent');
    const shared: Record<string, (op: Op) => Promise<RawAnswer>> = {
      InvalidRequest: (op) => send(c, op.method, at(op), { ...admin, ...json }, '{'),
      Forbidden: (op) => send(c, op.method, at(op), { ...admin, origin: 'https://evil.example' }),
      PayloadTooLarge: (op) =>
        send(c, op.method, at(op), { ...admin, ...json }, `"${'x'.repeat(2048)}"`),
      UnsupportedMediaType: (op) =>
        send(c, op.method, at(op), { ...admin, 'content-type': 'text/plain' }, 'a=1'),
      MisdirectedRequest: (op) => send(c, op.method, at(op), { ...admin, host: 'evil.example' }),
      // each from an address of its own, whose one failed authentication is this one
      Unauthorized: (op) => send(c, op.method, at(op), {}, undefined, `127.0.1.${fresh++}`),
      TooManyRequests: (op) => send(c, op.method, at(op), admin, undefined, spent),
    };
    const post = (path: string, body?: string) =>
      send(c, 'POST', path, { ...admin, ...json }, body);
    const own: Record<string, (op: Op) => Promise<RawAnswer>> = {
      'planPolicy InvalidPolicy': () => post('/v1/plan', '{"policy":{"kind":"x"}}'),
      'planPolicy PlanTooLarge': () =>
        post(
          '/v1/plan',
          policy('big', { targets: ['a', 'b', 'c', 'd'].map((p) => ({ pattern: p })) }),
        ),
      'applyPolicy InvalidPolicy': () => post('/v1/policies', '{"policy":"kind: ["}'),
      'applyPolicy PlanTooLarge': () =>
        post(
          '/v1/policies',
          policy('big', { targets: ['a', 'b', 'c', 'd'].map((p) => ({ pattern: p })) }),
        ),
      'applyPolicy PlanRefused': () =>
        post('/v1/policies', policy('mars', { nodeSelector: { matchLabels: { zone: 'mars' } } })),
      'applyPolicy Conflict': async () => {
        // a first wave of one node, then a pause: the rollout is still under way
        const waves = { rollout: { waves: [1, '100%'], pauseSeconds: 600 } };
        const first = await post('/v1/policies', policy('slow', waves));
        expect(first.status, JSON.stringify(first.body)).toBe(202);
        return post('/v1/policies', policy('slow', { ...waves, strategy: 'multi' }));
      },
      'rollbackPolicy Conflict': () => post('/v1/policies/alpha/rollback'),
      'deletePolicy Conflict': async () => {
        // its rollout paused after a first wave: deleting waits for it (or its rollback)
        const waves = { rollout: { waves: [1, '100%'], pauseSeconds: 600 } };
        const first = await post('/v1/policies', policy('paused', waves));
        expect(first.status, JSON.stringify(first.body)).toBe(202);
        return send(c, 'DELETE', '/v1/policies/paused', admin);
      },
      'resumeRollout Conflict': (op) => post(at(op, { id: rolloutId })),
      'loadModule InvalidRequest': (op) => post(at(op, { id: 'node-01', module: 'a%20b' })),
      'unloadModule InvalidRequest': (op) => post(at(op, { id: 'node-01', module: 'a%20b' })),
      'loadModule AgentUnavailable': (op) => post(at(op, { id: 'node-gone', module: 'nf_tables' })),
      'unloadModule AgentUnavailable': (op) =>
        post(at(op, { id: 'node-gone', module: 'nf_tables' })),
      'approveNode InvalidRequest': (op) => post(at(op, { id: 'a%20b' })),
      'resetNode InvalidRequest': (op) => post(at(op, { id: 'a%20b' })),
      'resetNode Conflict': (op) => post(at(op, { id: 'node-pending' })),
      'createToken Conflict': () => post('/v1/tokens', '{"name":"root","role":"admin"}'),
      // a time past the log, and a node it never names
      'auditState OutOfRange': (op) => send(c, 'GET', `${at(op)}?position=99999999`, admin),
      'auditState NotFound': (op) =>
        send(c, 'GET', `${at(op)}?at=${new Date().toISOString()}&node=nobody`, admin),
      // a coordinator without an audit read model (asked of its router, as readyz below)
      ...Object.fromEntries(
        ['auditRange', 'auditState', 'auditHistory', 'auditFunction', 'auditPlans'].map((id) => [
          `${id} NotReady`,
          async (op: Op) => {
            const core = createFleetCoordinator({ bus, store, clock: { now: () => new Date() } });
            const r = await dispatch(createRoutes(core), {
              method: 'GET',
              path: at(op, { name: 'tcp_sendmsg', node: 'node-01' }),
              headers: {},
              body: undefined,
            });
            return {
              status: r.status,
              headers: { 'content-type': 'application/problem+json' },
              body: {
                ...(r.body as object),
                instance: at(op, { name: 'tcp_sendmsg', node: 'node-01' }),
              },
            };
          },
        ]),
      ),
      // program objects: bytes, not JSON
      ...Object.fromEntries(
        ['pushProgram', 'putProgram'].flatMap((id) => {
          const method = id === 'pushProgram' ? 'POST' : 'PUT';
          const bytes = { ...admin, 'content-type': 'application/octet-stream' };
          return [
            [`${id} InvalidRequest`, () => send(c, method, '/v1/programs', bytes)],
            [`${id} InvalidProgramObject`, () => send(c, method, '/v1/programs', bytes, 'hello')],
            [
              `${id} PayloadTooLarge`,
              () => send(c, method, '/v1/programs', bytes, 'x'.repeat((8 << 20) + 1)),
            ],
          ];
        }),
      ),
      ...Object.fromEntries(
        ['getProgram', 'getProgramObject'].map((id) => [
          `${id} NotFound`,
          (op: Op) => send(c, 'GET', at(op, { digest: `sha256:${'0'.repeat(64)}` }), admin),
        ]),
      ),
      // a coordinator without a program store (asked of its router, as the audit above)
      ...Object.fromEntries(
        ['pushProgram', 'putProgram', 'listPrograms', 'getProgram', 'getProgramObject'].map(
          (id) => [
            `${id} NotReady`,
            async (op: Op) => {
              const core = createFleetCoordinator({ bus, store, clock: { now: () => new Date() } });
              const path = at(op, { digest: `sha256:${'0'.repeat(64)}` });
              const r = await dispatch(createRoutes(core), {
                method: op.method,
                path,
                headers: {},
                body: op.method === 'GET' ? undefined : new Uint8Array([1]),
              });
              return {
                status: r.status,
                headers: { 'content-type': 'application/problem+json' },
                body: { ...(r.body as object), instance: path },
              };
            },
          ],
        ),
      ),
      // the one answer a started coordinator cannot give over HTTP: asked of a router whose
      // coordinator has not replayed its log yet
      'readyz NotReady': async () => {
        const core = createFleetCoordinator({ bus, store, clock: { now: () => new Date() } });
        const r = await dispatch(createRoutes(core), {
          method: 'GET',
          path: '/readyz',
          headers: {},
          body: undefined,
        });
        return {
          status: r.status,
          headers: { 'content-type': 'application/problem+json' },
          body: { ...(r.body as object), instance: '/readyz' },
        };
      },
    };
    const used = new Set<string>();
    let asked = 0;
    for (const [path, ops] of Object.entries(OPENAPI_DOCUMENT.paths)) {
      for (const [method, operation] of Object.entries(ops)) {
        const op: Op = {
          method: method.toUpperCase(),
          path,
          operationId: operation['operationId'] as string,
        };
        for (const answer of documentedAnswers(method, path)) {
          if (answer.status.startsWith('2') || answer.status === 'default') continue;
          const problem = documentValidator(answer.content['application/problem+json']!.schema);
          for (const code of documentedCodes(answer)) {
            const key = `${op.operationId} ${code}`;
            const recipe =
              own[key] ??
              (code === 'NotFound'
                ? (o: Op) => send(c, o.method, at(o), admin) // every parameter names nothing
                : shared[code]);
            expect(recipe, `no way to provoke ${key} (${answer.status})`).toBeDefined();
            if (own[key]) used.add(key);
            const a = await recipe!(op);
            const where = `${op.method} ${path}: ${code}`;
            expect(a.status, `${where}: ${JSON.stringify(a.body)}`).toBe(Number(answer.status));
            const instance = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
            expect(String(a.body.instance), `${where}: ${JSON.stringify(a.body)}`).toMatch(
              instance,
            );
            expectProblem(a, Number(answer.status), code, a.body.instance as string);
            expect(problem.safeParse(a.body).error?.issues ?? [], where).toEqual([]);
            for (const name of Object.keys(answer.headers))
              expect(a.headers[name.toLowerCase()], `${where}: ${name}`).toBeDefined();
            asked += 1;
          }
        }
      }
    }
    // every particular recipe matches a documented error (none is left over from a removed one)
    expect([...used].sort()).toEqual(Object.keys(own).sort());
    // at least the five refusals every route shares, for each operation
    const operations = Object.values(OPENAPI_DOCUMENT.paths).flatMap((ops) => Object.keys(ops));
    expect(asked).toBeGreaterThanOrEqual(5 * operations.length);
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
