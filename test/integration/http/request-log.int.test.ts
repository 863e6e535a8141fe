/**
 * The coordinator API's request log: one line per request with method, route template, status,
 * duration, who asked and how, and a request id answered in `x-request-id`; probes and scrapes at
 * debug; never a token, a query or a body. A real coordinator HTTP server on a free loopback port,
 * an in-process bus, a real SQLite log; the lines in a memory logger.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FleetBus, LogRecord } from '@tramway/shared/infra';
import { SqliteEventStore, createInProcessBus, createMemoryLogger } from '@tramway/shared/infra';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { tokenFor } from '../../support/api-tokens.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';

let dir: TempDir;
let store: SqliteEventStore;
let bus: FleetBus;
let coordinator: Coordinator;
let records: LogRecord[];

beforeEach(async () => {
  dir = makeTempDir('tramway-request-log-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  bus = createInProcessBus();
  records = [];
  coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    logger: createMemoryLogger(records),
    http: { host: '127.0.0.1', port: 0 },
    options: { tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 5000 },
  });
  await coordinator.start();
});

afterEach(async () => {
  await coordinator.stop();
  await bus.close();
  await store.close();
  dir.remove();
});

const requestLines = (): LogRecord[] => records.filter((r) => r.msg === 'request');

describe('request log', () => {
  it('writes one line per request: route template, status, duration, actor, request id', async () => {
    const token = await tokenFor(coordinator.core, 'ops', 'operator');
    const res = await fetch(`${coordinator.url}/v1/policies/tcp-latency/status?limit=5`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-abc.1' },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('req-abc.1');
    const lines = requestLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('info');
    expect(lines[0]!.meta).toMatchObject({
      service: 'coordinator',
      part: 'http',
      requestId: 'req-abc.1',
      method: 'GET',
      route: '/v1/policies/{name}/status',
      status: 404,
      actor: 'token:ops',
      credential: 'token',
    });
    expect(lines[0]!.meta['durationMs']).toEqual(expect.any(Number));
    expect(lines[0]!.meta['durationMs']).toBeGreaterThanOrEqual(0);
    // the path's values and the query are not in the line: the template says which route
    expect(JSON.stringify(lines[0])).not.toContain('tcp-latency');
    expect(JSON.stringify(lines[0])).not.toContain('limit=5');
  });

  it('never logs the token or the body, and says who was refused and why', async () => {
    const token = await tokenFor(coordinator.core, 'vic', 'viewer');
    const secretBody = JSON.stringify({ name: 'x', role: 'admin', note: 'body-marker-42' });
    const refused = await fetch(`${coordinator.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: secretBody,
    });
    expect(refused.status).toBe(403);
    const unknown = await fetch(`${coordinator.url}/v1/nodes`, {
      headers: { authorization: 'Bearer tw_not-a-real-token-0123456789' },
    });
    expect(unknown.status).toBe(401);
    const everything = JSON.stringify(records);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain('tw_not-a-real-token-0123456789');
    expect(everything).not.toContain('body-marker-42');
    expect(requestLines().map((r) => r.meta)).toEqual([
      expect.objectContaining({
        method: 'POST',
        route: '/v1/tokens',
        status: 403,
        actor: 'token:vic',
        credential: 'token',
      }),
      expect.objectContaining({
        method: 'GET',
        route: '/v1/nodes',
        status: 401,
        credential: 'none',
      }),
    ]);
  });

  it('gives each request its own id when none (or a malformed one) is sent', async () => {
    const a = await fetch(`${coordinator.url}/openapi.json`);
    const b = await fetch(`${coordinator.url}/openapi.json`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    const ids = [a.headers.get('x-request-id'), b.headers.get('x-request-id')];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(requestLines().map((r) => r.meta['requestId'])).toEqual(ids);
  });

  it('logs probes and scrapes at debug, an unknown path with its (cut) path', async () => {
    expect((await fetch(`${coordinator.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${coordinator.url}/readyz`)).status).toBe(200);
    const long = `/no/such/${'x'.repeat(300)}`;
    const token = await tokenFor(coordinator.core, 'ops', 'operator');
    const unknown = await fetch(`${coordinator.url}${long}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(unknown.status).toBe(404);
    const lines = requestLines();
    expect(lines.map((r) => [r.level, r.meta['route'], r.meta['status']])).toEqual([
      ['debug', '/healthz', 200],
      ['debug', '/readyz', 200],
      ['info', null, 404],
    ]);
    expect(lines[2]!.meta['path']).toBe(long.slice(0, 200));
  });
});
