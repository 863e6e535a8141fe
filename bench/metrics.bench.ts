/**
 * `npm run bench:metrics [-- --json] [-- --nodes N] [-- --links K] [-- --scrapes S]`
 *
 * What a scrape of the coordinator's `/metrics` costs as the fleet grows: the time to render the
 * exposition (every gauge recomputed from the projection, docs/metrics.md) for a fleet of N nodes
 * holding K single-function links each (one trampoline per link), against a baseline measured in
 * the same run on the same fleet: `JSON.stringify` of every node's view (what a full node listing
 * costs before any paging). Prints the median and p99 of S renders, the ratio to the baseline,
 * the exposition's size and its series count (bounded: per-node series stop at maxNodeSeries).
 */
import { performance } from 'node:perf_hooks';
import type { FleetEvent, FleetRecordedEvent } from '@tramway/shared/domain';
import { streamOf } from '@tramway/shared/domain';
import type { FleetState } from '@tramway/shared/projections';
import { createFleetFolder } from '@tramway/shared/projections';
import { createCoordinatorMetrics } from '../services/coordinator/src/metrics/coordinator-metrics.js';

const json = process.argv.includes('--json');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const LINKS = arg('--links', 20);
const SCRAPES = arg('--scrapes', 30);
const SIZES = process.argv.includes('--nodes') ? [arg('--nodes', 1000)] : [100, 1000, 5000];

const fleetOf = (nodes: number): FleetState => {
  const folder = createFleetFolder();
  let position = 0;
  const push = (event: FleetEvent): void =>
    folder.push({
      ...event,
      id: `e${++position}`,
      schemaVersion: 1,
      metadata: { occurredAt: '2026-11-25T10:00:00Z', actor: 'bench' },
      streamId: streamOf(event),
      streamVersion: position,
      globalPosition: position,
      recordedAt: '2026-11-25T10:00:00Z',
    } as FleetRecordedEvent);
  for (let n = 0; n < nodes; n++) {
    const nodeId = `node-${String(n).padStart(5, '0')}`;
    push({
      type: 'NodeRegistered',
      data: {
        nodeId,
        labels: { role: 'web' },
        bootId: 'b',
        kernelRelease: '6.12',
        profile: 'v26',
        btfFingerprint: 'f',
      },
    });
    for (let l = 0; l < LINKS; l++)
      push({
        type: 'LinkCreated',
        data: {
          nodeId,
          linkId: l + 1,
          programId: l + 1,
          programName: 'p',
          attachType: 'BPF_TRACE_FENTRY_MULTI',
          connections: [{ function: `fn_${l}`, objId: 1, btfId: 100 + l, cookie: '0' }],
        },
      });
  }
  return folder.state();
};

const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const time = async (work: () => unknown): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    const t0 = performance.now();
    await work();
    out.push(performance.now() - t0);
  }
  return out;
};

const main = async (): Promise<void> => {
  const rows = [];
  for (const nodes of SIZES) {
    const fleet = fleetOf(nodes);
    const metrics = createCoordinatorMetrics({
      fleet: () => fleet,
      isStale: () => false,
      lastHeardMs: () => 0,
      refused: () => [],
      nowMs: () => 1000,
    });
    let text = '';
    const render = await time(async () => {
      text = await metrics.render();
    });
    const baseline = await time(() => JSON.stringify(Object.values(fleet.nodes)));
    rows.push({
      nodes,
      linksPerNode: LINKS,
      scrapes: SCRAPES,
      renderP50Ms: pct(render, 50),
      renderP99Ms: pct(render, 99),
      baselineP50Ms: pct(baseline, 50),
      ratioP50: pct(render, 50) / pct(baseline, 50),
      bytes: Buffer.byteLength(text),
      series: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
    });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ rows }, null, 2)}\n`);
    return;
  }
  const f = (x: number): string => x.toFixed(2);
  process.stdout.write(
    `coordinator /metrics render vs JSON.stringify of the node views (baseline), ${LINKS} links per node, ${SCRAPES} runs\n` +
      `${'nodes'.padStart(6)}${'render p50 ms'.padStart(15)}${'p99 ms'.padStart(9)}${'baseline p50 ms'.padStart(17)}${'ratio'.padStart(8)}${'KiB'.padStart(8)}${'series'.padStart(8)}\n` +
      rows
        .map(
          (r) =>
            `${String(r.nodes).padStart(6)}${f(r.renderP50Ms).padStart(15)}${f(r.renderP99Ms).padStart(9)}${f(r.baselineP50Ms).padStart(17)}${f(r.ratioP50).padStart(8)}${(r.bytes / 1024).toFixed(0).padStart(8)}${String(r.series).padStart(8)}`,
        )
        .join('\n') +
      '\n',
  );
};

main().catch((error: unknown) => {
  process.stderr.write(`bench:metrics: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
