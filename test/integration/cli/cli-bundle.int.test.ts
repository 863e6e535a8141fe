/**
 * services/cli/bin/tramway.js: which code it runs.
 * - The freshness check, on a CLI folder laid out like services/cli with a stand-in bundle and
 *   stand-in sources (each prints which it is): the bundle runs only while every file in its
 *   manifest has the recorded mtime and size; otherwise the sources run (through tsx), quietly
 *   unless TRAMWAY_DEBUG says why. An installed package (no sources) runs its bundle as is.
 * - `--version` is answered before either is loaded.
 * - The real bundle (build.mjs): it is what runs after a build, and it prints what the sources
 *   print (`kernel run`, `kernel functions --json` on a BTF file, `nodes` against a closed port).
 * - The kept listing of `kernel functions --json` (functions-cache.ts): the host's, served by the
 *   bin before the CLI loads; a `--btf` file's, keyed by content; entries cut short or of another
 *   identity ignored; the cache off, or unwritable.
 * The folders are made under the repository's .tmp/ so that the sources' tsx resolves.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeBtf } from '@tramway/shared/btf';
import { smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'services/cli/bin/tramway.js');
const QUIET_ENV = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => k !== 'TRAMWAY_DEBUG' && k !== 'TRAMWAY_CLI_SOURCE' && k !== 'NODE_OPTIONS',
  ),
);

let tmp: string;
beforeAll(() => {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  tmp = mkdtempSync(join(ROOT, '.tmp', 'cli-bundle-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (bin: string, args: string[], env: Record<string, string> = {}, cwd = ROOT) =>
  spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...QUIET_ENV, ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });

/** A CLI folder: bin/tramway.js (the real one), stand-in bundle and sources, a manifest. */
const makeCli = (name: string, options: { sources: boolean }): string => {
  const cli = join(tmp, name);
  mkdirSync(join(cli, 'bin'), { recursive: true });
  cpSync(BIN, join(cli, 'bin/tramway.js'));
  writeFileSync(join(cli, 'package.json'), '{ "version": "9.8.7", "type": "module" }\n');
  mkdirSync(join(cli, 'bundle/chunks'), { recursive: true });
  const stand = (what: string) =>
    `export const main = async (argv) => { process.stdout.write('${what} ' + argv.join(' ') + '\\n'); return 0; };\n` +
    'export const processIo = () => undefined;\n';
  writeFileSync(join(cli, 'bundle/chunks/main.js'), stand('bundle'));
  writeFileSync(
    join(cli, 'bundle/chunks/closed-pipe.js'),
    'export const exitOnClosedPipe = () => {};\n',
  );
  const inputs = ['src/main.ts', 'src/closed-pipe.ts', 'src/helper.ts'];
  if (options.sources) {
    mkdirSync(join(cli, 'src'), { recursive: true });
    writeFileSync(
      join(cli, 'src/main.ts'),
      stand('source').replace('(argv)', '(argv: readonly string[])'),
    );
    writeFileSync(
      join(cli, 'src/closed-pipe.ts'),
      'export const exitOnClosedPipe = (): void => {};\n',
    );
    writeFileSync(join(cli, 'src/helper.ts'), 'export const x = 1;\n');
  }
  const files = options.sources
    ? inputs.map((f) => {
        const s = statSync(join(cli, f));
        return [f, s.mtimeMs, s.size];
      })
    : inputs.map((f) => [f, 1, 1]);
  writeFileSync(join(cli, 'bundle/manifest.json'), JSON.stringify({ files }));
  return join(cli, 'bin/tramway.js');
};

describe('the bin: bundle or sources', () => {
  it('runs the bundle while every input is as built', () => {
    const bin = makeCli('fresh', { sources: true });
    const r = run(bin, ['nodes', '--json']);
    expect(r.stdout).toBe('bundle nodes --json\n');
    expect(r.stderr).toBe('');
    expect(run(bin, ['x'], { TRAMWAY_DEBUG: '1' }).stderr).toBe('tramway: running the bundle\n');
  });

  it('runs the sources, quietly, once a source file changed since the build', () => {
    const bin = makeCli('edited', { sources: true });
    const file = join(tmp, 'edited/src/helper.ts');
    const later = new Date(statSync(file).mtimeMs + 5_000);
    utimesSync(file, later, later);
    const r = run(bin, ['nodes']);
    expect(r.stdout).toBe('source nodes\n');
    expect(r.stderr).toBe('');
    expect(run(bin, ['nodes'], { TRAMWAY_DEBUG: '1' }).stderr).toContain(
      'running the sources through tsx: src/helper.ts changed since the build',
    );
  });

  it('runs the sources when an input is gone, when asked to, or without a bundle', () => {
    const gone = makeCli('gone', { sources: true });
    rmSync(join(tmp, 'gone/src/helper.ts'));
    expect(run(gone, ['a']).stdout).toBe('source a\n');
    const asked = makeCli('asked', { sources: true });
    expect(run(asked, ['b'], { TRAMWAY_CLI_SOURCE: '1' }).stdout).toBe('source b\n');
    const unbuilt = makeCli('unbuilt', { sources: true });
    rmSync(join(tmp, 'unbuilt/bundle'), { recursive: true });
    const r = run(unbuilt, ['c'], { TRAMWAY_DEBUG: '1' });
    expect(r.stdout).toBe('source c\n');
    expect(r.stderr).toContain('no bundle');
  });

  it('runs an installed package (no sources) from its bundle, and says so when it has none', () => {
    const bin = makeCli('installed', { sources: false });
    expect(run(bin, ['d']).stdout).toBe('bundle d\n');
    rmSync(join(tmp, 'installed/bundle'), { recursive: true });
    const r = run(bin, ['d']);
    expect(r.status).toBe(70);
    expect(r.stderr).toMatch(/cannot start: no bundle .* no sources to run instead/);
  });

  it('answers --version and -V from package.json, loading neither bundle nor sources', () => {
    const bin = makeCli('version', { sources: true });
    rmSync(join(tmp, 'version/bundle/chunks'), { recursive: true });
    rmSync(join(tmp, 'version/src/main.ts'));
    for (const flag of ['--version', '-V']) {
      const r = run(bin, [flag], { TRAMWAY_DEBUG: '1' });
      expect(r.stdout).toBe('9.8.7\n');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });
});

describe('the real bundle', () => {
  let btfFile: string;
  beforeAll(() => {
    // after npm ci the bundle is fresh already; rebuilding it would swap it under other tests' bins
    execFileSync(process.execPath, [join(ROOT, 'services/cli/build.mjs'), '--if-stale'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    btfFile = join(tmp, 'small.btf');
    writeFileSync(btfFile, encodeBtf(smallVmlinux(), { byteOrder: 'little' }));
  }, 120_000);

  it('is what the bin runs after a build', () => {
    const r = run(BIN, ['--help'], { TRAMWAY_DEBUG: '1' });
    expect(r.stderr).toBe('tramway: running the bundle\n');
    expect(r.stdout).toContain('Usage: tramway [options] [command]');
  });

  const same = (args: string[]) => {
    const bundled = run(BIN, args);
    const source = run(BIN, args, { TRAMWAY_CLI_SOURCE: '1' });
    expect({ status: bundled.status, stdout: bundled.stdout, stderr: bundled.stderr }).toEqual({
      status: source.status,
      stdout: source.stdout,
      stderr: source.stderr,
    });
    return bundled;
  };

  it('prints what the sources print', async () => {
    expect(same(['kernel', 'run', 'examples/v24-basics.yaml']).status).toBe(0);
    const functions = same(['kernel', 'functions', '--json', '--btf', btfFile]);
    expect(functions.status).toBe(0);
    expect(JSON.parse(functions.stdout).length).toBeGreaterThan(0);
    // a port where nothing listens: refused, exit 69, the same message
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const p = (server.address() as { port: number }).port;
        server.close(() => resolve(p));
      });
    });
    const nodes = same(['nodes', '--url', `http://127.0.0.1:${port}`]);
    expect(nodes.status).toBe(69);
    expect(nodes.stderr).toContain('ECONNREFUSED');
  }, 120_000);
});

describe('the kept listing of kernel functions --json (functions-cache.ts)', () => {
  const hostBtf = '/sys/kernel/btf/vmlinux';
  let cache: string;
  let btfFile: string;
  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'services/cli/build.mjs'), '--if-stale'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    btfFile = join(tmp, 'kept.btf');
    writeFileSync(btfFile, encodeBtf(smallVmlinux(), { byteOrder: 'little' }));
  }, 120_000);
  beforeEach(() => {
    cache = mkdtempSync(join(tmp, 'cache-'));
  });
  const entries = () => {
    try {
      return readdirSync(join(cache, 'functions')).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
  };
  const listing = (args: string[], env: Record<string, string> = {}) =>
    run(BIN, ['kernel', 'functions', ...args], {
      TRAMWAY_CACHE_DIR: cache,
      TRAMWAY_DEBUG: '1',
      ...env,
    });

  it.runIf(existsSync(hostBtf))(
    "keeps the host's listing, then serves it before the CLI loads, byte for byte",
    () => {
      const first = listing(['--json']);
      expect(first.status).toBe(0);
      expect(first.stderr).not.toContain('the kept listing');
      expect(entries()).toHaveLength(1);
      const second = listing(['-o', 'json']);
      expect(second.stderr).toContain('tramway: kernel functions --json: the kept listing');
      expect(second.status).toBe(0);
      expect(second.stdout).toBe(first.stdout);
      const fresh = listing(['--json', '--no-cache']);
      expect(fresh.stderr).not.toContain('the kept listing');
      expect(fresh.stdout).toBe(first.stdout);
      // the sources (no build id) never read or write it
      const source = listing(['--json'], { TRAMWAY_CLI_SOURCE: '1' });
      expect(source.stdout).toBe(first.stdout);
      expect(entries()).toHaveLength(1);
      // the entry names the kernel by boot id and the file's identity, not by its bytes
      const head = readFileSync(join(cache, 'functions', entries()[0]!), 'latin1').split('\n')[0];
      expect(head).toMatch(/; mode host; sysfs boot=[0-9a-f-]+ vmlinux:\d+:\d+:\d+$/);
    },
  );

  it('keys a --btf file by its content: another blob is another listing', () => {
    const a = listing(['--json', '--btf', btfFile]);
    expect(a.status).toBe(0);
    expect(entries()).toHaveLength(1);
    expect(listing(['--json', '--btf', btfFile]).stdout).toBe(a.stdout);
    // same path, same size class, other bytes: one function renamed
    const fewer = smallVmlinux();
    const other = {
      ...fewer,
      types: fewer.types.map((t) =>
        t.kind === 'func' && t.name === 'tcp_v4_rcv' ? { ...t, name: 'tcp_v4_rcX' } : t,
      ),
    };
    writeFileSync(btfFile, encodeBtf(other, { byteOrder: 'little' }));
    const b = listing(['--json', '--btf', btfFile]);
    expect(b.stdout).not.toBe(a.stdout);
    expect(b.stdout).toContain('"tcp_v4_rcX"');
    expect(b.stdout).toBe(listing(['--json', '--btf', btfFile, '--no-cache']).stdout);
    expect(entries()).toHaveLength(2);
    writeFileSync(btfFile, encodeBtf(smallVmlinux(), { byteOrder: 'little' }));
  });

  it('ignores an entry that is cut short or names another identity, and makes it anew', () => {
    const good = listing(['--json', '--btf', btfFile]).stdout;
    const [name] = entries();
    const path = join(cache, 'functions', name!);
    const whole = readFileSync(path);
    writeFileSync(path, whole.subarray(0, whole.length - 10));
    expect(listing(['--json', '--btf', btfFile]).stdout).toBe(good);
    expect(readFileSync(path)).toEqual(whole);
    // the same short name and length, another identity line: not this listing
    const lines = whole.toString('latin1').split('\n');
    writeFileSync(
      path,
      [lines[0]!.replace('mode file', 'mode fil_'), ...lines.slice(1)].join('\n'),
    );
    expect(listing(['--json', '--btf', btfFile]).stdout).toBe(good);
    expect(readFileSync(path)).toEqual(whole);
  });

  it('is off with TRAMWAY_NO_CACHE=1, and a cache that cannot be written costs nothing else', () => {
    const good = listing(['--json', '--btf', btfFile, '--no-cache']).stdout;
    expect(entries()).toHaveLength(0);
    expect(listing(['--json', '--btf', btfFile], { TRAMWAY_NO_CACHE: '1' }).stdout).toBe(good);
    expect(entries()).toHaveLength(0);
    // a file where the folder should be
    writeFileSync(join(cache, 'functions'), 'not a folder');
    const r = listing(['--json', '--btf', btfFile]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(good);
    expect(r.stderr).toContain('listing not kept');
  });
});
