#!/usr/bin/env node
// The `tramway` command. It runs the built bundle (services/cli/bundle/, made by build.mjs at
// `npm ci` / `npm run build:cli`) when that bundle is present and fresh: every file it was built
// from still has the mtime and size recorded in bundle/manifest.json (a few stat() calls, no
// hashing). Otherwise, and always with TRAMWAY_CLI_SOURCE=1, it runs the TypeScript sources
// through tsx (resolving @tramway/shared to its sources, the `@tramway/source` export condition),
// so that someone editing the sources never runs stale code. An installed package (npm pack) has
// the bundle and no sources: the bundle is used as is. TRAMWAY_DEBUG=1 says which path ran, and
// why.
import { readFileSync, statSync } from 'node:fs';

const argv = process.argv.slice(2);
const debug = process.env.TRAMWAY_DEBUG !== undefined && process.env.TRAMWAY_DEBUG !== '';
const here = new URL('..', import.meta.url);

// `--version` first, before anything else is loaded: it is what scripts call to probe the CLI
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { version } = JSON.parse(readFileSync(new URL('package.json', here), 'utf8'));
  process.stdout.write(`${version}\n`);
  process.exit(0);
}

function exists(url) {
  try {
    statSync(url);
    return true;
  } catch {
    return false;
  }
}

// no sources beside the bin: an installed package (npm pack), where the bundle is all there is
const hasSources = exists(new URL('src/main.ts', here));

/** bundle/manifest.json, once read */
let manifest;
/** Why the bundle cannot be used, or undefined when it can. */
const bundleProblem = () => {
  if (process.env.TRAMWAY_CLI_SOURCE === '1') return 'TRAMWAY_CLI_SOURCE=1';
  try {
    manifest = JSON.parse(readFileSync(new URL('bundle/manifest.json', here), 'utf8'));
  } catch {
    return 'no bundle (npm run build:cli makes it)';
  }
  if (!hasSources) return undefined;
  for (const [file, mtimeMs, size] of manifest.files) {
    let s;
    try {
      s = statSync(new URL(file, here));
    } catch {
      return `${file} is gone since the build`;
    }
    if (s.mtimeMs !== mtimeMs || s.size !== size) return `${file} changed since the build`;
  }
  return undefined;
};

const problem = bundleProblem();
if (problem !== undefined && !hasSources) {
  process.stderr.write(
    `tramway: cannot start: ${problem}, and no sources to run instead; reinstall the package\n`,
  );
  process.exit(70);
}
if (debug)
  process.stderr.write(
    problem === undefined
      ? 'tramway: running the bundle\n'
      : `tramway: running the sources through tsx: ${problem}\n`,
  );

/**
 * `tramway kernel functions --json` (or `-o json`) and nothing else, on the host: the listing
 * kept for these BTF bytes by this build (services/cli/src/functions-cache.ts) is written
 * before the CLI proper is loaded; on a miss the command runs as usual (and keeps its output).
 */
const hostFunctionsJson = () =>
  argv.length >= 3 &&
  argv[0] === 'kernel' &&
  argv[1] === 'functions' &&
  ((argv.length === 3 &&
    (argv[2] === '--json' || argv[2] === '-ojson' || argv[2] === '--output=json')) ||
    (argv.length === 4 && (argv[2] === '-o' || argv[2] === '--output') && argv[3] === 'json'));
if (problem === undefined && typeof manifest.buildId === 'string' && hostFunctionsJson()) {
  const { serveKeptHostFunctions } = await import('../bundle/standalone/functions-cache.js');
  if (
    serveKeptHostFunctions(manifest.buildId, process.env, (bytes) => process.stdout.write(bytes))
  ) {
    if (debug) process.stderr.write('tramway: kernel functions --json: the kept listing\n');
    // a pipe may still hold chunks: exit once the last is written (callbacks run in order)
    process.stdout.write('', () => process.exit(0));
    await new Promise(() => {});
  }
}

let main;
let exitOnClosedPipe;
let processIo;
if (problem === undefined) {
  ({ exitOnClosedPipe } = await import('../bundle/chunks/closed-pipe.js'));
  ({ main, processIo } = await import('../bundle/chunks/main.js'));
} else {
  const { register } = await import('node:module');
  const { register: registerTsx } = await import('tsx/esm/api');
  const addSourceCondition = `export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes('@tramway/source')
    ? context.conditions
    : [...context.conditions, '@tramway/source'];
  return next(specifier, { ...context, conditions });
}`;
  register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);
  registerTsx();
  ({ exitOnClosedPipe } = await import('../src/closed-pipe.ts'));
  ({ main, processIo } = await import('../src/main.ts'));
}
// `tramway ... | head`: the reader going away ends the process quietly, not with a stack trace
exitOnClosedPipe(
  [process.stdout, process.stderr],
  (status) => process.exit(status),
  (line) => {
    try {
      process.stderr.write(line);
    } catch {
      // stderr is gone too: nothing left to tell
    }
  },
);
process.exitCode = await main(
  argv,
  processIo(
    problem === undefined && typeof manifest.buildId === 'string' ? manifest.buildId : undefined,
  ),
);
