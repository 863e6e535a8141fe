import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { NatsCredentials } from '@tramway/shared/infra';
import { SecurityFiles, loadNodeRegistry, natsCredentialsOf } from '@tramway/shared/infra';
import { addNodes, initSecurityDir } from '@tramway/shared/security';
import { makeTempDir } from './temp-dir.js';
import { waitUntil } from './wait-until.js';

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** the JetStream store directory (a fresh temp dir) */
  readonly storeDir: string;
  /** stops this server (by its pid) and removes its store; resolves once it has exited */
  readonly stop: () => Promise<void>;
  /**
   * the security directory of this server (`tramway security init`: TLS, one NKey user per
   * identity, node permissions); undefined for a plain server
   */
  readonly securityDir: string | undefined;
  /**
   * how to connect as the coordinator (default; every permission) or as a node; undefined for a
   * plain server
   */
  readonly credentials: (identity?: { readonly nodeId: string }) => NatsCredentials | undefined;
  /**
   * gives `nodeIds` NATS identities (auto-approved unless `autoApprove: false`: the coordinator
   * then records them pending; known ones are skipped) and has the running server reload its
   * configuration (SIGHUP); nothing on a plain server
   */
  readonly addNodes: (
    nodeIds: readonly string[],
    options?: { readonly autoApprove?: boolean },
  ) => Promise<void>;
  /** the server's log (stderr) so far */
  readonly log: () => string;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

export const natsServerBinary = (): string =>
  ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) =>
    existsSync(p),
  ) ?? 'nats-server';

/**
 * Starts a real nats-server with JetStream on a free loopback port with a fresh store directory
 * and waits until it logs "Server is ready". Never touches the machine's own server on 4222.
 *
 * By default the server is secured as a deployment is: a fresh security directory
 * (`initSecurityDir`, one per server) with TLS, an NKey user for the coordinator and one per node
 * of `nodes` (more with `addNodes`), each node allowed only its own subjects. `secure: false`
 * starts a plain server, for the contract tests of the event store and the bus (what they test
 * is the store's and the bus's behaviour over NATS, which credentials do not change) and benches.
 */
export const startNatsServer = async ({
  readyTimeoutMs = 10_000,
  secure = true,
  nodes = [],
}: {
  readyTimeoutMs?: number;
  secure?: boolean;
  /** nodes given an identity from the start */
  nodes?: readonly string[];
} = {}): Promise<NatsServerHandle> => {
  const store = makeTempDir('tramway-nats-');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const security = secure ? makeTempDir('tramway-security-') : undefined;
    if (security !== undefined)
      await initSecurityDir({
        dir: security.path,
        nodes,
        autoApprove: true,
        force: true,
        nats: { listen: `127.0.0.1:${port}`, storeDir: store.path },
      });
    const args =
      security === undefined
        ? ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store.path]
        : ['-c', join(security.path, SecurityFiles.natsServerConf)];
    const child = spawn(natsServerBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.length > 400_000) log = log.slice(-200_000);
    });
    const ready = await waitForReady(child, readyTimeoutMs, () => log);
    if (ready === true) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      let reloads = 0;
      let reloading: Promise<unknown> = Promise.resolve();
      const addAndReload = async (
        nodeIds: readonly string[],
        autoApprove: boolean,
      ): Promise<void> => {
        if (security === undefined) return;
        const known = loadNodeRegistry(security.path).nodes;
        const fresh = [...new Set(nodeIds)].filter((id) => !known.has(id));
        if (fresh.length === 0) return;
        addNodes(security.path, fresh, { autoApprove });
        const expected = ++reloads;
        child.kill('SIGHUP');
        await waitUntil(
          `nats-server reloaded its configuration (${expected})`,
          () => log.split('Reloaded server configuration').length - 1 >= expected,
          { timeoutMs: 10_000, intervalMs: 20 },
        );
      };
      return {
        url: `nats://127.0.0.1:${port}`,
        port,
        pid: child.pid ?? -1,
        storeDir: store.path,
        securityDir: security?.path,
        credentials: (identity) =>
          security === undefined
            ? undefined
            : natsCredentialsOf(security.path, identity ?? { coordinator: true }),
        // one reload at a time: each waits for its own "Reloaded" line
        addNodes: (nodeIds, options) => {
          const run = reloading.then(() => addAndReload(nodeIds, options?.autoApprove ?? true));
          reloading = run.catch(() => undefined);
          return run;
        },
        log: () => log,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
          store.remove();
          security?.remove();
        },
      };
    }
    child.kill('SIGKILL');
    security?.remove();
    if (attempt >= 2) {
      store.remove();
      throw new Error(`nats-server did not start on 127.0.0.1:${port}: ${ready}`);
    }
  }
};

const waitForReady = (
  child: ChildProcess,
  timeoutMs: number,
  log: () => string,
): Promise<true | string> =>
  new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve(`not ready after ${timeoutMs} ms; log: ${log()}`),
      timeoutMs,
    );
    const onData = (): void => {
      if (log().includes('Server is ready')) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolve(true);
      }
    };
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(`spawn failed: ${error.message}`);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(`exited with ${code}; log: ${log()}`);
    });
  });
