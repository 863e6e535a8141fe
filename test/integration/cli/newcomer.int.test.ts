/**
 * The newcomer's path, as processes (issue 10, "Must show"): `tramway demo` (what `npm start`
 * runs) in a fresh directory, then `tramway nodes` and `tramway apply -f …` from another process
 * in that directory with no token given: the CLI finds the admin token the first start wrote to
 * ./.tramway/admin.token (mode 0600). Real processes, real HTTP, real SQLite; nothing scripted.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/nats-server.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'services/cli/bin/tramway.js');

let dir: TempDir;
let demo: ChildProcess;
let output = '';
let url: string;

/** The process environment without any credential or URL of the caller's own. */
const cleanEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, TRAMWAY_TTY: '0' };
  for (const k of ['TRAMWAY_TOKEN', 'TRAMWAY_URL', 'TRAMWAY_CA_FILE', 'TRAMWAY_ON_BEHALF_OF'])
    delete env[k];
  return env;
};

const tramway = (...argv: string[]) =>
  spawnSync(process.execPath, [BIN, ...argv, '--url', url], {
    cwd: dir.path,
    env: cleanEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });

beforeAll(async () => {
  dir = makeTempDir('tramway-newcomer-');
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  demo = spawn(
    process.execPath,
    [BIN, 'demo', '--port', String(port), '--fleet', join(ROOT, 'examples/fleet/fleet.yaml')],
    { cwd: dir.path, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  demo.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  demo.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitUntil(
    'demo serving',
    () => {
      if (demo.exitCode !== null) throw new Error(`demo exited: ${output}`);
      return output.includes('serving the API at');
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}, 90_000);

afterAll(async () => {
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    demo.kill('SIGINT');
    await exited;
  }
  dir?.remove();
});

describe('npm start, then the CLI in another shell, with no token given', () => {
  it('writes ./.tramway/admin.token (0600) on first start', () => {
    expect(statSync(join(dir.path, '.tramway', 'admin.token')).mode & 0o777).toBe(0o600);
  });

  it('lists the nodes and applies the example policy', () => {
    const nodes = tramway('nodes');
    expect(nodes.stderr).toBe('');
    expect(nodes.status).toBe(0);
    expect(nodes.stdout).toMatch(/^web-1\s/m);
    const applied = tramway('apply', '-f', join(ROOT, 'examples/policies/tcp-latency.yaml'));
    expect(applied.stderr).toBe('');
    expect(applied.status).toBe(0);
    expect(applied.stdout).toMatch(/tcp-latency v1/);
  });

  it('is refused elsewhere, where there is no token file', () => {
    const other = makeTempDir('tramway-newcomer-elsewhere-');
    try {
      const elsewhere = spawnSync(process.execPath, [BIN, 'nodes', '--url', url], {
        cwd: other.path,
        env: cleanEnv(),
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(elsewhere.status).toBe(1);
      expect(elsewhere.stderr).toContain('no credential');
    } finally {
      other.remove();
    }
  });
});
