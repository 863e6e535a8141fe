/**
 * Console benchmark (issue 13, "Large fleets stay usable"): `npm run bench:console -- [--nodes
 * 1000] [--baseline 10] [--runs 5] [--functions 8] [--events 1000000] [--events-baseline 1000]
 * [--only fleet,timeline] [--max-s 3600] [--json]`.
 *
 * Fleet: for each fleet size, the embedded fleet (services/embedded: coordinator with its HTTP
 * API, simulated agents, SQLite log, in this process) with a policy planned on every node; then
 * Debian's Chromium (playwright-core) opens the console's sign-in link in a fresh tab `--runs`
 * times and times the first view: from the navigation to the fleet grid's first rows painted
 * with real data (a node's row with its policy cell; the paint time of the first row from
 * Element Timing), and where that time went (script, sign-in check, fleet request, rows). Also
 * timed: the API answer alone (`GET /v1/console/fleet`, every page). The baseline is the same
 * measurement on a `--baseline`-node fleet in the same run; the ratios say what the fleet's size
 * costs. The issue's target: 1,000 nodes render their first view in < 1 s on this machine.
 *
 * Timeline (`--events N`, 0 to leave it out): see console/timeline.ts; baseline: the same on a
 * `--events-baseline`-event log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleLink } from '../services/cli/src/commands/demo.command.js';
import { startEmbeddedFleet } from '../services/embedded/src/index.js';
import { api, tracingPolicy } from '../test/support/fleet-processes.js';
import { chromiumMissing, launchChromium } from '../test/support/browser.js';
import { waitUntil } from '../test/support/wait-until.js';
import { benchKernel } from './fleet/fleet-run.js';
import type { TimelineResult } from './console/timeline.js';
import { measureTimeline } from './console/timeline.js';

interface Args {
  readonly nodes: readonly number[];
  readonly baseline: number;
  readonly runs: number;
  readonly functions: number;
  readonly maxS: number;
  readonly json: boolean;
  /** the timeline's log size (0: no timeline measurement), and its baseline's */
  readonly events: number;
  readonly eventsBaseline: number;
  /** which parts run: the fleet's first view, the timeline */
  readonly only: readonly ('fleet' | 'timeline')[];
}

const USAGE =
  'usage: bench:console [--nodes 1000] [--baseline 10] [--runs 5] [--functions 8] [--events 1000000] [--events-baseline 1000] [--max-s 3600] [--only fleet,timeline] [--json]';

const positiveInt = (flag: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`${flag} needs a positive integer, got ${String(text)}\n${USAGE}`);
  return n;
};

const parseArgs = (argv: readonly string[]): Args => {
  let nodes = [1000];
  let baseline = 10;
  let runs = 5;
  let functions = 8;
  let maxS = 3600;
  let json = false;
  let events = 1_000_000;
  let eventsBaseline = 1000;
  let only: ('fleet' | 'timeline')[] = ['fleet', 'timeline'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--nodes')
      nodes = (argv[++i] ?? '').split(',').map((x) => positiveInt('--nodes', x));
    else if (a === '--baseline') baseline = positiveInt('--baseline', argv[++i]);
    else if (a === '--runs') runs = positiveInt('--runs', argv[++i]);
    else if (a === '--functions') functions = positiveInt('--functions', argv[++i]);
    else if (a === '--max-s') maxS = positiveInt('--max-s', argv[++i]);
    else if (a === '--events')
      events = argv[i + 1] === '0' ? (i++, 0) : positiveInt('--events', argv[++i]);
    else if (a === '--only') {
      const parts = (argv[++i] ?? '').split(',');
      if (parts.some((p) => p !== 'fleet' && p !== 'timeline'))
        throw new Error(`--only: fleet, timeline or both, got ${parts.join(',')}\n${USAGE}`);
      only = parts as ('fleet' | 'timeline')[];
    } else if (a === '--events-baseline')
      eventsBaseline = positiveInt('--events-baseline', argv[++i]);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (events > 0 && events < 1000) throw new Error(`--events: 0 or at least 1000\n${USAGE}`);
  if (eventsBaseline < 1000) throw new Error(`--events-baseline: at least 1000\n${USAGE}`);
  return { nodes, baseline, runs, functions, maxS, json, events, eventsBaseline, only };
};

interface SizeResult {
  readonly nodes: number;
  /** time until every node has the policy's plan (setting the scene, not the figure) */
  readonly convergeMs: number;
  /** navigation to every row of the grid in the DOM, per run */
  readonly firstViewMs: readonly number[];
  /** GET /v1/console/fleet, every page, per run */
  readonly apiMs: readonly number[];
  /** bytes of the fleet answer (all pages) */
  readonly apiBytes: number;
  readonly phases: readonly FirstViewPhases[];
}

/** Where a first view's time went (page clock: ms since the navigation started). */
interface FirstViewPhases {
  /** the page's script received */
  readonly script: number;
  /** the sign-in check answered (`GET /v1/console/whoami`) */
  readonly whoami: number;
  /** the first fleet request sent, and answered */
  readonly fleetAsked: number;
  readonly fleetAnswered: number;
  /** fleet requests before the rows were painted */
  readonly fleetRequests: number;
  /** the first row with real data painted (Element Timing), else seen in the DOM */
  readonly rowsPainted: number;
  /** the rows in the DOM when painted (the grid draws only those in sight) */
  readonly rowsDrawn: number;
}

/**
 * The phases of the page's first view, from its Resource Timing entries and the Element Timing
 * entry of the first row (`elementtiming="fleet-rows"`, its paint time); the time it is read
 * stands in when the browser reports no paint time.
 */
const firstViewPhases = async (page: Page): Promise<FirstViewPhases> =>
  (await page.evaluate(`new Promise((resolve) => {
    const seen = performance.now();
    const rows = document.querySelectorAll('#fleet-grid tbody tr[data-node]').length;
    const done = (painted) => {
      const res = performance.getEntriesByType('resource');
      const of = (part) => res.filter((r) => r.name.includes(part));
      const fleet = of('/v1/console/fleet').filter((r) => r.startTime <= painted);
      const end = (list) => (list.length === 0 ? -1 : Math.max(...list.map((r) => r.responseEnd)));
      resolve({
        script: end(of('/ui/assets/').filter((r) => r.name.endsWith('.js'))),
        whoami: end(of('/v1/console/whoami')),
        fleetAsked: fleet.length === 0 ? -1 : Math.min(...fleet.map((r) => r.startTime)),
        fleetAnswered: fleet.length === 0 ? -1 : Math.min(...fleet.map((r) => r.responseEnd)),
        fleetRequests: fleet.length,
        rowsPainted: painted,
        rowsDrawn: rows,
      });
    };
    const timer = setTimeout(() => done(seen), 1000);
    new PerformanceObserver((list) => {
      const e = list.getEntries().find((x) => x.identifier === 'fleet-rows');
      if (e !== undefined) {
        clearTimeout(timer);
        done(e.renderTime || e.startTime);
      }
    }).observe({ type: 'element', buffered: true });
  })`)) as FirstViewPhases;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
};
const round = (x: number): number => Math.round(x * 10) / 10;

const measure = async (args: Args, nodes: number, deadline: number): Promise<SizeResult> => {
  const dir = mkdtempSync(join(tmpdir(), `tramway-console-bench-${nodes}-`));
  const remaining = (): number => Math.max(1, Math.round(deadline - performance.now()));
  const ids = Array.from({ length: nodes }, (_, i) => `node-${String(i).padStart(4, '0')}`);
  const progress = (text: string): void => {
    process.stderr.write(`bench:console: ${nodes} nodes: ${text}\n`);
  };
  progress('starting the embedded fleet');
  const fleet = await startEmbeddedFleet({
    dataDir: dir,
    port: 0,
    heartbeatMs: 5000,
    registerTimeoutMs: remaining(),
    nodes: ids.map((id, i) => ({
      id,
      labels: { tier: 'bench', zone: `z${i % 4}`, rack: `r${i % 25}` },
      kernel: benchKernel(args.functions),
      multiLink: true,
      kernelFile: '(bench kernel)',
    })),
  });
  progress('registered; applying the policy');
  const browser = await launchChromium();
  try {
    const target = { url: fleet.url, token: fleet.adminToken };
    const t0 = performance.now();
    const applied = await api(target, 'POST', '/v1/policies', {
      policy: tracingPolicy('bench-policy', {
        targets: ['bench_fn_*'],
        nodeSelector: { matchLabels: { tier: 'bench' } },
        // one wave: the scene is set fast; the rollout is not what is measured
        rollout: { waves: ['100%'], maxFailureRatio: 1, pauseSeconds: 0 },
      }),
    });
    if (applied.status !== 202) throw new Error(`apply refused: ${JSON.stringify(applied.body)}`);
    // every node has its plan: the grid has a cell per node (pending or attached); waiting for
    // the whole rollout is not needed to measure the page, and takes minutes on a loaded machine
    await waitUntil(
      `${nodes} nodes planned`,
      async () => {
        const s = await api(target, 'GET', '/v1/console/fleet?limit=1000');
        const body = s.body as { items?: { cells: Record<string, { state: string }> }[] };
        const planned = (body.items ?? []).filter(
          (r) => (r.cells['bench-policy']?.state ?? 'none') !== 'none',
        ).length;
        return planned >= Math.min(nodes, 1000);
      },
      { timeoutMs: remaining(), intervalMs: 500 },
    );
    const convergeMs = performance.now() - t0;
    progress(`every node planned in ${Math.round(convergeMs)} ms; measuring`);

    const apiMs: number[] = [];
    let apiBytes = 0;
    for (let r = 0; r < args.runs; r++) {
      const t = performance.now();
      let cursor: string | null = null;
      let bytes = 0;
      do {
        const res: Response = await fetch(
          `${fleet.url}/v1/console/fleet?limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`,
          { headers: { authorization: `Bearer ${fleet.adminToken}` } },
        );
        const text = await res.text();
        bytes += text.length;
        cursor = (JSON.parse(text) as { nextCursor: string | null }).nextCursor;
      } while (cursor !== null);
      apiMs.push(performance.now() - t);
      apiBytes = bytes;
    }

    const firstViewMs: number[] = [];
    const phases: FirstViewPhases[] = [];
    for (let r = 0; r < args.runs; r++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(consoleLink(fleet.url, fleet.adminToken));
      // the first rows with real data: a node's row with its policy cell
      await page
        .locator('#fleet-grid tbody tr[data-node] [data-policy="bench-policy"][data-state]')
        .first()
        .waitFor({ timeout: remaining() });
      const seen = await firstViewPhases(page);
      firstViewMs.push(seen.rowsPainted);
      phases.push(seen);
      const total = await page.locator('#fleet-summary').getAttribute('data-total');
      if (Number(total) !== nodes) throw new Error(`the page counts ${total} nodes, not ${nodes}`);
      await context.close();
    }
    return { nodes, convergeMs, firstViewMs, apiMs, apiBytes, phases };
  } finally {
    await browser.close();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

const main = async (): Promise<void> => {
  const args = parseArgs(process.argv.slice(2));
  const missing = chromiumMissing();
  if (missing !== undefined) {
    console.error(`bench:console: ${missing}`);
    process.exitCode = 2;
    return;
  }
  const deadline = performance.now() + args.maxS * 1000;
  const out: Record<string, unknown> = { runs: args.runs };
  const lines: string[] = [];
  if (args.only.includes('fleet')) {
    const fleet = await fleetFirstView(args, deadline);
    out['fleet'] = fleet.json;
    lines.push(...fleet.lines);
  }
  if (args.only.includes('timeline') && args.events > 0) {
    const timeline = await timelineFigures(args, deadline);
    out['timeline'] = timeline.json;
    lines.push(...timeline.lines);
  }
  console.log(args.json ? JSON.stringify(out, null, 2) : lines.join('\n'));
};

const fleetFirstView = async (
  args: Args,
  deadline: number,
): Promise<{ json: unknown; lines: string[] }> => {
  const baseline = await measure(args, args.baseline, deadline);
  const sizes: SizeResult[] = [];
  for (const n of args.nodes) sizes.push(await measure(args, n, deadline));
  const summary = (r: SizeResult) => ({
    nodes: r.nodes,
    firstViewMedianMs: round(median(r.firstViewMs)),
    firstViewWorstMs: round(Math.max(...r.firstViewMs)),
    apiMedianMs: round(median(r.apiMs)),
    apiBytes: r.apiBytes,
    convergeMs: Math.round(r.convergeMs),
    // medians of each phase of the first view (page clock, ms since navigation)
    phasesMs: Object.fromEntries(
      (Object.keys(r.phases[0] ?? {}) as (keyof FirstViewPhases)[]).map((k) => [
        k,
        round(median(r.phases.map((p) => p[k]))),
      ]),
    ),
  });
  const base = summary(baseline);
  const results = sizes.map((r) => {
    const s = summary(r);
    return {
      ...s,
      firstViewRatio: round(s.firstViewMedianMs / base.firstViewMedianMs),
      apiRatio: round(s.apiMedianMs / base.apiMedianMs),
      underOneSecond: s.firstViewWorstMs < 1000,
    };
  });
  const lines = [
    `console first view (${args.runs} runs each; baseline ${base.nodes} nodes)`,
    `  baseline ${base.nodes} nodes: first view ${base.firstViewMedianMs} ms (worst ${base.firstViewWorstMs}), API ${base.apiMedianMs} ms`,
    ...results.map(
      (r) =>
        `  ${r.nodes} nodes: first view ${r.firstViewMedianMs} ms (worst ${r.firstViewWorstMs}, x${r.firstViewRatio} the baseline), API ${r.apiMedianMs} ms for ${Math.round(r.apiBytes / 1024)} KiB (x${r.apiRatio}); under 1 s: ${r.underOneSecond ? 'yes' : 'NO'}`,
    ),
    ...[base, ...results].map(
      (r) =>
        `  ${r.nodes} nodes, where the first view's time went (ms since navigation): ${Object.entries(
          r.phasesMs,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
    ),
  ];
  return { json: { baseline: base, results }, lines };
};

const timelineFigures = async (
  args: Args,
  deadline: number,
): Promise<{ json: unknown; lines: string[] }> => {
  const dir = mkdtempSync(join(tmpdir(), 'tramway-console-bench-timeline-'));
  const browser = await launchChromium();
  try {
    const run = (events: number) =>
      measureTimeline({
        browser,
        dir,
        events,
        runs: args.runs,
        timeoutMs: () => Math.max(1, Math.round(deadline - performance.now())),
        progress: (text) => process.stderr.write(`bench:console: timeline ${events}: ${text}\n`),
      });
    const summary = (r: TimelineResult) => {
      const back = r.travelBackApiMs.map((t) => t.ms);
      return {
        events: r.events,
        writeMs: Math.round(r.writeMs),
        startMs: Math.round(r.startMs),
        firstPageMedianMs: round(median(r.firstPageMs)),
        jumpMedianMs: round(median(r.jumpMs)),
        eventsPageApiMedianMs: round(median(r.eventsPageApiMs)),
        travelBackApiMedianMs: round(median(back)),
        travelBackApiWorstMs: round(Math.max(...back)),
        travelBackApiMs: r.travelBackApiMs.map((t) => ({ at: t.at, ms: round(t.ms) })),
        travelFromStartMs: round(r.travelFromStartMs),
        sliderMs: round(r.sliderMs),
        pastStates: r.pastStates,
        pastStatesEvery: r.pastStatesEvery,
        heapMb: r.heapMb,
      };
    };
    const base = summary(await run(args.eventsBaseline));
    const big = summary(await run(args.events));
    const result = {
      ...big,
      firstPageRatio: round(big.firstPageMedianMs / base.firstPageMedianMs),
      jumpRatio: round(big.jumpMedianMs / base.jumpMedianMs),
      travelBackRatio: round(big.travelBackApiMedianMs / base.travelBackApiMedianMs),
      // what kept states save on a step back: folding from the start / from the nearest state
      travelSpeedup: round(big.travelFromStartMs / big.travelBackApiMedianMs),
    };
    const lines = [
      `log timeline (${args.runs} runs each; baseline ${base.events} events)`,
      ...[base, result].map(
        (r) =>
          `  ${r.events} events: first page ${r.firstPageMedianMs} ms, jump to 37% ${r.jumpMedianMs} ms, events page (API) ${r.eventsPageApiMedianMs} ms; slider back (API, 9 steps) median ${r.travelBackApiMedianMs} ms, worst ${r.travelBackApiWorstMs} ms, vs ${r.travelFromStartMs} ms folded from the start; slider in the page ${r.sliderMs} ms (200 ms rest included); ${r.pastStates} past states every ${r.pastStatesEvery}; heap ${r.heapMb} MiB; log written in ${r.writeMs} ms, fleet started in ${r.startMs} ms`,
      ),
      `  ratios to the baseline: first page x${result.firstPageRatio}, jump x${result.jumpRatio}, slider back x${result.travelBackRatio}; kept states make a step back x${result.travelSpeedup} faster than a fold from the start`,
    ];
    return { json: { baseline: base, result }, lines };
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

main().catch((error: unknown) => {
  console.error(
    error instanceof Error
      ? `${error.message}${error.cause === undefined ? '' : ` (${String(error.cause)})`}`
      : String(error),
  );
  process.exitCode = 1;
});
