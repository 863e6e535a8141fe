/**
 * The log timeline over a large log (bench:console `--events N`): the log is written straight
 * into the embedded fleet's SQLite file (event-log.ts), the fleet started over it (its
 * coordinator replays the log, leaving past states for time travel on the way), then:
 *
 * - `firstPageMs`: from the navigation to `#/timeline` to its rows in sight showing events (page
 *   clock), median of `runs` fresh tabs;
 * - `jumpMs`: from setting the list's scroll position to 37% of the log to the rows in sight
 *   showing the events of that position (their pages fetched), median;
 * - `eventsPageApiMs`: `GET /v1/console/events?after=<middle>&limit=200`, median;
 * - `travelBackApiMs`: `GET /v1/console/fleet?at=` at 90%, 80%, ... 10% of the log in turn (the
 *   slider moved back step by step), each; `travelFromStartMs` is the same state folded from the
 *   start of the log (no kept state), the cost each step had without them;
 * - `sliderMs`: in the page, from moving the slider to 25% of the log to the grid showing the
 *   fleet at that position (the page waits 200 ms for the slider to rest: included).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { consoleLink } from '../../services/cli/src/commands/demo.command.js';
import { startEmbeddedFleet } from '../../services/embedded/src/index.js';
import { SqliteEventStore } from '../../shared/src/infra/event-store/sqlite-event-store.js';
import { fleetStateAt } from '../../shared/src/infra/audit/index.js';
import { benchKernel } from '../fleet/fleet-run.js';
import { writeConsoleLog } from './event-log.js';

export interface TimelineResult {
  readonly events: number;
  /** writing the log (setting the scene) */
  readonly writeMs: number;
  /** starting the fleet over it: the coordinator's replay (setting the scene) */
  readonly startMs: number;
  readonly firstPageMs: readonly number[];
  readonly jumpMs: readonly number[];
  readonly eventsPageApiMs: readonly number[];
  readonly travelBackApiMs: readonly { readonly at: number; readonly ms: number }[];
  readonly travelFromStartMs: number;
  readonly sliderMs: number;
  /** past states the coordinator keeps, and their interval */
  readonly pastStates: number;
  readonly pastStatesEvery: number;
  /** the process's heap after the measurements (the fleet runs in this process) */
  readonly heapMb: number;
}

const timed = async <T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> => {
  const t = performance.now();
  const value = await f();
  return { ms: performance.now() - t, value };
};

/** In the page: scrolls the timeline to `fraction` of the log; ms until those rows show events. */
const jump = (page: Page, fraction: number, timeoutMs: number): Promise<number> =>
  page.evaluate(
    `new Promise((resolve, reject) => {
      const el = document.querySelector('#timeline-viewport');
      const t0 = performance.now();
      el.scrollTop = (el.scrollHeight - el.clientHeight) * ${fraction};
      el.dispatchEvent(new Event('scroll'));
      const head = Number(document.querySelector('#travel-slider').max);
      const want = head * ${fraction};
      const check = () => {
        const rows = [...document.querySelectorAll('#timeline-viewport li.event')];
        const first = rows[0];
        const near = first !== undefined && Math.abs(Number(first.dataset.position) - want) <= head * 0.02;
        if (near && rows.every((r) => r.dataset.type !== '')) return resolve(performance.now() - t0);
        if (performance.now() - t0 > ${timeoutMs}) return reject(new Error('the rows of position ' + Math.round(want) + ' never showed'));
        requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    })`,
  ) as Promise<number>;

export const measureTimeline = async (options: {
  readonly browser: Browser;
  readonly dir: string;
  readonly events: number;
  readonly runs: number;
  readonly timeoutMs: () => number;
  readonly progress: (text: string) => void;
}): Promise<TimelineResult> => {
  const { browser, events, runs, progress } = options;
  const dataDir = join(options.dir, `timeline-${events}`);
  mkdirSync(dataDir, { recursive: true });
  progress(`writing ${events} events`);
  const written = await writeConsoleLog(join(dataDir, 'log.sqlite'), events, 500, (t) =>
    progress(t),
  );
  progress(`written in ${Math.round(written.writeMs)} ms; starting the fleet over the log`);
  const t0 = performance.now();
  const fleet = await startEmbeddedFleet({
    dataDir,
    port: 0,
    heartbeatMs: 5000,
    registerTimeoutMs: options.timeoutMs(),
    nodes: [
      {
        id: 'bench-0',
        labels: { tier: 'bench' },
        kernel: benchKernel(8),
        multiLink: true,
        kernelFile: '(bench kernel)',
      },
    ],
  });
  const startMs = performance.now() - t0;
  progress(`started in ${Math.round(startMs)} ms; measuring`);
  const get = async (path: string): Promise<unknown> => {
    const res = await fetch(`${fleet.url}${path}`, {
      headers: { authorization: `Bearer ${fleet.adminToken}` },
    });
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  try {
    const head = ((await get('/v1/console/events?after=0&limit=1')) as { head: number }).head;
    const middle = Math.floor(head / 2);

    const eventsPageApiMs: number[] = [];
    for (let r = 0; r < runs; r++)
      eventsPageApiMs.push(
        (await timed(() => get(`/v1/console/events?after=${middle}&limit=200`))).ms,
      );

    const travelBackApiMs: { at: number; ms: number }[] = [];
    for (let f = 9; f >= 1; f--) {
      const at = Math.floor((head * f) / 10);
      const { ms, value } = await timed(() => get(`/v1/console/fleet?at=${at}&limit=100`));
      if ((value as { position: number }).position > at)
        throw new Error(`the fleet at ${at} answered a later position`);
      travelBackApiMs.push({ at, ms });
    }
    // the same kind of state folded from the start, as each step cost without kept states
    const store = await SqliteEventStore.open({
      path: join(dataDir, 'log.sqlite'),
      pollIntervalMs: 0,
    });
    const fromStart = await timed(() => fleetStateAt(store, { position: middle }));
    await store.close();

    const firstPageMs: number[] = [];
    const jumpMs: number[] = [];
    let sliderMs = NaN;
    for (let r = 0; r < runs; r++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${consoleLink(fleet.url, fleet.adminToken)}&/timeline`);
      await page
        .locator('#timeline-viewport li.event[data-type]:not([data-type=""])')
        .first()
        .waitFor({ timeout: options.timeoutMs() });
      firstPageMs.push((await page.evaluate('performance.now()')) as number);
      jumpMs.push(await jump(page, 0.37, options.timeoutMs()));
      if (r === 0) {
        const at = Math.floor(head / 4);
        const t = performance.now();
        await page.locator('#travel-slider').fill(String(at));
        await page
          .locator('#fleet-grid caption', { hasText: `at position ${at}` })
          .waitFor({ timeout: options.timeoutMs() });
        sliderMs = performance.now() - t;
      }
      await context.close();
    }
    globalThis.gc?.();
    return {
      events: head,
      writeMs: written.writeMs,
      startMs,
      firstPageMs,
      jumpMs,
      eventsPageApiMs,
      travelBackApiMs,
      travelFromStartMs: fromStart.ms,
      sliderMs,
      pastStates: fleet.coordinator.core.pastStates.positions().length,
      pastStatesEvery: fleet.coordinator.core.pastStates.every(),
      heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    };
  } finally {
    await fleet.stop();
  }
};
