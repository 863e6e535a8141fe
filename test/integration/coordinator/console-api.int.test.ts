/**
 * The console's side of the coordinator over real HTTP (issue 13): the static files at /ui with
 * their security headers, the /v1/console/* read endpoints (credential, role, bounds, problem
 * details, time travel, paging) and the live event stream (resume from Last-Event-ID, the limit
 * of streams per credential, a slow reader dropped), against the embedded fleet: a real SQLite
 * log, the coordinator's HTTP API and simulated agents in this process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore } from '@tramway/shared/infra';
import { fleetStateAt, silentLogger } from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import { DEFAULT_CONSOLE_DIR } from '../../../services/coordinator/src/http/console-static.js';
import { createEventStreams } from '../../../services/coordinator/src/http/event-stream.js';
import { fleetRows } from '../../../services/coordinator/src/http/console-views.js';
import type { EmbeddedFleet } from '../../../services/embedded/src/index.js';
import {
  DEFAULT_FLEET_FILE,
  loadFleetFile,
  startEmbeddedFleet,
} from '../../../services/embedded/src/index.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
let dir: TempDir;
let fleet: EmbeddedFleet;
let viewerToken: string;

/** GET with the admin's token, another one, or none (null) */
const get = (path: string, token: string | null = fleet.adminToken ?? null) =>
  fetch(`${fleet.url}${path}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });

const json = async <T>(
  path: string,
  token: string | null = fleet.adminToken ?? null,
): Promise<T> => {
  const res = await get(path, token);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
};

/** The status of a GET sent with this exact path and these headers (no URL normalisation). */
const rawStatus = (path: string, headers: Record<string, string> = {}): Promise<number> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(fleet.url);
    const req = request({ host: hostname, port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });

interface Frame {
  id?: string;
  event?: string;
  data: string;
}

/** Opens the event stream and collects its frames until `enough` says so. */
const readStream = (
  headers: Record<string, string>,
  enough: (frames: Frame[]) => boolean,
): Promise<Frame[]> =>
  new Promise((resolve, reject) => {
    const url = new URL('/v1/events/stream', fleet.url);
    const req = request(url, {
      headers: { authorization: `Bearer ${fleet.adminToken}`, ...headers },
    });
    const frames: Frame[] = [];
    let buffer = '';
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`status ${res.statusCode}`));
        return;
      }
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: Frame = { data: '' };
          for (const line of block.split('\n')) {
            const [field, ...rest] = line.split(': ');
            const value = rest.join(': ');
            if (field === 'id') frame.id = value;
            else if (field === 'event') frame.event = value;
            else if (field === 'data') frame.data = value;
          }
          if (frame.data !== '') frames.push(frame);
        }
        if (enough(frames)) {
          req.destroy();
          resolve(frames);
        }
      });
    });
    req.on('error', (e) => {
      if (!req.destroyed) reject(e);
    });
    req.end();
  });

beforeAll(async () => {
  if (!existsSync(join(DEFAULT_CONSOLE_DIR, 'index.html')))
    execFileSync('npm', ['run', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
  dir = makeTempDir('tramway-console-api-');
  const demo = loadFleetFile(DEFAULT_FLEET_FILE);
  if (!demo.ok) throw new Error(demo.error.join('\n'));
  fleet = await startEmbeddedFleet({
    dataDir: dir.file('fleet'),
    port: 0,
    nodes: demo.value.nodes,
  });
  const issued = await fetch(`${fleet.url}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fleet.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'watcher', role: 'viewer' }),
  });
  viewerToken = ((await issued.json()) as { token: string }).token;
  const policy = await fetch(`${fleet.url}/v1/policies`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fleet.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      policy: {
        apiVersion: 'tramway.dev/v1alpha1',
        kind: 'TracingPolicy',
        metadata: { name: 'send' },
        spec: {
          program: { name: 'send', attach: 'fentry' },
          targets: [{ pattern: 'tcp_sendmsg', cookie: 1 }],
          strategy: 'auto',
          rollout: { waves: ['100%'], maxFailureRatio: 0, pauseSeconds: 0 },
        },
      },
    }),
  });
  expect(policy.status).toBe(202);
  await waitUntil('the policy attached everywhere', async () => {
    const f = await json<{ items: { cells: Record<string, { state: string }> }[] }>(
      '/v1/console/fleet',
    );
    return f.items.every((r) => r.cells['send']?.state === 'attached');
  });
});

afterAll(async () => {
  await fleet?.stop();
  dir?.remove();
});

describe('/ui: the console files', () => {
  it('serves index.html with a strict CSP, nosniff and no caching, without a credential', async () => {
    const res = await get('/ui/', null);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe|https?:/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(html).not.toMatch(/<script>|<style>|https?:\/\//);
    const asset = await get(script!, null);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('redirects /ui to /ui/, refuses other methods, unknown files and foreign Host names', async () => {
    const bare = await fetch(`${fleet.url}/ui`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/ui/']);
    expect((await fetch(`${fleet.url}/ui/`, { method: 'POST' })).status).toBe(405);
    expect((await get('/ui/assets/nothing.js', null)).status).toBe(404);
    // a path as sent, not normalised by a URL parser: still only the console's own files
    // (`..` is resolved first: that path is /package.json, an API path that needs a credential)
    expect(await rawStatus('/ui/../package.json')).toBe(401);
    expect(await rawStatus('/ui/..%2f..%2fpackage.json')).toBe(404);
    const rebound = await rawStatus('/ui/', { host: 'evil.example' });
    expect(rebound).toBe(421);
  });
});

describe('/v1/console/*: reads for the console', () => {
  it('needs a credential (401 problem) and lets a viewer read', async () => {
    const res = await get('/v1/console/fleet', null);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const who = await json<{ actor: string; role: string }>('/v1/console/whoami', viewerToken);
    expect(who).toMatchObject({ actor: 'token:watcher', role: 'viewer' });
    const f = await json<{ total: number; live: boolean }>('/v1/console/fleet', viewerToken);
    expect(f).toMatchObject({ total: 3, live: true });
  });

  it('answers the fleet grid, filtered by label and paged by cursor', async () => {
    const f = await json<{
      items: { nodeId: string; profile: string; health: string; cells: object }[];
      policies: { name: string }[];
      nextCursor: string | null;
    }>('/v1/console/fleet?label=zone=b');
    expect(f.items.map((r) => [r.nodeId, r.profile, r.health])).toEqual([
      ['web-2', 'v26', 'healthy'],
    ]);
    expect(f.policies.map((p) => p.name)).toEqual(['send']);
    const first = await json<{ items: { nodeId: string }[]; nextCursor: string }>(
      '/v1/console/fleet?limit=2',
    );
    expect(first.items.map((r) => r.nodeId)).toEqual(['web-1', 'web-2']);
    const second = await json<{ items: { nodeId: string }[]; nextCursor: null }>(
      `/v1/console/fleet?limit=2&cursor=${first.nextCursor}`,
    );
    expect([second.items.map((r) => r.nodeId), second.nextCursor]).toEqual([['web-3'], null]);
  });

  it('rebuilds the fleet at a past position (time travel)', async () => {
    const applied = await json<{ items: { position: number }[] }>(
      '/v1/console/events?type=PolicyApplied',
    );
    const before = applied.items[0]!.position - 1;
    const past = await json<{
      live: boolean;
      position: number;
      policies: unknown[];
      items: { cells: object; health: string }[];
    }>(`/v1/console/fleet?at=${before}`);
    expect(past.live).toBe(false);
    expect(past.position).toBeLessThanOrEqual(before);
    expect(past.policies).toEqual([]);
    expect(
      past.items.every((r) => Object.keys(r.cells).length === 0 && r.health === 'unknown'),
    ).toBe(true);
    const empty = await json<{ items: unknown[]; position: number }>('/v1/console/fleet?at=0');
    expect([empty.items, empty.position]).toEqual([[], 0]);
  });

  it('moves back through the log from kept past states, answering what a fold from the start gives', async () => {
    const core = fleet.coordinator.core;
    // the live fold left the first state (replay included) for time travel to start from
    expect(core.pastStates.positions().length).toBeGreaterThan(0);
    const head = await core.history.headPosition();
    for (let at = head - 1; at > 0; at -= Math.max(1, Math.floor(head / 7))) {
      const answer = await json<{ position: number; items: { nodeId: string; cells: object }[] }>(
        `/v1/console/fleet?at=${at}&limit=1000`,
      );
      const { state } = await fleetStateAt(core.history, { position: at });
      expect(answer.position, `position at ${at}`).toBe(state.position);
      expect(
        answer.items.map((r) => [r.nodeId, r.cells]),
        `rows at ${at}`,
      ).toEqual(fleetRows(state, () => undefined).map((r) => [r.nodeId, r.cells]));
    }
  });

  it('answers a node, a function, the rollouts', async () => {
    const node = await json<{
      trampolineBudget: number;
      trampolines: { function: string; links: number }[];
    }>('/v1/console/nodes/web-1');
    expect(node.trampolineBudget).toBe(38);
    expect(node.trampolines).toContainEqual(
      expect.objectContaining({ function: 'tcp_sendmsg', links: 1 }),
    );
    const fn = await json<{ items: { nodeId: string; policy: string }[] }>(
      '/v1/console/functions/tcp_sendmsg',
    );
    expect(fn.items.map((u) => [u.nodeId, u.policy])).toEqual([
      ['web-1', 'send'],
      ['web-2', 'send'],
      ['web-3', 'send'],
    ]);
    const rollouts = await json<{
      items: { rolloutId: string; status: string; waves: unknown[] }[];
    }>('/v1/console/rollouts');
    expect(rollouts.items.map((r) => [r.rolloutId, r.status, r.waves.length])).toEqual([
      ['send-v1', 'completed', 1],
    ]);
    expect((await get('/v1/console/nodes/nope')).status).toBe(404);
  });

  it('pages the log by position with filters', async () => {
    const first = await json<{ items: { position: number }[]; nextAfter: number; head: number }>(
      '/v1/console/events?limit=5',
    );
    expect(first.items.map((e) => e.position)).toEqual([1, 2, 3, 4, 5]);
    expect(first.nextAfter).toBe(5);
    const next = await json<{ items: { position: number }[] }>(
      '/v1/console/events?limit=2&after=5',
    );
    expect(next.items.map((e) => e.position)).toEqual([6, 7]);
    const links = await json<{ items: { type: string; nodeId: string }[]; nextAfter: null }>(
      '/v1/console/events?type=LinkCreated&node=web-2',
    );
    expect(links.items.length).toBeGreaterThan(0);
    expect(links.items.every((e) => e.type === 'LinkCreated' && e.nodeId === 'web-2')).toBe(true);
    expect(links.nextAfter).toBeNull();
  });

  it('refuses bad queries with a problem naming the parameter', async () => {
    for (const [path, field] of [
      ['/v1/console/fleet?at=-1', 'query.at'],
      ['/v1/console/fleet?label=%3Dx', 'query.label'],
      ['/v1/console/fleet?limit=0', 'query.limit'],
      ['/v1/console/events?limit=5000', 'query.limit'],
      ['/v1/console/events?type=a%20b', 'query.type'],
      ['/v1/console/events?after=x', 'query.after'],
    ] as const) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      const body = (await res.json()) as { code: string; errors: string[] };
      expect(body.code, path).toBe('InvalidRequest');
      expect(body.errors.join(' '), path).toContain(field);
    }
  });
});

describe('/v1/events/stream: the log live', () => {
  it('resumes after Last-Event-ID, then streams what is appended', async () => {
    const head = (await json<{ head: number }>('/v1/console/events?limit=1')).head;
    const reading = readStream({ 'last-event-id': String(head - 3) }, (f) =>
      f.some((x) => x.event === 'AccessTokenIssued'),
    );
    await new Promise((r) => setTimeout(r, 300));
    await fetch(`${fleet.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fleet.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'later', role: 'viewer' }),
    });
    const frames = await reading;
    const ids = frames.map((f) => Number(f.id));
    expect(ids.slice(0, 3)).toEqual([head - 2, head - 1, head]);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const issued = JSON.parse(frames.at(-1)!.data) as { type: string; actor: string };
    expect(issued).toMatchObject({ type: 'AccessTokenIssued', actor: 'token:admin' });
  });

  it('resets instead of replaying further back than it keeps, and refuses a 5th stream per credential', async () => {
    const open: (() => void)[] = [];
    const opened = await Promise.all(
      [1, 2, 3, 4].map(
        () =>
          new Promise<number>((resolve, reject) => {
            const req = request(new URL('/v1/events/stream', fleet.url), {
              headers: { authorization: `Bearer ${viewerToken}` },
            });
            req.on('response', (res) => {
              open.push(() => req.destroy());
              resolve(res.statusCode ?? 0);
            });
            req.on('error', reject);
            req.end();
          }),
      ),
    );
    expect(opened).toEqual([200, 200, 200, 200]);
    const fifth = await get('/v1/events/stream', viewerToken);
    expect(fifth.status).toBe(429);
    expect(((await fifth.json()) as { code: string }).code).toBe('TooManyRequests');
    // another credential is not held back by this one's streams
    const frames = await readStream({ 'last-event-id': '99999999' }, (f) => f.length > 0);
    expect(frames[0]!.event).toBe('reset');
    for (const close of open) close();
    await waitUntil(
      'the streams closed',
      async () =>
        (await get('/v1/events/stream', viewerToken).then((r) => {
          void r.body?.cancel();
          return r.status;
        })) === 200,
    );
  });

  it('drops a client that does not read instead of buffering for it', async () => {
    // real events of this log, emitted again and again at new positions: megabytes at once
    const real: RecordedEvent[] = [];
    for await (const e of fleet.coordinator.core.history.readAll()) real.push(e);
    const flood = (after: number): Observable<RecordedEvent> =>
      new Observable((sub) => {
        for (let i = 1; i <= 20_000; i++)
          sub.next({ ...real[i % real.length]!, globalPosition: after + i });
      });
    const store = { headPosition: async () => 0, subscribe: flood } as unknown as EventStore;
    const streams = createEventStreams(store, silentLogger, {
      maxPerCredential: 1,
      maxStreams: 1,
      maxBufferedBytes: 64 * 1024,
      maxReplay: 10,
      keepAliveMs: 60_000,
    });
    const server = createServer((req, res) => streams.open(req, res, 'someone'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const closed = await new Promise<boolean>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/' });
        req.on('response', (res) => {
          res.pause(); // never reads
          res.on('close', () => resolve(true));
          res.on('error', () => resolve(true));
        });
        req.on('error', () => resolve(true));
        req.end();
      });
      expect(closed).toBe(true);
      expect(streams.counts()).toEqual({ open: 0, dropped: 1 });
    } finally {
      streams.closeAll();
      await new Promise((r) => server.close(r));
    }
  });
});
