#!/usr/bin/env node
// `npm run pack:cli [-- --out DIR]`: the CLI as an npm tarball that installs anywhere, without
// this repository: `npm install ./tramway-cli-<version>.tgz && npx tramway --version`.
//
// The workspace packages it uses (@tramway/shared, @tramway/embedded, and through it the agent
// and the coordinator) are private and unpublished, so they are not dependencies of the tarball:
// the bundle (build.mjs) already contains them. The tarball's package.json is written here, in a
// staging folder, with the bundle's externals as its only dependencies (better-sqlite3, a native
// addon that npm installs, prebuilt or compiled, for the target machine), in the version range
// the repository uses. Prints the tarball's path.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(CLI_DIR, '../..');
const argv = process.argv.slice(2);
const outAt = argv.indexOf('--out');
if (outAt >= 0 && argv[outAt + 1] === undefined) throw new Error('--out needs a directory');
const OUT = resolve(outAt >= 0 ? argv[outAt + 1] : process.cwd());

execFileSync(process.execPath, [join(CLI_DIR, 'build.mjs')], { stdio: 'inherit' });

const json = (file) => JSON.parse(readFileSync(file, 'utf8'));
const root = json(join(ROOT, 'package.json'));
const cli = json(join(CLI_DIR, 'package.json'));
const manifest = json(join(CLI_DIR, 'bundle', 'manifest.json'));
const dependencies = Object.fromEntries(
  manifest.external.map((name) => {
    const range = root.dependencies?.[name];
    if (range === undefined)
      throw new Error(`external ${name} is not a dependency of the root package.json`);
    return [name, range];
  }),
);

const stage = mkdtempSync(join(tmpdir(), 'tramway-cli-pack-'));
try {
  cpSync(join(CLI_DIR, 'bin'), join(stage, 'bin'), { recursive: true });
  cpSync(join(CLI_DIR, 'bundle'), join(stage, 'bundle'), { recursive: true });
  cpSync(join(ROOT, 'LICENSE'), join(stage, 'LICENSE'));
  writeFileSync(
    join(stage, 'package.json'),
    `${JSON.stringify(
      {
        name: cli.name,
        version: cli.version,
        description: 'Tramway CLI: kernel BTF tools, the fleet client and the embedded demo',
        license: cli.license,
        type: 'module',
        engines: root.engines,
        bin: cli.bin,
        files: ['bin', 'bundle'],
        dependencies,
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(
    join(stage, 'README.md'),
    '# @tramway/cli\n\nThe `tramway` command, built from the Tramway repository (`npm run pack:cli`).\n' +
      'Run `tramway --help`.\n',
  );
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', OUT], {
    cwd: stage,
    encoding: 'utf8',
  });
  const name = out.trim().split('\n').pop();
  process.stdout.write(`${join(OUT, name)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
