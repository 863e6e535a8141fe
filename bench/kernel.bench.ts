/**
 * `npm run bench:kernel [-- --json] [-- --sizes 1000,10000] [-- --budget-s 30] [-- --runs 5]`
 *
 * One tracing multi link to N kernel functions against the fallback the multi link replaces:
 * N single-target fentry programs, each with its own link (kernel-multilink-spec.md §7.1), on
 * the same pure kernel model, for both profiles. Both are measured in the same run, so the
 * fallback is the baseline: the table prints absolute times, the ratio fallback/multi and the
 * growth t(50k)/t(10k) (5.0 is linear).
 *
 * What is timed: `prog_load` + `link_create` (multi: 1 + 1 operations; fallback: N + N).
 * `attach` is the multi `link_create` alone (target: < 250 ms at 50k). Building the kernel from
 * its declarations is not timed; the built state is a value, reused by every run.
 *
 * A fallback run that exceeds the time budget is stopped: its time is then a lower bound
 * (printed with `>`), and its object counts are extrapolated from the pairs it completed.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { KernelProfile, KernelState, StateDump } from '@tramway/shared/kernel';
import { applyOp, buildKernel, defaultLimits, dumpState } from '@tramway/shared/kernel';

/**
 * Modelled kernel memory per object, in bytes. No author published a per-object byte count
 * (spec §7.1), so these are stated assumptions; what the comparison shows depends only on which
 * objects each approach needs, which the model counts exactly.
 */
const BYTE_MODEL = {
  /** bpf_prog + bpf_prog_aux + instructions + BTF func/line info + JIT image: one page (§7.1) */
  program: 4096,
  /** bpf_link/bpf_tracing_link plus the anon-inode file behind its fd (§7.1 "link objects / fds") */
  link: 256,
  /**
   * bpf_trampoline with its ftrace_ops, plus one image page from the generic allocator (§7.1;
   * the 38-link limit exists so that the image fits in one page, §1.1)
   */
  trampoline: 4096 + 512,
  /** one multi-link entry: trampoline pointer + connection, "≈ 40 B each" (§7.1) */
  connection: 40,
} as const;

interface ObjectCounts {
  readonly programs: number;
  readonly links: number;
  readonly trampolines: number;
  readonly connections: number;
}

const countObjects = (dump: StateDump): ObjectCounts => ({
  programs: dump.progs.length,
  links: dump.links.length,
  trampolines: dump.trampolines.length,
  connections: dump.links.reduce((sum, l) => sum + l.connections.length, 0),
});

const modelBytes = (c: ObjectCounts): number =>
  c.programs * BYTE_MODEL.program +
  c.links * BYTE_MODEL.link +
  c.trampolines * BYTE_MODEL.trampoline +
  c.connections * BYTE_MODEL.connection;

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};

const functionName = (i: number): string => `bench_fn_${i}`;

interface Setup {
  readonly kernel: KernelState;
  readonly maxMultiCount: number;
  readonly limitNote: string;
}

const setUp = (profile: KernelProfile, n: number): Setup => {
  const defaults = defaultLimits(profile);
  const maxMultiCount = Math.max(defaults.maxMultiCount, n);
  const built = buildKernel({
    profile,
    limits: { maxMultiCount },
    objects: [
      {
        name: 'vmlinux',
        kind: 'vmlinux',
        functions: Array.from({ length: n }, (_, i) => ({
          name: functionName(i),
          ret: 'int',
          params: ['int', 'u64'],
        })),
      },
    ],
  });
  if (!built.ok) throw new Error(`buildKernel: ${JSON.stringify(built.error)}`);
  const limitNote =
    maxMultiCount > defaults.maxMultiCount
      ? `maxMultiCount raised from ${defaults.maxMultiCount} to ${maxMultiCount}`
      : `default maxMultiCount ${defaults.maxMultiCount}`;
  return { kernel: built.value, maxMultiCount, limitNote };
};

const expectOk = <T>(
  outcome:
    { ok: true; state: KernelState; value: T } | { ok: false; errno: string; reason: string },
  what: string,
): { state: KernelState; value: T } => {
  if (!outcome.ok) throw new Error(`${what} failed: ${outcome.errno} (${outcome.reason})`);
  return outcome;
};

interface MultiRun {
  readonly totalMs: number;
  readonly attachMs: number;
  readonly state: KernelState;
}

const runMulti = (profile: KernelProfile, setup: Setup, n: number): MultiRun => {
  const targets = Array.from({ length: n }, (_, i) => ({ name: functionName(i) }));
  const start = performance.now();
  const loaded = expectOk(
    applyOp(setup.kernel, {
      op: 'prog_load',
      name: 'multi',
      attach: 'fentry.multi',
      ...(profile === 'v24' ? { origin: { name: functionName(0) } } : {}),
    }),
    'multi prog_load',
  );
  const { progId } = loaded.value as { progId: number };
  const attachStart = performance.now();
  const linked = expectOk(
    applyOp(loaded.state, { op: 'link_create', prog: progId, targets }),
    'multi link_create',
  );
  const end = performance.now();
  return { totalMs: end - start, attachMs: end - attachStart, state: linked.state };
};

interface FallbackRun {
  readonly totalMs: number;
  readonly pairsDone: number;
  readonly state: KernelState;
}

const runFallback = (setup: Setup, n: number, budgetMs: number): FallbackRun => {
  const start = performance.now();
  let state = setup.kernel;
  let done = 0;
  for (let i = 0; i < n; i += 1) {
    const target = { name: functionName(i) };
    const loaded = expectOk(
      applyOp(state, { op: 'prog_load', name: `single_${i}`, attach: 'fentry', origin: target }),
      `fallback prog_load ${i}`,
    );
    const { progId } = loaded.value as { progId: number };
    state = expectOk(
      applyOp(loaded.state, { op: 'link_create', prog: progId, targets: [target] }),
      `fallback link_create ${i}`,
    ).state;
    done = i + 1;
    // checking the clock every 64 pairs keeps its cost out of the figures
    if (done % 64 === 0 && performance.now() - start > budgetMs) break;
  }
  return { totalMs: performance.now() - start, pairsDone: done, state };
};

interface CaseResult {
  readonly profile: KernelProfile;
  readonly n: number;
  readonly limits: string;
  readonly multi: {
    readonly runs: number;
    readonly medianMs: number;
    readonly attachMedianMs: number;
    readonly objects: ObjectCounts;
    readonly modelBytes: number;
  };
  readonly fallback: {
    readonly runs: number;
    readonly completed: boolean;
    readonly pairsDone: number;
    /** median of completed runs, or the elapsed time of the stopped run (a lower bound) */
    readonly medianMs: number;
    readonly objects: ObjectCounts;
    readonly objectsExtrapolated: boolean;
    readonly modelBytes: number;
  };
  /** fallback / multi; a lower bound when the fallback did not complete */
  readonly ratios: { readonly time: number; readonly modelBytes: number };
}

const runCase = (profile: KernelProfile, n: number, runs: number, budgetMs: number): CaseResult => {
  const setup = setUp(profile, n);
  const multiRuns = Array.from({ length: runs }, () => runMulti(profile, setup, n));
  const lastMulti = multiRuns[multiRuns.length - 1];
  if (!lastMulti) throw new Error('no multi run');
  const multiObjects = countObjects(dumpState(lastMulti.state));

  const fallbackRuns: FallbackRun[] = [];
  // the fallback is quadratic in the current model: one run when one run costs more than a second
  for (let r = 0; r < runs; r += 1) {
    const run = runFallback(setup, n, budgetMs);
    fallbackRuns.push(run);
    if (run.pairsDone < n || run.totalMs > 1000) break;
  }
  const lastFallback = fallbackRuns[fallbackRuns.length - 1];
  if (!lastFallback) throw new Error('no fallback run');
  const completed = lastFallback.pairsDone === n;
  const partial = countObjects(dumpState(lastFallback.state));
  const scale = (x: number): number => Math.round((x * n) / lastFallback.pairsDone);
  const fallbackObjects: ObjectCounts = completed
    ? partial
    : {
        programs: scale(partial.programs),
        links: scale(partial.links),
        trampolines: scale(partial.trampolines),
        connections: scale(partial.connections),
      };
  const multiMs = median(multiRuns.map((r) => r.totalMs));
  const fallbackMs = completed ? median(fallbackRuns.map((r) => r.totalMs)) : lastFallback.totalMs;
  return {
    profile,
    n,
    limits: setup.limitNote,
    multi: {
      runs: multiRuns.length,
      medianMs: multiMs,
      attachMedianMs: median(multiRuns.map((r) => r.attachMs)),
      objects: multiObjects,
      modelBytes: modelBytes(multiObjects),
    },
    fallback: {
      runs: fallbackRuns.length,
      completed,
      pairsDone: lastFallback.pairsDone,
      medianMs: fallbackMs,
      objects: fallbackObjects,
      objectsExtrapolated: !completed,
      modelBytes: modelBytes(fallbackObjects),
    },
    ratios: {
      time: fallbackMs / multiMs,
      modelBytes: modelBytes(fallbackObjects) / modelBytes(multiObjects),
    },
  };
};

interface Options {
  readonly json: boolean;
  readonly sizes: readonly number[];
  readonly runs: number;
  readonly budgetMs: number;
}

const parseOptions = (argv: readonly string[]): Options => {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const sizes = (value('--sizes') ?? '1000,10000,50000').split(',').map(Number);
  const runs = Number(value('--runs') ?? '5');
  const budgetS = Number(value('--budget-s') ?? '30');
  if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(runs >= 1) || !(budgetS > 0)) {
    throw new Error('usage: kernel.bench.ts [--json] [--sizes N,N,...] [--runs R] [--budget-s S]');
  }
  return { json: argv.includes('--json'), sizes, runs, budgetMs: budgetS * 1000 };
};

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
const objects = (c: ObjectCounts): string =>
  `${c.programs}p ${c.links}l ${c.trampolines}t ${c.connections}c`;

const growth = (results: readonly CaseResult[], profile: KernelProfile) => {
  const at = (n: number) => results.find((r) => r.profile === profile && r.n === n);
  const big = at(50_000);
  const mid = at(10_000);
  if (!big || !mid) return null;
  return {
    profile,
    multi: big.multi.medianMs / mid.multi.medianMs,
    multiAttach: big.multi.attachMedianMs / mid.multi.attachMedianMs,
    fallback: big.fallback.completed ? big.fallback.medianMs / mid.fallback.medianMs : null,
  };
};

const printTable = (results: readonly CaseResult[], options: Options): void => {
  const header = [
    'profile',
    'N',
    'multi ms',
    'attach ms',
    'fallback ms',
    'time ×',
    'multi objects',
    'fallback objects',
    'multi bytes',
    'fallback bytes',
    'bytes ×',
    'limits',
  ];
  const rows = results.map((r) => {
    const lowerBound = r.fallback.completed ? '' : '>';
    return [
      r.profile,
      String(r.n),
      ms(r.multi.medianMs),
      ms(r.multi.attachMedianMs),
      r.fallback.completed
        ? ms(r.fallback.medianMs)
        : `>${ms(r.fallback.medianMs)} (${r.fallback.pairsDone}/${r.n})`,
      `${lowerBound}${r.ratios.time.toFixed(1)}`,
      objects(r.multi.objects),
      `${objects(r.fallback.objects)}${r.fallback.objectsExtrapolated ? '*' : ''}`,
      kib(r.multi.modelBytes),
      kib(r.fallback.modelBytes),
      r.ratios.modelBytes.toFixed(2),
      r.limits,
    ];
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  const out: string[] = [
    `kernel model: one multi link to N functions vs N single fentry programs + links`,
    `median of up to ${options.runs} runs; fallback budget ${options.budgetMs / 1000} s per run; node ${process.version}, ${availableParallelism()} cpus`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    'objects: p programs, l links, t trampolines, c connections (counted from the model state after the run; * extrapolated from the pairs done).',
    `bytes: modelled as ${BYTE_MODEL.program} B/program + ${BYTE_MODEL.link} B/link + ${BYTE_MODEL.trampoline} B/trampoline + ${BYTE_MODEL.connection} B/connection (see BYTE_MODEL in bench/kernel.bench.ts).`,
    'time ×, bytes ×: fallback / multi (> = lower bound: the fallback was stopped at the budget).',
  ];
  for (const profile of ['v24', 'v26'] as const) {
    const g = growth(results, profile);
    if (!g) continue;
    out.push(
      `${profile} growth t(50k)/t(10k) (5.0 = linear): multi ${g.multi.toFixed(2)}, attach ${g.multiAttach.toFixed(2)}, fallback ${g.fallback === null ? 'n/a (did not complete)' : g.fallback.toFixed(2)}`,
    );
  }
  for (const r of results.filter((x) => x.n === 50_000)) {
    out.push(
      `${r.profile} target 50k multi attach < 250 ms: ${ms(r.multi.attachMedianMs)} ms (${r.multi.attachMedianMs < 250 ? 'met' : 'NOT met'})`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
};

const main = (): void => {
  const options = parseOptions(process.argv.slice(2));
  // warm-up: let the JIT compile the hot paths before anything is measured
  runMulti('v24', setUp('v24', 2000), 2000);
  const results: CaseResult[] = [];
  for (const profile of ['v24', 'v26'] as const) {
    for (const n of options.sizes) {
      if (!options.json) process.stderr.write(`running ${profile} N=${n}...\n`);
      results.push(runCase(profile, n, options.runs, options.budgetMs));
    }
  }
  if (options.json) {
    const growthFigures = (['v24', 'v26'] as const).map((p) => growth(results, p)).filter((g) => g);
    process.stdout.write(
      `${JSON.stringify(
        {
          node: process.version,
          cpus: availableParallelism(),
          runs: options.runs,
          fallbackBudgetMs: options.budgetMs,
          byteModel: BYTE_MODEL,
          results,
          growth: growthFigures,
        },
        null,
        2,
      )}\n`,
    );
  } else printTable(results, options);
};

main();
