/**
 * `npm run bench:cli [-- --json] [-- --runs N] [-- --warmup N] [-- --btf FILE] [-- --no-build]`
 *
 * Cold starts of the `tramway` command as a user runs it (`node services/cli/bin/tramway.js`,
 * what `npx tramway` execs), each a fresh process timed from spawn to exit, against baselines
 * measured in the same run:
 * - `node -e 0`: the floor, node's own start-up (`nodeMs`);
 * - `tramway --version` (`versionMs`), `tramway --help`, `tramway nodes --url http://127.0.0.1:9`
 *   (nothing listens there: the command starts, connects, is refused and exits 69);
 * - `tramway kernel functions --json` (the host's BTF: vmlinux, and modules if /sys/kernel/btf
 *   has any; with `--btf FILE`, that file), the whole process, against `bpftool btf dump file
 *   FILE format raw` (FILE default /sys/kernel/btf/vmlinux), also a whole process
 *   (`btfListRatio` = ours / bpftool; target <= 1). Both write to /dev/null. The CLI keeps the
 *   listing of given BTF bytes (services/cli/src/functions-cache.ts; this run uses a cache
 *   folder of its own, filled by one run before the timed ones), so `btfListRatio` is what a
 *   user pays from the second listing of a kernel on; `btfListColdRatio` is the same command
 *   with `--no-cache`, what the first listing pays (the BTF decoded and the JSON made anew).
 * Every case runs N times (default 9) after W warm-up runs (default 2), round-robin so that the
 * machine's other load falls on all of them alike; the median is reported with its ratio to
 * `node -e 0`. Targets: `--version` and `nodes` < 150 ms, btfListRatio <= 1.
 *
 * The bundle (services/cli/bundle/) is rebuilt first (`--no-build`: use it as it is); the bench
 * checks that the bin runs it (TRAMWAY_DEBUG) and refuses to measure the tsx fallback.
 * Without bpftool, btfListRatio is null and `bpftool` says why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const count = (name: string, fallback: number, min: number): number => {
  const raw = arg(name, String(fallback));
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > 1000)
    throw new Error(`${name} must be an integer from ${min} to 1000, not '${raw}'`);
  return n;
};
const RUNS = count('--runs', 9, 1);
const WARMUP = count('--warmup', 2, 0);
const BTF_GIVEN = argv.includes('--btf');
const BTF = arg('--btf', '/sys/kernel/btf/vmlinux');
const TARGET_MS = 150;
const BIN = fileURLToPath(new URL('../services/cli/bin/tramway.js', import.meta.url));
const BUILD = fileURLToPath(new URL('../services/cli/build.mjs', import.meta.url));
// the children run without the bench's tsx loader or debug settings
const CHILD_ENV = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => k !== 'NODE_OPTIONS' && k !== 'TRAMWAY_DEBUG' && k !== 'TRAMWAY_CLI_SOURCE',
  ),
);

interface Case {
  readonly key: string;
  readonly label: string;
  readonly cmd: string;
  readonly args: readonly string[];
  /** the exit status expected: a number, or 'non-zero' */
  readonly status: number | 'non-zero';
  /** added to the children's environment */
  readonly env?: Readonly<Record<string, string>>;
}

const tramway = (...args: string[]): Pick<Case, 'cmd' | 'args'> => ({
  cmd: process.execPath,
  args: [BIN, ...args],
});

const runOnce = (c: Case): number => {
  const t0 = performance.now();
  const r = spawnSync(c.cmd, c.args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: c.env ? { ...CHILD_ENV, ...c.env } : CHILD_ENV,
    maxBuffer: 16 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  if (r.error) throw new Error(`${c.label}: ${r.error.message}`);
  const ok = c.status === 'non-zero' ? r.status !== 0 && r.status !== null : r.status === c.status;
  if (!ok)
    throw new Error(
      `${c.label}: exit ${r.status ?? r.signal}, expected ${c.status}: ${r.stderr.toString().slice(0, 400)}`,
    );
  return ms;
};

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const bpftoolProblem = (): string | undefined => {
  const r = spawnSync('bpftool', ['version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0)
    return 'bpftool is not installed (apt-get install -y bpftool); no baseline for the BTF listing';
  if (!existsSync(BTF)) return `${BTF} does not exist (a kernel without BTF?); pass --btf FILE`;
  return undefined;
};

/** the listing cache of this run (removed at exit): nothing kept by another run is measured */
const cacheDir = mkdtempSync(join(tmpdir(), 'tramway-bench-cli-'));
process.on('exit', () => rmSync(cacheDir, { recursive: true, force: true }));

const main = (): void => {
  if (!argv.includes('--no-build')) {
    const b = spawnSync(process.execPath, [BUILD], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (b.status !== 0) throw new Error(`build failed: ${b.stderr.toString()}`);
  }
  const which = spawnSync(process.execPath, [BIN, '--help'], {
    env: { ...CHILD_ENV, TRAMWAY_DEBUG: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const path = which.stderr.toString();
  if (!path.includes('running the bundle'))
    throw new Error(`the bin does not run the bundle (${path.trim()}); npm run build:cli`);

  const noBpftool = bpftoolProblem();
  const btfReadable = existsSync(BTF);
  const cases: Case[] = [
    { key: 'node', label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], status: 0 },
    { key: 'version', label: 'tramway --version', ...tramway('--version'), status: 0 },
    { key: 'help', label: 'tramway --help', ...tramway('--help'), status: 0 },
    {
      key: 'nodes',
      label: 'tramway nodes --url http://127.0.0.1:9',
      ...tramway('nodes', '--url', 'http://127.0.0.1:9'),
      status: 'non-zero',
    },
    ...(btfReadable
      ? [
          {
            key: 'btfList',
            label: 'tramway kernel functions --json',
            ...tramway('kernel', 'functions', '--json', ...(BTF_GIVEN ? ['--btf', BTF] : [])),
            status: 0,
            env: { TRAMWAY_CACHE_DIR: cacheDir },
          } as const,
          {
            key: 'btfListCold',
            label: 'tramway kernel functions --json --no-cache',
            ...tramway(
              'kernel',
              'functions',
              '--json',
              '--no-cache',
              ...(BTF_GIVEN ? ['--btf', BTF] : []),
            ),
            status: 0,
          } as const,
        ]
      : []),
    ...(noBpftool === undefined
      ? [
          {
            key: 'bpftool',
            label: 'bpftool btf dump format raw',
            cmd: 'bpftool',
            args: ['btf', 'dump', 'file', BTF, 'format', 'raw'],
            status: 0,
          } as const,
        ]
      : []),
  ];
  // the listing is kept by its first run (functions-cache.ts), in a folder of this run's own
  const listing = cases.find((c) => c.key === 'btfList');
  if (listing) runOnce(listing);
  const times = new Map<string, number[]>(cases.map((c) => [c.key, []]));
  for (let i = 0; i < WARMUP; i++) for (const c of cases) runOnce(c);
  for (let i = 0; i < RUNS; i++) for (const c of cases) times.get(c.key)!.push(runOnce(c));
  const ms = (key: string): number | null => {
    const t = times.get(key);
    return t === undefined ? null : median(t);
  };
  const nodeMs = ms('node')!;
  const btfListMs = ms('btfList');
  const bpftoolMs = ms('bpftool');
  const btfListRatio = btfListMs !== null && bpftoolMs !== null ? btfListMs / bpftoolMs : null;
  const btfListColdMs = ms('btfListCold');
  const btfListColdRatio =
    btfListColdMs !== null && bpftoolMs !== null ? btfListColdMs / bpftoolMs : null;
  const result = {
    runs: RUNS,
    warmup: WARMUP,
    loadavg1: Number(loadavg()[0]!.toFixed(2)),
    node: process.version,
    nodeMs,
    versionMs: ms('version'),
    helpMs: ms('help'),
    nodesCommandMs: ms('nodes'),
    btfListMs,
    bpftoolMs,
    btfListRatio,
    btfListColdMs,
    btfListColdRatio,
    btf: BTF,
    bpftool: noBpftool ?? 'measured',
    ...(btfReadable ? {} : { btfList: `${BTF} does not exist` }),
    targets: { startMs: TARGET_MS, btfListRatio: 1 },
    rows: cases.map((c) => ({
      name: c.label,
      medianMs: ms(c.key),
      minMs: Math.min(...times.get(c.key)!),
      maxMs: Math.max(...times.get(c.key)!),
      overNode: ms(c.key)! / nodeMs,
    })),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const fmt = (x: number): string => x.toFixed(1);
  const lines = [
    `cold starts, median of ${RUNS} (after ${WARMUP} warm-up), load average ${result.loadavg1}, node ${process.version}`,
    `${'command'.padEnd(40)}${'median ms'.padStart(10)}${'min'.padStart(8)}${'max'.padStart(8)}${'/ node'.padStart(8)}`,
    ...result.rows.map(
      (r) =>
        `${r.name.padEnd(40)}${fmt(r.medianMs!).padStart(10)}${fmt(r.minMs).padStart(8)}${fmt(r.maxMs).padStart(8)}${r.overNode.toFixed(2).padStart(8)}`,
    ),
    '',
    `tramway --version: ${fmt(result.versionMs!)} ms, target < ${TARGET_MS} ms`,
    `tramway nodes (unreachable URL): ${fmt(result.nodesCommandMs!)} ms, target < ${TARGET_MS} ms`,
    btfListRatio === null
      ? `btfListRatio: none: ${noBpftool ?? result.btfList}`
      : `btfListRatio (kernel functions --json / bpftool raw dump): ${btfListRatio.toFixed(2)}, target <= 1`,
    ...(btfListColdRatio === null
      ? []
      : [
          `btfListColdRatio (the same with --no-cache, the BTF decoded anew): ${btfListColdRatio.toFixed(2)}`,
        ]),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
};

try {
  main();
} catch (error) {
  process.stderr.write(`bench:cli: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
