/**
 * Issue 10, "HTTP" and "People", replayed against a real coordinator process (main.ts, JetStream
 * log on a real nats-server) with a real sim agent: forged actor headers, a requester-less module
 * load, cross-site posts (text/plain and JSON), a foreign Host, no token, a viewer applying, a
 * revoked token, a non-admin acting "on behalf of". Each refused request leaves the log as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNatsBus } from '@tramway/shared/infra';
import type { FleetBus } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { RecordedEvent } from '@tramway/shared/lib';
import type { Agent } from '../../services/agent/src/index.js';
import type { CoordinatorHandle } from '../support/fleet-processes.js';
import { readLog, spawnCoordinator, tracingPolicy } from '../support/fleet-processes.js';
import { startNatsServer } from '../support/nats-server.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import type { RawAnswer, RawOptions } from '../support/raw-http.js';
import { rawRequest } from '../support/raw-http.js';
import { startSimAgent } from '../support/sim-agent.js';
import { waitUntil } from '../support/wait-until.js';

const SPEC: KernelSpec = {
  profile: 'v24',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [{ name: 'tcp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] }],
    },
    {
      name: 'nf_tables',
      kind: 'module',
      loaded: false,
      functions: [{ name: 'nft_do_chain', ret: 'unsigned int', params: ['void *', 'void *'] }],
    },
  ],
};

let nats: NatsServerHandle;
let coordinator: CoordinatorHandle;
let bus: FleetBus;
let agent: Agent;
const tokens: Record<'viewer' | 'operator', string> = { viewer: '', operator: '' };

const call = (method: string, path: string, options: RawOptions = {}): Promise<RawAnswer> =>
  rawRequest(`${coordinator.url}${path}`, method, {
    ...options,
    headers: { host: `127.0.0.1:${coordinator.port}`, ...options.headers },
  });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const json = { 'content-type': 'application/json' };
const applyBody = (name: string) =>
  JSON.stringify({ policy: tracingPolicy(name, { targets: ['tcp_*'] }) });

const ids = (events: readonly RecordedEvent[]) => events.map((e) => e.id);

/** Sends a request that must be refused, and checks the log holds exactly what it held before. */
const refusedWithLogUnchanged = async (
  method: string,
  path: string,
  options: RawOptions,
): Promise<RawAnswer> => {
  const before = ids(await readLog(nats.url, nats.credentials()));
  const answer = await call(method, path, options);
  expect(answer.status, JSON.stringify(answer.body)).toBeGreaterThanOrEqual(400);
  expect(ids(await readLog(nats.url, nats.credentials()))).toEqual(before);
  return answer;
};

beforeAll(async () => {
  nats = await startNatsServer({ nodes: ['web-1'] });
  coordinator = await spawnCoordinator({ natsUrl: nats.url, securityDir: nats.securityDir });
  bus = await connectNatsBus(nats.url, {
    name: 'web-1',
    credentials: nats.credentials({ nodeId: 'web-1' }),
  });
  agent = await startSimAgent({ nodeId: 'web-1', bus, spec: SPEC, heartbeatMs: 200 });
  await waitUntil('web-1 registered', async () => {
    const r = await call('GET', '/v1/nodes', { headers: bearer(coordinator.token) });
    return r.status === 200 && (r.body as { items: unknown[] }).items.length === 1;
  });
  for (const role of ['viewer', 'operator'] as const) {
    const created = await call('POST', '/v1/tokens', {
      headers: { ...bearer(coordinator.token), ...json },
      body: JSON.stringify({ name: role === 'viewer' ? 'vic' : 'olga', role }),
    });
    expect(created.status).toBe(201);
    tokens[role] = created.body.token as string;
  }
});

afterAll(async () => {
  await agent?.stop();
  await bus?.close();
  await coordinator?.stop();
  await nats?.stop();
});

describe('people at the HTTP API (real coordinator process, JetStream log)', () => {
  it('refuses a request without a credential: 401 with WWW-Authenticate, log unchanged', async () => {
    const r = await refusedWithLogUnchanged('POST', '/v1/policies', {
      headers: json,
      body: applyBody('anon'),
    });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="tramway"');
    expect(r.body).toMatchObject({ code: 'Unauthorized' });
    expect(r.body.detail).toMatch(/no credential/);
    // nor is any read open: nodes, status, metrics
    for (const path of ['/v1/nodes', '/v1/policies/x/status', '/metrics', '/v1/tokens'])
      expect((await call('GET', path)).status, path).toBe(401);
    // only the OpenAPI document is public
    expect((await call('GET', '/openapi.json')).status).toBe(200);
  });

  it('ignores a forged x-tramway-actor (even "coordinator"): the actor is the token holder', async () => {
    const forged = await refusedWithLogUnchanged('POST', '/v1/policies', {
      headers: { ...json, 'x-tramway-actor': 'coordinator' },
      body: applyBody('forged'),
    });
    expect(forged.status).toBe(401);
    const applied = await call('POST', '/v1/policies', {
      headers: { ...json, ...bearer(tokens.operator), 'x-tramway-actor': 'coordinator' },
      body: applyBody('tcp-latency'),
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(202);
    const events = await readLog(nats.url, nats.credentials());
    const policyApplied = events.find((e) => e.type === 'PolicyApplied')!;
    expect(policyApplied.metadata.actor).toBe('token:olga');
    expect((policyApplied.data as { reason: string }).reason).toBe(
      'new policy applied by token:olga',
    );
    expect(
      events.some((e) => e.metadata.actor === 'coordinator' && e.type === 'PolicyApplied'),
    ).toBe(false);
  });

  it('records who asked a node to load a module', async () => {
    const r = await call('POST', '/v1/nodes/web-1/modules/nf_tables/load', {
      headers: bearer(tokens.operator),
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true });
    const asked = (await readLog(nats.url, nats.credentials())).filter(
      (e) => e.type === 'ModuleActionRequested',
    );
    expect(asked.map((e) => [e.streamId, e.metadata.actor, e.data])).toEqual([
      [
        'module-requests-web-1',
        'token:olga',
        { nodeId: 'web-1', module: 'nf_tables', action: 'load', ok: true },
      ],
    ]);
    // a viewer may not: 403, nothing recorded
    const denied = await refusedWithLogUnchanged(
      'POST',
      '/v1/nodes/web-1/modules/nf_tables/unload',
      {
        headers: bearer(tokens.viewer),
      },
    );
    expect(denied.status).toBe(403);
  });

  it('refuses a cross-site text/plain POST (415) and a cross-origin JSON POST (403), log unchanged', async () => {
    const csrf = {
      origin: 'http://evil.example',
      'content-type': 'text/plain;charset=UTF-8',
    };
    // as a browser would send it (no bearer token is ambient), and even with one
    for (const auth of [{}, bearer(tokens.operator)]) {
      const r = await refusedWithLogUnchanged('POST', '/v1/policies', {
        headers: { ...csrf, ...auth },
        body: applyBody('csrf'),
      });
      expect(r.status).toBe(415);
      expect(r.body.code).toBe('UnsupportedMediaType');
    }
    const cors = await refusedWithLogUnchanged('POST', '/v1/policies', {
      headers: { ...json, ...bearer(tokens.operator), origin: 'http://evil.example' },
      body: applyBody('cors'),
    });
    expect(cors.status).toBe(403);
    expect(cors.body.detail).toMatch(/cross-origin request from "http:\/\/evil.example"/);
    // the coordinator's own origin is fine
    const own = await call('GET', '/v1/nodes', {
      headers: { ...bearer(tokens.viewer), origin: `http://127.0.0.1:${coordinator.port}` },
    });
    expect(own.status).toBe(200);
  });

  it('refuses a foreign Host header (DNS rebinding): 421, log unchanged', async () => {
    const r = await refusedWithLogUnchanged('POST', '/v1/policies', {
      headers: { ...json, ...bearer(tokens.operator), host: `evil.example:${coordinator.port}` },
      body: applyBody('rebound'),
    });
    expect(r.status).toBe(421);
    expect(r.body.detail).toMatch(/Host "evil.example:\d+" is not a name of this coordinator/);
  });

  it('refuses a viewer applying: 403 naming the role needed, log unchanged', async () => {
    const r = await refusedWithLogUnchanged('POST', '/v1/policies', {
      headers: { ...json, ...bearer(tokens.viewer) },
      body: applyBody('viewer-apply'),
    });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({
      code: 'Forbidden',
      details: { needed: 'operator', role: 'viewer' },
    });
    expect(r.body.detail).toBe(
      'token:vic (viewer) may not POST /v1/policies: it needs the operator role',
    );
    // nor may an operator manage tokens
    const mint = await refusedWithLogUnchanged('POST', '/v1/tokens', {
      headers: { ...json, ...bearer(tokens.operator) },
      body: JSON.stringify({ name: 'mallory', role: 'admin' }),
    });
    expect(mint.status).toBe(403);
  });

  it('lets only an admin act on behalf of someone, recorded beside the actor', async () => {
    const r = await refusedWithLogUnchanged('POST', '/v1/policies/tcp-latency/rollback', {
      headers: { ...json, ...bearer(tokens.operator), 'x-tramway-on-behalf-of': 'bob' },
      body: '{}',
    });
    expect(r.status).toBe(403);
    expect(r.body.detail).toMatch(/only an admin may send x-tramway-on-behalf-of/);
    const created = await call('POST', '/v1/tokens', {
      headers: { ...json, ...bearer(coordinator.token), 'x-tramway-on-behalf-of': 'user:bob' },
      body: JSON.stringify({ name: 'bobs-ci', role: 'viewer' }),
    });
    expect(created.status).toBe(201);
    const issued = (await readLog(nats.url, nats.credentials())).find(
      (e) => e.type === 'AccessTokenIssued' && (e.data as { name: string }).name === 'bobs-ci',
    )!;
    expect(issued.metadata).toMatchObject({ actor: 'token:admin', onBehalfOf: 'user:bob' });
  });

  it('refuses a revoked token: 401, log unchanged; the log holds hashes, never secrets', async () => {
    const created = await call('POST', '/v1/tokens', {
      headers: { ...json, ...bearer(coordinator.token) },
      body: JSON.stringify({ name: 'temp', role: 'operator' }),
    });
    const temp = created.body.token as string;
    expect((await call('GET', '/v1/nodes', { headers: bearer(temp) })).status).toBe(200);
    const revoked = await call('DELETE', '/v1/tokens/temp', {
      headers: { ...json, ...bearer(coordinator.token) },
      body: JSON.stringify({ reason: 'rotated' }),
    });
    expect(revoked.status).toBe(200);
    const r = await refusedWithLogUnchanged('POST', '/v1/policies', {
      headers: { ...json, ...bearer(temp) },
      body: applyBody('revoked'),
    });
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe('unknown or revoked token');
    const log = JSON.stringify(await readLog(nats.url, nats.credentials()));
    for (const secret of [temp, tokens.viewer, tokens.operator, coordinator.token])
      expect(log).not.toContain(secret);
    const listed = await call('GET', '/v1/tokens', { headers: bearer(coordinator.token) });
    expect(JSON.stringify(listed.body)).not.toMatch(/[0-9a-f]{64}/);
    expect(listed.body.items).toContainEqual(
      expect.objectContaining({ name: 'temp', state: 'revoked', reason: 'rotated' }),
    );
  });

  it('counts every denial in /metrics and logs it without the token', async () => {
    const metrics = await call('GET', '/metrics', { headers: bearer(tokens.viewer) });
    const count = (reason: string): number =>
      Number(
        new RegExp(`tramway_http_denied_total\\{reason="${reason}"\\} (\\d+)`).exec(
          metrics.body as string,
        )?.[1] ?? -1,
      );
    expect(count('unauthenticated')).toBeGreaterThanOrEqual(7);
    expect(count('forbidden')).toBeGreaterThanOrEqual(4);
    expect(count('unsupported_media_type')).toBe(2);
    expect(count('bad_origin')).toBe(1);
    expect(count('bad_host')).toBe(1);
    expect(count('rate_limited')).toBe(0);
    const denials = coordinator
      .output()
      .split('\n')
      .filter((l) => l.includes('"request denied"'));
    expect(denials.length).toBeGreaterThanOrEqual(15);
    expect(denials.some((l) => l.includes('"identity":"token:vic"'))).toBe(true);
    // an unknown or revoked token is named by a fingerprint, never by itself
    expect(denials.some((l) => /"identity":"token sha256:[0-9a-f]{12}"/.test(l))).toBe(true);
    for (const secret of [tokens.viewer, tokens.operator, coordinator.token])
      expect(coordinator.output()).not.toContain(secret);
  });
});
