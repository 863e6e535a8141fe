#!/usr/bin/env node
// Builds the CLI into services/cli/bundle/: ESM, code-split so that each command's module (and
// what only it needs) is its own chunk, loaded by the dynamic import() of the command table.
// @tramway/shared and @tramway/embedded are bundled from their TypeScript sources (the
// `@tramway/source` export condition), so the bundle needs no `tsc -b` and no private package at
// run time; better-sqlite3 (a native addon) stays external and is a real dependency.
//
// bundle/manifest.json lists every repository file the bundle was built from with its mtime and
// size, so that bin/tramway.js can tell, with a few stat() calls and no hashing, whether the
// bundle is still what the sources say; when it is not, the bin runs the sources through tsx.
//
//   node services/cli/build.mjs            build (npm run build:cli)
//   node services/cli/build.mjs --if-stale only when an input changed since the last build
//   node services/cli/build.mjs --prepare  the root `prepare` script: skips, saying why, where a
//                                          build cannot happen (an `npm ci --omit=dev` without
//                                          esbuild, or a Docker layer with manifests only)
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(CLI_DIR, '../..');
const OUT_DIR = join(CLI_DIR, 'bundle');
/** main.ts is the CLI; the others are what bin/tramway.js loads before it (or instead of it) */
const ENTRIES = ['src/main.ts', 'src/closed-pipe.ts'];
/**
 * Built once more on their own, each one file with no shared chunk and no banner: what the bin
 * loads before the CLI proper, where every extra module costs start-up time.
 */
const STANDALONE = ['src/functions-cache.ts'];
/**
 * Not bundled. better-sqlite3 is a native addon found through `bindings` at run time. The NATS
 * client and everything else is bundled: measured, bundling changes no start-up figure (the
 * command chunks that need them load them), and a bundle with one external installs anywhere.
 */
export const EXTERNAL = ['better-sqlite3'];
/**
 * Loaded at run time by `createRequire(import.meta.url)` (shared/src/infra/logger.ts), which a
 * bundler does not follow: found in node_modules beside the bundle, so dependencies of the
 * packed CLI like the externals.
 */
const REQUIRED_AT_RUN_TIME = ['pino', 'pino-pretty'];

/**
 * Files the code reads beside itself (`new URL('../x', import.meta.url)`): the SQL migrations,
 * the agent's default sim kernel, the example fleet (whose files refer to each other). They are
 * copied to bundle/assets/ under their repository path, and each such URL in the sources is
 * rewritten to point there: every output file is in bundle/chunks/, one level below.
 */
// the console (services/console/dist, built by `npm run build:console` before this) is copied when
// built; a bundle made without it serves /ui as a 503 that says how to build it
const ASSETS = ['migrations', 'examples', 'services/agent/sim-kernels', 'services/console/dist'];
const OPTIONAL_ASSETS = new Set(['services/console/dist']);
const ASSET_URL = /new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;

const assetsPlugin = {
  name: 'tramway-assets',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.split(sep).includes('node_modules')) return undefined;
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const errors = [];
      const contents = source.replace(ASSET_URL, (whole, quote, rel) => {
        const target = relative(ROOT, resolve(dirname(args.path), rel))
          .split(sep)
          .join('/');
        if (!ASSETS.some((a) => target === a || target.startsWith(`${a}/`))) {
          errors.push({ text: `${rel} (${target}) is not under an ASSETS folder of build.mjs` });
          return whole;
        }
        return `new URL(${quote}../assets/${target}${quote}, import.meta.url)`;
      });
      return { contents, loader: 'ts', errors };
    });
  },
};

const prepare = process.argv.includes('--prepare');

/** The bin's own test (bin/tramway.js): every input still has its recorded mtime and size. */
const isFresh = () => {
  try {
    const { files } = JSON.parse(readFileSync(join(OUT_DIR, 'manifest.json'), 'utf8'));
    return files.every(([file, mtimeMs, size]) => {
      const s = statSync(resolve(CLI_DIR, file));
      return s.mtimeMs === mtimeMs && s.size === size;
    });
  } catch {
    return false;
  }
};
// --if-stale (pack.mjs, tests): leave a fresh bundle alone, so that bins running it meanwhile are
// not disturbed by the swap
if (process.argv.includes('--if-stale') && isFresh()) process.exit(0);

const skip = (reason) => {
  process.stderr.write(`tramway CLI build skipped: ${reason}\n`);
  process.exit(0);
};

if (prepare && !ENTRIES.every((e) => existsSync(join(CLI_DIR, e))))
  skip('sources not present (manifests-only install)');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  if (prepare) skip('esbuild is not installed (production install); bin/tramway.js runs tsx');
  throw new Error('esbuild is not installed: run npm ci');
}

const cliPackage = JSON.parse(readFileSync(join(CLI_DIR, 'package.json'), 'utf8'));

// built beside, then swapped in: a bin starting meanwhile sees the old bundle or none (and runs
// the sources), never a half-written one; two builds at once do not mix their files
const BUILD_DIR = join(CLI_DIR, `.bundle-${process.pid}`);
rmSync(BUILD_DIR, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: ENTRIES.map((e) => join(CLI_DIR, e)),
  outdir: BUILD_DIR,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  conditions: ['@tramway/source'],
  external: EXTERNAL,
  // bundled CommonJS (yaml's, nats's deps) may call require() for node built-ins
  banner: {
    js: "import { createRequire as __tramwayCreateRequire } from 'node:module'; const require = __tramwayCreateRequire(import.meta.url);",
  },
  chunkNames: 'chunks/[name]-[hash]',
  entryNames: 'chunks/[name]',
  plugins: [assetsPlugin],
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'linked',
  minifySyntax: process.env.TRAMWAY_BUILD_MINIFY !== '0',
  minifyWhitespace: process.env.TRAMWAY_BUILD_MINIFY !== '0',
  keepNames: true,
  metafile: true,
  logLevel: 'warning',
});

const standalone = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: STANDALONE.map((e) => join(CLI_DIR, e)),
  outdir: join(BUILD_DIR, 'standalone'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  conditions: ['@tramway/source'],
  minifySyntax: process.env.TRAMWAY_BUILD_MINIFY !== '0',
  minifyWhitespace: process.env.TRAMWAY_BUILD_MINIFY !== '0',
  metafile: true,
  logLevel: 'warning',
});
for (const [out, meta] of Object.entries(standalone.metafile.outputs)) {
  result.metafile.outputs[out] = meta;
  Object.assign(result.metafile.inputs, standalone.metafile.inputs);
}

/**
 * The repository files the bundle was built from: the sources, and for each bundled package its
 * package.json (an upgrade changes it; a file inside node_modules is not edited by hand).
 */
const inputs = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const abs = resolve(ROOT, input);
  const parts = abs.split(sep);
  const nm = parts.lastIndexOf('node_modules');
  if (nm < 0) {
    inputs.add(abs);
    continue;
  }
  const depth = parts[nm + 1]?.startsWith('@') ? 3 : 2;
  inputs.add(parts.slice(0, nm + depth).join(sep) + sep + 'package.json');
}
for (const asset of ASSETS) {
  const from = join(ROOT, asset);
  if (OPTIONAL_ASSETS.has(asset) && !existsSync(from)) continue;
  cpSync(from, join(BUILD_DIR, 'assets', asset), { recursive: true });
  for (const f of readdirSync(from, { recursive: true })) {
    const abs = join(from, String(f));
    if (statSync(abs).isFile()) inputs.add(abs);
  }
}
inputs.add(join(CLI_DIR, 'package.json'));
inputs.add(fileURLToPath(import.meta.url));
const files = [...inputs]
  .filter((f) => existsSync(f))
  .sort()
  .map((f) => {
    const s = statSync(f);
    return [relative(CLI_DIR, f), s.mtimeMs, s.size];
  });
mkdirSync(BUILD_DIR, { recursive: true });
// the code's identity: a hash of every built chunk, which what the CLI caches (the listing of
// `kernel functions --json`) is keyed on, so that no other build's output is ever reused
const buildHash = createHash('sha256');
for (const out of Object.keys(result.metafile.outputs)
  .filter((o) => o.endsWith('.js'))
  .sort()) {
  buildHash.update(`${relative(BUILD_DIR, resolve(ROOT, out))}\0`);
  buildHash.update(readFileSync(resolve(ROOT, out)));
}
const buildId = buildHash.digest('hex').slice(0, 32);
writeFileSync(
  join(BUILD_DIR, 'manifest.json'),
  `${JSON.stringify({ version: cliPackage.version, buildId, external: [...EXTERNAL, ...REQUIRED_AT_RUN_TIME], files })}\n`,
);
for (let attempt = 0; ; attempt++) {
  rmSync(OUT_DIR, { recursive: true, force: true });
  try {
    renameSync(BUILD_DIR, OUT_DIR);
    break;
  } catch (error) {
    // another build renamed its output in between: replace it (same sources, same bundle)
    if (attempt >= 5) throw error;
  }
}
if (!prepare || process.env.TRAMWAY_DEBUG)
  process.stderr.write(
    `tramway CLI built: ${relative(ROOT, OUT_DIR)}/ (${Object.keys(result.metafile.outputs).length} files, ${files.length} inputs tracked)\n`,
  );
