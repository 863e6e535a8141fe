#!/usr/bin/env node
/**
 * `npm run dev:nats-cluster`: three nats-server processes with JetStream on loopback, routed into
 * one cluster (the fleet shape of ARCHITECTURE.md "Deployment shapes", on one machine). Client
 * ports 4222-4224 and route ports 6222-6224 by default (NATS_CLUSTER_PORT, NATS_CLUSTER_ROUTE_PORT
 * move the first of each), stores under .tramway/nats-cluster/s1..s3 (kept across runs). No TLS
 * and no identities: a development cluster only (`npm run dev:nats` is the secured single
 * server). Point the services at all three:
 *   NATS_URL=nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224
 * The coordinator then creates the log and facts streams with 3 replicas. Ctrl-C stops all three.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const SIZE = 3;

const port = (name, fallback) => {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535 - SIZE)
    throw new Error(`${name}: ${JSON.stringify(text)} is not a port (1-${65535 - SIZE})`);
  return value;
};

const binary =
  ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) =>
    existsSync(p),
  ) ?? 'nats-server';

let clientBase;
let routeBase;
try {
  clientBase = port('NATS_CLUSTER_PORT', 4222);
  routeBase = port('NATS_CLUSTER_ROUTE_PORT', 6222);
} catch (error) {
  console.error(`dev:nats-cluster: ${error.message}`);
  process.exit(2);
}
const root = resolve('.tramway/nats-cluster');
const servers = Array.from({ length: SIZE }, (_, i) => ({
  name: `s${i + 1}`,
  port: clientBase + i,
  routePort: routeBase + i,
  store: resolve(root, `s${i + 1}`),
}));

const children = servers.map((s) => {
  mkdirSync(s.store, { recursive: true });
  const routes = servers
    .filter((o) => o !== s)
    .map((o) => `nats://127.0.0.1:${o.routePort}`)
    .join(',');
  // prettier-ignore
  const args = [
    '-js', '-a', '127.0.0.1', '-p', String(s.port), '-sd', s.store, '-n', s.name,
    '--cluster_name', 'tramway-dev', '--cluster', `nats://127.0.0.1:${s.routePort}`,
    '--routes', routes,
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  child.stderr.on('data', (chunk) => {
    for (const line of chunk.toString().split('\n'))
      if (line.trim() !== '') process.stderr.write(`[${s.name}] ${line}\n`);
  });
  child.on('error', (error) => {
    console.error(
      `dev:nats-cluster: cannot start ${binary} (${error.message}); install nats-server`,
    );
    stop(1);
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`dev:nats-cluster: ${s.name} exited (${signal ?? code}); stopping the others`);
      stop(1);
    }
  });
  return child;
});

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  process.exitCode = code;
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

console.log(
  `dev:nats-cluster: ${SIZE} servers (stores in ${root})\n` +
    `  NATS_URL=${servers.map((s) => `nats://127.0.0.1:${s.port}`).join(',')}`,
);
