import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { makeTempDir } from './temp-dir.js';

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** the JetStream store directory (a fresh temp dir) */
  readonly storeDir: string;
  /** stops this server (by its pid) and removes its store; resolves once it has exited */
  readonly stop: () => Promise<void>;
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

const natsServerBinary = (): string =>
  ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) =>
    existsSync(p),
  ) ?? 'nats-server';

/**
 * Starts a real `nats-server -js` on a free loopback port with a fresh store directory and waits
 * until it logs "Server is ready". Never touches the machine's own server on 4222.
 */
export const startNatsServer = async ({
  readyTimeoutMs = 10_000,
}: { readyTimeoutMs?: number } = {}): Promise<NatsServerHandle> => {
  const store = makeTempDir('tramway-nats-');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      natsServerBinary(),
      ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store.path],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const ready = await waitForReady(child, readyTimeoutMs);
    if (ready === true) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      return {
        url: `nats://127.0.0.1:${port}`,
        port,
        pid: child.pid ?? -1,
        storeDir: store.path,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
          store.remove();
        },
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 2) {
      store.remove();
      throw new Error(`nats-server did not start on 127.0.0.1:${port}: ${ready}`);
    }
  }
};

const waitForReady = (child: ChildProcess, timeoutMs: number): Promise<true | string> =>
  new Promise((resolve) => {
    let log = '';
    const timer = setTimeout(
      () => resolve(`not ready after ${timeoutMs} ms; log: ${log}`),
      timeoutMs,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(`spawn failed: ${error.message}`);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(`exited with ${code}; log: ${log}`);
    });
  });
