/**
 * A real 3-server NATS cluster with JetStream on loopback for tests: each server on its own free
 * client and route ports with its own store directory, routes to the others, one cluster name.
 * Started, it has a JetStream meta leader; one server can be killed (SIGKILL) and restarted on
 * the same ports and store, as a machine that dies and comes back. Never touches 4222.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { freePort, natsServerBinary } from './nats-server.js';
import type { TempDir } from './temp-dir.js';
import { makeTempDir } from './temp-dir.js';
import { waitUntil } from './wait-until.js';

export interface ClusterServer {
  /** the server's name (`s1`...), as JetStream names stream leaders */
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly routePort: number;
  readonly storeDir: string;
  /** true while its process runs */
  readonly running: () => boolean;
  readonly log: () => string;
}

export interface NatsClusterHandle {
  /** every server's client URL (what a client is given: it reconnects across them) */
  readonly urls: readonly string[];
  readonly servers: readonly ClusterServer[];
  /** SIGKILLs server `index` (0-based); resolves once it has exited */
  readonly kill: (index: number) => Promise<void>;
  /** starts server `index` again on its ports and store; resolves once it is ready */
  readonly restart: (index: number) => Promise<void>;
  /** resolves once the cluster has a JetStream meta leader (the API answers) */
  readonly waitForMetaLeader: (timeoutMs?: number) => Promise<void>;
  /** the index of the server leading JetStream stream `stream` */
  readonly streamLeader: (stream: string) => Promise<number>;
  /** stops every server and removes the stores */
  readonly stop: () => Promise<void>;
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  log: string;
}

const CLUSTER_NAME = 'tramway-test';

/** Starts `size` (default 3) routed nats-servers with JetStream and waits for a meta leader. */
export const startNatsCluster = async ({
  size = 3,
  readyTimeoutMs = 15_000,
}: { size?: number; readyTimeoutMs?: number } = {}): Promise<NatsClusterHandle> => {
  const stores: TempDir[] = [];
  const ports: { port: number; routePort: number }[] = [];
  const taken = new Set<number>();
  const nextPort = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  for (let i = 0; i < size; i++) {
    ports.push({ port: await nextPort(), routePort: await nextPort() });
    stores.push(makeTempDir(`tramway-nats-s${i + 1}-`));
  }
  const running: (Running | undefined)[] = Array.from({ length: size }, () => undefined);
  const logs: string[] = Array.from({ length: size }, () => '');

  const args = (i: number): string[] => [
    '-js',
    '-a',
    '127.0.0.1',
    '-p',
    String(ports[i]!.port),
    '-sd',
    stores[i]!.path,
    '-n',
    `s${i + 1}`,
    '--cluster_name',
    CLUSTER_NAME,
    '--cluster',
    `nats://127.0.0.1:${ports[i]!.routePort}`,
    '--routes',
    ports
      .filter((_, j) => j !== i)
      .map((p) => `nats://127.0.0.1:${p.routePort}`)
      .join(','),
  ];

  const launch = async (i: number): Promise<void> => {
    const child = spawn(natsServerBinary(), args(i), { stdio: ['ignore', 'ignore', 'pipe'] });
    const entry: Running = {
      child,
      exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
      log: '',
    };
    running[i] = entry;
    child.stderr?.on('data', (chunk: Buffer) => {
      entry.log += chunk.toString();
      if (entry.log.length > 400_000) entry.log = entry.log.slice(-200_000);
      logs[i] = entry.log;
    });
    await waitUntil(
      `nats-server s${i + 1} ready`,
      () => {
        if (child.exitCode !== null) throw new Error(`s${i + 1} exited: ${entry.log}`);
        return entry.log.includes('Server is ready');
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 20 },
    );
  };

  const urls = ports.map((p) => `nats://127.0.0.1:${p.port}`);
  const withConnection = async <T>(use: (nc: NatsConnection) => Promise<T>): Promise<T> => {
    const nc = await connect({
      servers: urls.filter((_, i) => running[i] !== undefined),
      reconnect: false,
      timeout: 2000,
    });
    try {
      return await use(nc);
    } finally {
      await nc.close();
    }
  };

  const waitForMetaLeader = async (timeoutMs = readyTimeoutMs): Promise<void> => {
    await waitUntil(
      'a JetStream meta leader',
      async () => {
        try {
          return await withConnection(async (nc) => {
            const jsm = await jetstreamManager(nc, { timeout: 1000 });
            await jsm.getAccountInfo();
            return true;
          });
        } catch {
          return false;
        }
      },
      { timeoutMs, intervalMs: 100 },
    );
  };

  const stopAll = async (): Promise<void> => {
    for (const r of running) {
      if (r === undefined) continue;
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    }
    await Promise.all(running.map((r) => r?.exited));
    for (const s of stores) s.remove();
  };

  try {
    await Promise.all(ports.map((_, i) => launch(i)));
    await waitForMetaLeader();
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    urls,
    servers: ports.map((p, i) => ({
      name: `s${i + 1}`,
      url: urls[i]!,
      port: p.port,
      routePort: p.routePort,
      storeDir: stores[i]!.path,
      running: () => {
        const r = running[i];
        return r !== undefined && r.child.exitCode === null && r.child.signalCode === null;
      },
      log: () => logs[i] ?? '',
    })),
    kill: async (index) => {
      const r = running[index];
      if (r === undefined) return;
      r.child.kill('SIGKILL');
      await r.exited;
      running[index] = undefined;
    },
    restart: async (index) => {
      if (running[index] !== undefined) throw new Error(`s${index + 1} is running`);
      await launch(index);
    },
    waitForMetaLeader,
    streamLeader: (stream) =>
      withConnection(async (nc) => {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        const info = await jsm.streams.info(stream);
        const leader = info.cluster?.leader;
        const index = ports.findIndex((_, i) => `s${i + 1}` === leader);
        if (index < 0) throw new Error(`stream ${stream} has no leader (${String(leader)})`);
        return index;
      }),
    stop: stopAll,
  };
};
