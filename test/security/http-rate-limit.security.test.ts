/**
 * Issue 10, "no rate limit", replayed against a real coordinator process with small buckets:
 * one credential over its burst gets 429 with Retry-After (other credentials are not slowed),
 * and an address that keeps presenting bad tokens is refused before authentication. The log is
 * unchanged by every refused request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoordinatorHandle } from '../support/fleet-processes.js';
import { readLog, spawnCoordinator, tracingPolicy } from '../support/fleet-processes.js';
import { startNatsServer } from '../support/nats-server.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import type { RawOptions } from '../support/raw-http.js';
import { rawRequest } from '../support/raw-http.js';

let nats: NatsServerHandle;
let coordinator: CoordinatorHandle;

const call = (method: string, path: string, options: RawOptions = {}) =>
  rawRequest(`${coordinator.url}${path}`, method, options);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  nats = await startNatsServer();
  coordinator = await spawnCoordinator({
    natsUrl: nats.url,
    securityDir: nats.securityDir,
    env: {
      // a bucket of 4 that refills once in 100 s: the 5th quick request is over
      HTTP_RATE_PER_SEC: '0.01',
      HTTP_RATE_BURST: '4',
      HTTP_AUTH_FAILURES_PER_SEC: '0.01',
      HTTP_AUTH_FAILURES_BURST: '3',
    },
  });
});

afterAll(async () => {
  await coordinator?.stop();
  await nats?.stop();
});

describe('rate limits (real coordinator process)', () => {
  it('answers 429 with Retry-After once a credential is over its burst; the log is unchanged', async () => {
    // the admin token's first request was spawnCoordinator's readiness probe
    const created = await call('POST', '/v1/tokens', {
      headers: { ...bearer(coordinator.token), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'busy', role: 'operator' }),
    });
    expect(created.status).toBe(201);
    const busy = created.body.token as string;
    for (let i = 0; i < 4; i++)
      expect((await call('GET', '/v1/nodes', { headers: bearer(busy) })).status).toBe(200);
    const before = (await readLog(nats.url, nats.credentials())).map((e) => e.id);
    const over = await call('POST', '/v1/policies', {
      headers: { ...bearer(busy), 'content-type': 'application/json' },
      body: JSON.stringify({ policy: tracingPolicy('flood', { targets: ['tcp_*'] }) }),
    });
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(over.body).toMatchObject({ code: 'TooManyRequests' });
    expect(over.body.detail).toMatch(/token:busy is over its request rate/);
    expect((await readLog(nats.url, nats.credentials())).map((e) => e.id)).toEqual(before);
    // another credential still has its own bucket
    expect((await call('GET', '/v1/nodes', { headers: bearer(coordinator.token) })).status).toBe(
      200,
    );
  });

  it('refuses an address that keeps failing authentication, even with a good token after', async () => {
    for (let i = 0; i < 3; i++)
      expect((await call('GET', '/v1/nodes', { headers: bearer(`tw_guess${i}`) })).status).toBe(
        401,
      );
    const blocked = await call('GET', '/v1/nodes', { headers: bearer('tw_guess-again') });
    expect(blocked.status).toBe(429);
    expect(blocked.body.detail).toMatch(/too many failed authentications from/);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const good = await call('GET', '/v1/nodes', { headers: bearer(coordinator.token) });
    expect(good.status).toBe(429);
    const metrics = await rawRequest(`${coordinator.url}/metrics`, 'GET', {
      headers: bearer(coordinator.token),
    });
    expect(metrics.status).toBe(429);
  });
});
