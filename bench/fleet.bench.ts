/**
 * Fleet benchmark (issue 5, item 7): `npm run bench:fleet -- [--nodes 100,1000] [--functions 500]
 * [--hosts 4] [--max-s 600] [--json]`.
 *
 * For each fleet size: simulated agents (real createAgent on sim kernels with >= FUNCTIONS
 * matching functions) over a real nats-server started here on a free loopback port, spread over
 * `--hosts` agent-host processes; the coordinator as its own process on the JetStream log. Prints
 * the time for a policy on FUNCTIONS functions to converge on every node and the coordinator's
 * restart time (SIGKILL, replay of the resulting log, status converged again), each with a
 * baseline measured in the same run and the ratio: convergence against the same fleet in the
 * embedded mode (bench/fleet/in-process-run.ts) and against one NATS round trip per node, restart
 * against the coordinator's cold start on an empty log (bench/fleet/fleet-run.ts).
 *
 * Bounded: every wait shares the `--max-s` deadline; past it the size in progress is abandoned,
 * the sizes done are printed, and every child process started is stopped (also on SIGINT/SIGTERM).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildHandle } from '../test/support/fleet-processes.js';
import type { FleetRunResult } from './fleet/fleet-run.js';
import { runFleet } from './fleet/fleet-run.js';
import { runInProcess } from './fleet/in-process-run.js';

interface Args {
  readonly nodes: readonly number[];
  readonly functions: number;
  readonly hosts: number;
  readonly maxS: number;
  readonly json: boolean;
}

const USAGE =
  'usage: bench:fleet [--nodes 100,1000] [--functions 500] [--hosts 4] [--max-s 600] [--json]';

const positiveInt = (flag: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`${flag} needs a positive integer, got ${String(text)}\n${USAGE}`);
  return n;
};

const parseArgs = (argv: readonly string[]): Args => {
  let nodes: number[] = [100, 1000];
  let functions = 500;
  let hosts = 4;
  let maxS = 600;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--nodes')
      nodes = (argv[++i] ?? '').split(',').map((x) => positiveInt('--nodes', x));
    else if (a === '--functions') functions = positiveInt('--functions', argv[++i]);
    else if (a === '--hosts') hosts = positiveInt('--hosts', argv[++i]);
    else if (a === '--max-s') maxS = positiveInt('--max-s', argv[++i]);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return { nodes, functions, hosts, maxS, json };
};

interface Row {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: number;
  readonly ratio?: number;
}

type SizeResult = FleetRunResult & { readonly inProcessConvergeMs: number | undefined };

const rowsOf = (r: SizeResult): Row[] => [
  {
    name: `converge ${r.functions} fn on ${r.nodes} nodes (vs same fleet in-process)`,
    value: r.convergeMs,
    unit: 'ms',
    ...(r.inProcessConvergeMs === undefined
      ? {}
      : { baseline: r.inProcessConvergeMs, ratio: r.convergeMs / r.inProcessConvergeMs }),
  },
  {
    name: `converge ${r.functions} fn on ${r.nodes} nodes (vs 1 NATS round trip/node)`,
    value: r.convergeMs,
    unit: 'ms',
    baseline: r.roundTripAllMs,
    ratio: r.convergeMs / r.roundTripAllMs,
  },
  {
    name: `  per node`,
    value: r.convergeMs / r.nodes,
    unit: 'ms',
    baseline: r.roundTripAllMs / r.nodes,
    ratio: r.convergeMs / r.roundTripAllMs,
  },
  {
    name: `coordinator restart, ${r.logEvents} events (vs cold start)`,
    value: r.restartMs,
    unit: 'ms',
    baseline: r.coldStartMs,
    ratio: r.restartMs / r.coldStartMs,
  },
  { name: `  log size`, value: r.logMb, unit: 'MB' },
  { name: `  agents start+register (${r.hosts} hosts)`, value: r.agentsStartMs, unit: 'ms' },
];

const fmt = (n: number | undefined, digits = 1): string =>
  n === undefined ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits });

const printTable = (rows: readonly Row[]): void => {
  const header = ['name', 'value', 'unit', 'baseline', 'ratio'];
  const cells = rows.map((r) => [r.name, fmt(r.value), r.unit, fmt(r.baseline), fmt(r.ratio, 2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  process.stdout.write(`${line(header)}\n`);
  for (const c of cells) process.stdout.write(`${line(c)}\n`);
};

const main = async (): Promise<number> => {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tramway-bench-fleet-'));
  const children = new Set<ChildHandle>();
  const stopAll = async (): Promise<void> => {
    await Promise.all(
      [...children].map(async (c) => {
        const timer = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
        await c.stop('SIGTERM');
        clearTimeout(timer);
      }),
    );
  };
  const onSignal = (): void => {
    void stopAll().finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const deadline = performance.now() + args.maxS * 1000;
  const results: SizeResult[] = [];
  let abandoned: string | undefined;
  const problems: string[] = [];
  try {
    for (const nodes of args.nodes) {
      log(`fleet of ${nodes} nodes, ${args.functions} functions, ${args.hosts} agent hosts`);
      try {
        // the baseline gets at most a third of the time left: the run over NATS is the point
        const inProcess = await runInProcess({
          nodes,
          functions: args.functions,
          deadline,
          dir,
          capMs: (deadline - performance.now()) / 3,
        });
        log(
          inProcess.convergeMs === undefined
            ? `  baseline: in-process fleet ${inProcess.problem}`
            : `  baseline: in-process fleet converged in ${inProcess.convergeMs.toFixed(0)} ms`,
        );
        if (inProcess.problem)
          problems.push(`in-process baseline, ${nodes} nodes: ${inProcess.problem}`);
        const overNats = await runFleet({
          nodes,
          functions: args.functions,
          hosts: Math.min(args.hosts, nodes),
          deadline,
          dir,
          children,
          log,
        });
        results.push({ ...overNats, inProcessConvergeMs: inProcess.convergeMs });
      } catch (error) {
        abandoned = `${nodes} nodes: ${(error as Error).message}`;
        log(`  abandoned: ${abandoned}`);
        break;
      }
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = results.flatMap(rowsOf);
  if (args.json)
    process.stdout.write(
      `${JSON.stringify({ maxS: args.maxS, results, problems, ...(abandoned ? { abandoned } : {}) }, null, 2)}\n`,
    );
  else {
    printTable(rows);
    for (const p of problems) process.stdout.write(`note: ${p}\n`);
    if (abandoned) process.stdout.write(`not measured: ${abandoned}\n`);
  }
  return abandoned ? 1 : 0;
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench:fleet: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
