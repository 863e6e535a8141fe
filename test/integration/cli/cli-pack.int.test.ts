/**
 * The CLI as an npm package (`npm run pack:cli`): the tarball installs into an empty folder
 * outside the repository, and the installed `tramway` runs from its bundle alone (the private
 * workspace packages are inside it): `--version`, `kernel functions --json` on this host's BTF,
 * and the embedded `demo --until-converged`, which needs its real dependency better-sqlite3.
 *
 * better-sqlite3 is a native addon: installed from the registry it is downloaded prebuilt or
 * compiled (minutes on a loaded 2-core machine). The test installs it from a local tarball made
 * from the repository's copy, already built for this Node, with its install script (prebuild or
 * compile) removed: the package under test is the CLI's, not better-sqlite3's installer. The
 * other few packages come from npm's cache (`--prefer-offline`), filled by `npm ci`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VMLINUX = '/sys/kernel/btf/vmlinux';

let dir: TempDir;
let app: string;
let tramway: string;

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/** better-sqlite3 as the repository installed it (binary included), repacked without installer. */
const packBetterSqlite = (): string => {
  const stage = dir.file('better-sqlite3');
  const from = join(ROOT, 'node_modules/better-sqlite3');
  const BINARY = 'build/Release/better_sqlite3.node';
  for (const part of ['package.json', 'LICENSE', 'lib', BINARY])
    cpSync(join(from, part), join(stage, part), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')) as {
    files?: string[];
    scripts?: Record<string, string>;
    dependencies?: Record<string, string>;
  };
  manifest.files = ['lib/**', BINARY];
  delete manifest.scripts?.install;
  delete manifest.dependencies?.['prebuild-install'];
  writeFileSync(join(stage, 'package.json'), JSON.stringify(manifest, null, 2));
  return join(dir.path, npm(['pack', '--silent', '--pack-destination', dir.path], stage).trim());
};

beforeAll(() => {
  dir = makeTempDir('tramway-cli-pack-');
  const out = execFileSync(
    process.execPath,
    [join(ROOT, 'services/cli/pack.mjs'), '--out', dir.path],
    {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const cliTarball = out.trim().split('\n').pop()!;
  expect(cliTarball).toMatch(/tramway-cli-\d+\.\d+\.\d+\.tgz$/);
  const sqliteTarball = packBetterSqlite();
  app = dir.file('app');
  cpSync(join(ROOT, 'LICENSE'), join(app, 'LICENSE')); // makes the folder
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', cliTarball, sqliteTarball], app);
  tramway = join(app, 'node_modules/.bin/tramway');
}, 180_000);

afterAll(() => dir?.remove());

const run = (args: string[], cwd = app) =>
  spawnSync(tramway, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, TRAMWAY_DEBUG: '1' },
    timeout: 120_000,
  });

describe('the packed CLI, installed outside the repository', () => {
  it('holds the bundle and no sources, and depends on better-sqlite3 only', () => {
    const installed = join(app, 'node_modules/@tramway/cli');
    expect(existsSync(join(installed, 'bundle/manifest.json'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies)).toEqual(['better-sqlite3']);
    // no workspace package was installed beside it: they are inside the bundle
    expect(readdirSync(join(app, 'node_modules/@tramway'))).toEqual(['cli']);
  });

  it('prints its version', () => {
    const r = run(['--version']);
    const version = (
      JSON.parse(readFileSync(join(ROOT, 'services/cli/package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    expect(r.stdout).toBe(`${version}\n`);
    expect(r.status).toBe(0);
  });

  const noBtf = existsSync(VMLINUX) ? undefined : `${VMLINUX} does not exist on this host`;
  if (noBtf) process.stdout.write(`skipping kernel functions: ${noBtf}\n`);
  it.skipIf(noBtf !== undefined)("lists this host's kernel functions as JSON", () => {
    const r = run(['kernel', 'functions', '--json']);
    expect(r.stderr).toContain('running the bundle');
    expect(r.status).toBe(0);
    const functions = JSON.parse(r.stdout) as { name: string; object: string }[];
    expect(functions.length).toBeGreaterThan(1000);
    expect(functions[0]!.object).toBe('vmlinux');
  });

  it('runs the embedded demo (SQLite through better-sqlite3) until the fleet converges', () => {
    const work = dir.file('demo');
    cpSync(join(ROOT, 'LICENSE'), join(work, 'LICENSE'));
    const r = run(
      ['demo', '--until-converged', '--port', '0', '--data-dir', join(work, 'data')],
      work,
    );
    expect(r.stderr).toContain('running the bundle');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/tcp-latency v1 completed/);
    expect(existsSync(join(work, 'data'))).toBe(true);
  });
});
