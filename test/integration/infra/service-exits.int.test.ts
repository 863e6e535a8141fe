/**
 * The coordinator and agent processes (main.ts, spawned for real) end at once when they cannot
 * start: a port already taken exits 1 with one fatal line naming the address; a bad configuration
 * value exits 2 naming the key and the value (README "Logs"). Before, the coordinator kept running
 * after failing to bind its port, so a restart policy never saw it fail.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/nats-server.js';
import { makeTempDir } from '../../support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** a process that has not exited by then never will: the bug these tests guard against */
const EXIT_GUARD_MS = 45_000;

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const runService = (
  main: string,
  env: Readonly<Record<string, string>>,
  guardMs = EXIT_GUARD_MS,
): Promise<Exit> =>
  new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@tramway/source', main],
      {
        cwd: ROOT,
        // not a terminal: the lines are JSON unless TRAMWAY_LOG_FORMAT says otherwise
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), guardMs);
    child.once('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const dir = makeTempDir('tramway-service-exits-');
let taken: Server;
let takenPort: number;

beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  takenPort = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => taken.close(resolve));
  dir.remove();
});

const coordinatorEnv = (extra: Record<string, string>): Record<string, string> => ({
  DATA_DIR: dir.file('coordinator'),
  SQLITE_PATH: dir.file('coordinator.sqlite'),
  ...extra,
});

describe('coordinator process', () => {
  it('exits 1 at once with one fatal line naming the port when the port is taken', async () => {
    const exit = await runService(
      'services/coordinator/src/main.ts',
      coordinatorEnv({ HTTP_PORT: String(takenPort) }),
    );
    expect(exit.code).toBe(1);
    const lines = jsonLines(exit.stdout);
    const fatal = lines.filter((l) => l['level'] === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({
      service: 'coordinator',
      port: takenPort,
      code: 'EADDRINUSE',
      msg: `the coordinator API cannot listen on 127.0.0.1:${takenPort}: port ${takenPort} is already in use (set HTTP_HOST, HTTP_PORT)`,
    });
    // the fatal line is the last: nothing ran on after it
    expect(lines.at(-1)).toBe(fatal[0]);
    expect(exit.stderr).toBe('');
  });

  it('exits 2 naming the key and the value of a bad configuration', async () => {
    const exit = await runService(
      'services/coordinator/src/main.ts',
      coordinatorEnv({ HTTP_PORT: 'abc', LOG_LEVEL: 'loud' }),
    );
    expect(exit.code).toBe(2);
    const lines = jsonLines(exit.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'fatal', service: 'coordinator' });
    expect(lines[0]!['msg']).toMatch(
      /^invalid configuration: HTTP_PORT="abc": .*LOG_LEVEL="loud": /,
    );
    expect(lines[0]!['problems']).toHaveLength(2);
  });

  it('writes the fatal line readably with TRAMWAY_LOG_FORMAT=pretty', async () => {
    const pretty = await runService(
      'services/coordinator/src/main.ts',
      coordinatorEnv({ HTTP_PORT: 'abc', TRAMWAY_LOG_FORMAT: 'pretty' }),
    );
    expect(pretty.code).toBe(2);
    expect(pretty.stdout.trim().split('\n')).toHaveLength(1);
    expect(pretty.stdout).toMatch(/FATAL: invalid configuration: HTTP_PORT="abc"/);
  });

  it('refuses an unknown log format, naming it', async () => {
    const unknown = await runService(
      'services/coordinator/src/main.ts',
      coordinatorEnv({ TRAMWAY_LOG_FORMAT: 'xml' }),
    );
    expect(unknown.code).toBe(2);
    expect(jsonLines(unknown.stdout)[0]!['msg']).toMatch(/TRAMWAY_LOG_FORMAT="xml"/);
  });
});

describe('agent process', () => {
  it('exits 2 naming the key and the value of a bad configuration', async () => {
    const exit = await runService('services/agent/src/main.ts', {
      NODE_ID: 'web-1',
      HEARTBEAT_MS: 'often',
      LOG_LEVEL: 'loud',
    });
    expect(exit.code).toBe(2);
    const lines = jsonLines(exit.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'fatal', service: 'agent' });
    expect(lines[0]!['msg']).toMatch(/HEARTBEAT_MS="often": .*LOG_LEVEL="loud": /);
  });

  it('exits 1 at once when NATS is not there', async () => {
    const closedPort = await freePort();
    const exit = await runService('services/agent/src/main.ts', {
      NODE_ID: 'web-1',
      NATS_URL: `nats://127.0.0.1:${closedPort}`,
      TRAMWAY_INSECURE_UNSIGNED_ASSIGNMENTS: 'true',
      STATE_DIR: dir.file('agent'),
    });
    expect(exit.code).toBe(1);
    const fatal = jsonLines(exit.stdout).filter((l) => l['level'] === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!['msg']).toContain(`cannot connect to NATS at nats://127.0.0.1:${closedPort}`);
  });
});
