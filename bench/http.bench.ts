/**
 * `npm run bench:http [-- --json] [-- --requests N]`
 *
 * The cost of authentication and TLS on the coordinator's HTTP API: request latency (p50, p99) of
 * `GET /v1/nodes` (10 registered nodes) from one client, sequentially, against
 * - `baseline`: the same coordinator's route table and handler behind a bare node:http server (no
 *   Host/Origin/type checks, no credential, no rate limit, no TLS): what the API cost before;
 * - `http + bearer`: the coordinator's server, a bearer token (SHA-256 + constant-time compare);
 * - `https + bearer` and `https + mTLS` (client certificate), on a kept-alive connection;
 * - the same with a new connection per request (`new conn`): the TLS handshake's cost.
 * Ratios = p50 and p99 / the baseline's (same connection mode). The PKI is made by the openssl CLI.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import { createCoordinator } from '../services/coordinator/src/app.js';
import type { Coordinator } from '../services/coordinator/src/app.js';
import { createRoutes, dispatch } from '../services/coordinator/src/http/http-api.js';
import { createScriptedAgent } from '../test/integration/coordinator/scripted-agent.js';
import type { ScriptedAgent } from '../test/integration/coordinator/scripted-agent.js';
import { makeTempDir } from '../test/support/temp-dir.js';
import { makeTestPki } from '../test/support/test-certs.js';

const json = process.argv.includes('--json');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('--requests', 2000);
const NEW_CONN_REQUESTS = Math.max(50, Math.floor(REQUESTS / 5));
const NODES = 10;

interface Client {
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly tls?: { ca: string; cert?: string; key?: string };
}

/** Latencies (ms) of `n` sequential GETs; `keepAlive` false: a new connection each. */
const measure = async (client: Client, n: number, keepAlive: boolean): Promise<number[]> => {
  const https = client.url.startsWith('https:');
  const agent = https
    ? new HttpsAgent({ keepAlive, maxSockets: 1, ...client.tls })
    : new HttpAgent({ keepAlive, maxSockets: 1 });
  const once = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = (https ? httpsRequest : httpRequest)(
        `${client.url}/v1/nodes`,
        { agent, headers: client.headers ?? {} },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
            else resolve(performance.now() - t0);
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  for (let i = 0; i < 20; i++) await once(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await once());
  agent.destroy();
  return out;
};

const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface Row {
  readonly name: string;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly ratioP50: number;
  readonly ratioP99: number;
}

const main = async (): Promise<void> => {
  const dir = makeTempDir('tramway-bench-http-');
  const pki = makeTestPki(dir.file('pki'), { bench: 'viewer' });
  const store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
  const bus = createInProcessBus();
  const options = { tickMs: 0, driftIntervalMs: 0, staleAfterMs: 600_000 };
  const plain: Coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    options,
    http: {
      host: '127.0.0.1',
      port: 0,
      adminTokenFile: dir.file('data/admin.token'),
      limits: { rate: { perSecond: 1e6, burst: 1e6 } },
    },
  });
  await plain.start();
  const agents: ScriptedAgent[] = [];
  for (let i = 0; i < NODES; i++) {
    const a = createScriptedAgent(bus, { nodeId: `node-${i}`, labels: { role: 'web' } });
    agents.push(a);
    await a.start();
  }
  while (Object.keys(plain.core.fleet().nodes).length < NODES)
    await new Promise((r) => setTimeout(r, 20));
  // the same core behind HTTPS (a second HTTP front on the same log, no background work)
  const secure: Coordinator = createCoordinator({
    bus: createInProcessBus(),
    store,
    clock: { now: () => new Date() },
    options,
    http: {
      host: '127.0.0.1',
      port: 0,
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caFile },
      limits: { rate: { perSecond: 1e6, burst: 1e6 } },
    },
  });
  await secure.start();
  while (Object.keys(secure.core.fleet().nodes).length < NODES)
    await new Promise((r) => setTimeout(r, 20));

  const routes = createRoutes(plain.core);
  const bare: Server = createServer((req, res) => {
    void dispatch(routes, {
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', 'http://x').pathname,
      headers: req.headers,
      body: undefined,
    }).then((r) => {
      const payload = JSON.stringify(r.body);
      res.writeHead(r.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
    });
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

  const token = plain.adminToken()!;
  const bearer = { authorization: `Bearer ${token}` };
  const ca = readFileSync(pki.caFile, 'utf8');
  const certs = {
    ca,
    cert: readFileSync(pki.client('bench').certFile, 'utf8'),
    key: readFileSync(pki.client('bench').keyFile, 'utf8'),
  };
  const cases: { name: string; client: Client; keepAlive: boolean; base: string }[] = [
    { name: 'baseline (no auth, no TLS)', client: { url: bareUrl }, keepAlive: true, base: 'ka' },
    {
      name: 'http + bearer',
      client: { url: plain.url, headers: bearer },
      keepAlive: true,
      base: 'ka',
    },
    {
      name: 'https + bearer',
      client: { url: secure.url, headers: bearer, tls: { ca } },
      keepAlive: true,
      base: 'ka',
    },
    { name: 'https + mTLS', client: { url: secure.url, tls: certs }, keepAlive: true, base: 'ka' },
    {
      name: 'baseline, new conn',
      client: { url: bareUrl },
      keepAlive: false,
      base: 'new',
    },
    {
      name: 'http + bearer, new conn',
      client: { url: plain.url, headers: bearer },
      keepAlive: false,
      base: 'new',
    },
    {
      name: 'https + bearer, new conn',
      client: { url: secure.url, headers: bearer, tls: { ca } },
      keepAlive: false,
      base: 'new',
    },
    {
      name: 'https + mTLS, new conn',
      client: { url: secure.url, tls: certs },
      keepAlive: false,
      base: 'new',
    },
  ];
  const rows: Row[] = [];
  const baseP99 = new Map<string, number>();
  const baseP50 = new Map<string, number>();
  for (const c of cases) {
    const n = c.keepAlive ? REQUESTS : NEW_CONN_REQUESTS;
    const lat = await measure(c.client, n, c.keepAlive);
    const p99 = pct(lat, 99);
    if (!baseP99.has(c.base)) baseP99.set(c.base, p99);
    if (!baseP50.has(c.base)) baseP50.set(c.base, pct(lat, 50));
    rows.push({
      name: c.name,
      requests: n,
      p50Ms: pct(lat, 50),
      p99Ms: p99,
      ratioP50: pct(lat, 50) / baseP50.get(c.base)!,
      ratioP99: p99 / baseP99.get(c.base)!,
    });
  }

  await new Promise<void>((r) => bare.close(() => r()));
  await secure.stop();
  for (const a of agents) await a.stop();
  await plain.stop();
  await bus.close();
  await store.close();
  dir.remove();

  if (json) {
    process.stdout.write(`${JSON.stringify({ nodes: NODES, rows }, null, 2)}\n`);
    return;
  }
  const fmt = (x: number): string => x.toFixed(3);
  process.stdout.write(
    `GET /v1/nodes (${NODES} nodes), sequential requests from one client\n` +
      `${'case'.padEnd(28)}${'requests'.padStart(9)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'p50 ratio'.padStart(11)}${'p99 ratio'.padStart(11)}\n` +
      rows
        .map(
          (r) =>
            `${r.name.padEnd(28)}${String(r.requests).padStart(9)}${fmt(r.p50Ms).padStart(10)}${fmt(r.p99Ms).padStart(10)}${r.ratioP50.toFixed(2).padStart(11)}${r.ratioP99.toFixed(2).padStart(11)}`,
        )
        .join('\n') +
      '\n',
  );
};

main().catch((error: unknown) => {
  process.stderr.write(`bench:http: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
