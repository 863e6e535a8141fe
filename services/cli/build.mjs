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
//   node services/cli/build.mjs --prepare  the root `prepare` script: skips, saying why, where a
//                                          build cannot happen (an `npm ci --omit=dev` without
//                                          esbuild, or a Docker layer with manifests only)
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
const ENTRIES = ['src/main.ts', 'src/closed-pipe.ts'];
/**
 * Not bundled. better-sqlite3 is a native addon found through `bindings` at run time. The NATS
 * client and everything else is bundled: measured, bundling changes no start-up figure (the
 * command chunks that need them load them), and a bundle with one external installs anywhere.
 */
export const EXTERNAL = ['better-sqlite3'];

/**
 * Files the code reads beside itself (`new URL('../x', import.meta.url)`): the SQL migrations,
 * the agent's default sim kernel, the example fleet (whose files refer to each other). They are
 * copied to bundle/assets/ under their repository path, and each such URL in the sources is
 * rewritten to point there: every output file is in bundle/chunks/, one level below.
 */
const ASSETS = ['migrations', 'examples', 'services/agent/sim-kernels'];
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
writeFileSync(
  join(BUILD_DIR, 'manifest.json'),
  `${JSON.stringify({ version: cliPackage.version, external: EXTERNAL, files })}\n`,
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
