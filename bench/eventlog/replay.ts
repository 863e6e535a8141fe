/**
 * Replay of synthetic fleet logs (test/fixtures/event-logs/synthetic-fleet-log.ts, seed 42) into
 * the fleet projection, against a raw scan of the same file measured in the same run:
 *
 * - baseline `rawScan`: better-sqlite3 iterate over the events table in position order with
 *   JSON.parse of data and metadata (the least any reader must do); it and the replay run 3
 *   times each, alternated, and their medians are compared (the machine is shared);
 * - `replay`: SqliteEventStore.readAll -> decodeFleetEvent (hand-written checks, zod for the
 *   rest, upcasters) -> fold, the path of time travel (infra/audit/time-travel.ts);
 * - two logs, each against its own raw scan:
 *   - `replayRatio`, the realistic log: policies change at a human pace (a change every ~5,000
 *     steps, about every 17 minutes of log time; at most 40 policies), so 1M events hold ~200
 *     rollouts;
 *   - `replayRatioStressLog`, the default generator's log (shared with the audit section): a
 *     policy change every ~50 steps, i.e. a rollout every ~10 s around the clock and ~9,000
 *     policies, 18,000 rollouts of ~250 nodes each for 500 nodes, kept by the projection;
 *   target >= 0.7 (issue 12); `replayCpuRatio*` compare CPU time (process.cpuUsage, GC threads included)
 *   the same way, which moves less than wall time when other processes share the cores;
 * - `foldOnly`: the fold alone over pre-decoded events, to show where the time goes;
 * - snapshot: size, and restore + replay of the last 10% against a full replay;
 * - time travel: fleetStateAt(position = head/2);
 * - `rebuild`: FleetReadModel.rebuild from position 0 (one transaction per 1000 events), with
 *   `rebuildRatio` = its rate / the raw scan rate.
 *
 * The snapshot, time travel and rebuild rows use the stress log. The logs are written once per
 * run into `dir` (the stress log is shared with the audit section).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeFleetEvent, decodeFleetEventOrThrow } from '../../shared/src/contracts/index.js';
import type { FleetRecordedEvent } from '../../shared/src/domain/index.js';
import type { FleetState } from '../../shared/src/projections/index.js';
import {
  createFleetFolder,
  fleetStateJson,
  foldFleet,
  initialFleetState,
  restoreSnapshot,
  takeSnapshot,
} from '../../shared/src/projections/index.js';
import { SqliteEventStore } from '../../shared/src/infra/event-store/sqlite-event-store.js';
import { FleetReadModel } from '../../shared/src/infra/read-model/fleet-read-model.js';
import { fleetStateAt } from '../../shared/src/infra/audit/index.js';
import { syntheticFleetLog } from '../../test/fixtures/event-logs/synthetic-fleet-log.js';
import type { SyntheticLogOptions } from '../../test/fixtures/event-logs/synthetic-fleet-log.js';
import type { BenchOptions, BenchRow, BenchSection } from '../eventlog.bench.js';

export const FLEET_SEED = 42;
const FOLD_SAMPLE = 200_000;
/** baseline and replay runs, alternated; medians are compared */
const REPEATS = 3;

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const ms = (startNs: bigint): number => Number(process.hrtime.bigint() - startNs) / 1e6;
const perSecond = (events: number, millis: number): number => Math.round(events / (millis / 1000));

/** Human-paced policy changes (see the header); the rest as the default generator. */
const REALISTIC_POLICIES: Partial<SyntheticLogOptions> = {
  policyChangeEvery: 5000,
  maxPolicies: 40,
};

/**
 * Writes the synthetic fleet log of `events` events into `dir/fleet-log.sqlite` (once per dir):
 * migrated by SqliteEventStore, rows inserted raw, 1000 per transaction, recordedAt = occurredAt.
 */
export const prepareFleetLog = (
  options: BenchOptions,
): Promise<{ path: string; writeMs: number }> =>
  writeFleetLog(join(options.dir, 'fleet-log.sqlite'), {
    seed: FLEET_SEED,
    events: options.events,
  });

/** As `prepareFleetLog`, with realistic policy changes, into `dir/fleet-log-realistic.sqlite`. */
const prepareRealisticFleetLog = (
  options: BenchOptions,
): Promise<{ path: string; writeMs: number }> =>
  writeFleetLog(join(options.dir, 'fleet-log-realistic.sqlite'), {
    seed: FLEET_SEED,
    events: options.events,
    ...REALISTIC_POLICIES,
  });

const writeFleetLog = async (
  path: string,
  logOptions: SyntheticLogOptions,
): Promise<{ path: string; writeMs: number }> => {
  if (existsSync(path)) return { path, writeMs: 0 };
  const start = process.hrtime.bigint();
  const store = await SqliteEventStore.open({ path, pollIntervalMs: 0 });
  await store.close();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const insert = db.prepare(
    'INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const upsertStream = db.prepare(
    'INSERT INTO streams (stream_id, stream_position) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET stream_position = excluded.stream_position',
  );
  const versions = new Map<string, number>();
  let batch: {
    streamId: string;
    version: number;
    e: ReturnType<typeof syntheticFleetLog> extends Generator<infer T> ? T : never;
  }[] = [];
  const flush = db.transaction(() => {
    for (const { streamId, version, e } of batch) {
      insert.run(
        e.event.id,
        streamId,
        version,
        e.event.type,
        e.event.schemaVersion,
        JSON.stringify(e.event.data),
        JSON.stringify(e.event.metadata),
        e.event.metadata.occurredAt,
      );
    }
    for (const [streamId, version] of versions) upsertStream.run(streamId, version);
  });
  for (const e of syntheticFleetLog(logOptions)) {
    const version = (versions.get(e.streamId) ?? 0) + 1;
    versions.set(e.streamId, version);
    batch.push({ streamId: e.streamId, version, e });
    if (batch.length === 1000) {
      flush();
      batch = [];
    }
  }
  flush();
  db.close();
  return { path, writeMs: ms(start) };
};

/** CPU time (user + system, every thread of the process, GC helpers included) since `since`, in ms. */
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

const rawScan = (path: string): { millis: number; cpu: number; count: number } => {
  const db = new Database(path, { readonly: true });
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  let count = 0;
  let sink = 0;
  for (const row of db
    .prepare(
      'SELECT global_position, event_id, stream_id, stream_position, type, schema_version, data, metadata, recorded_at FROM events ORDER BY global_position',
    )
    .iterate() as Iterable<{ data: string; metadata: string }>) {
    const data = JSON.parse(row.data) as Record<string, unknown>;
    const metadata = JSON.parse(row.metadata) as Record<string, unknown>;
    sink += Object.keys(data).length + Object.keys(metadata).length;
    count += 1;
  }
  const millis = ms(start);
  const cpu = cpuMs(cpu0);
  db.close();
  if (sink < 0) throw new Error('unreachable');
  return { millis, cpu, count };
};

/**
 * Raw scan and replay (readAll -> decode -> fold) of the log at `path`, alternated REPEATS times
 * (the machine is shared), medians compared; also the state at `cut` for the snapshot rows.
 */
const measureReplay = async (
  path: string,
  store: SqliteEventStore,
  head: number,
  cut: number,
): Promise<{
  rawRate: number;
  /** median replay CPU time / median raw scan CPU time, inverted like the rates (higher is better) */
  cpuRatio: number;
  replayRate: number;
  replayMs: number;
  state: FleetState;
  atCut: FleetState;
}> => {
  rawScan(path); // warm the page cache and the JIT once
  const replayOnce = async (): Promise<{
    millis: number;
    cpu: number;
    state: FleetState;
    atCut: FleetState;
  }> => {
    let atCut = initialFleetState();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const folder = createFleetFolder();
    for await (const recorded of store.readAll()) {
      const result = decodeFleetEvent(recorded);
      if (!result.ok) throw new Error(`bench log is corrupt at ${recorded.globalPosition}`);
      folder.push(result.value);
      if (recorded.globalPosition === cut) atCut = folder.state();
    }
    const millis = ms(t0);
    return { millis, cpu: cpuMs(cpu0), state: folder.state(), atCut };
  };
  const rawMs: number[] = [];
  const replayTimes: number[] = [];
  const rawCpu: number[] = [];
  const replayCpu: number[] = [];
  let last: { state: FleetState; atCut: FleetState } | undefined;
  for (let i = 0; i < REPEATS; i++) {
    const raw = rawScan(path);
    rawMs.push(raw.millis);
    rawCpu.push(raw.cpu);
    const r = await replayOnce();
    replayTimes.push(r.millis);
    replayCpu.push(r.cpu);
    last = r;
  }
  if (!last) throw new Error('no replay ran');
  const replayMs = median(replayTimes);
  return {
    rawRate: perSecond(head, median(rawMs)),
    cpuRatio: median(rawCpu) / median(replayCpu),
    replayRate: perSecond(head, replayMs),
    replayMs,
    state: last.state,
    atCut: last.atCut,
  };
};

export const run = async (options: BenchOptions): Promise<BenchSection> => {
  // the realistic log first (its own raw scan as baseline), then the stress log for every row
  const realistic = await prepareRealisticFleetLog(options);
  const realisticStore = await SqliteEventStore.open({
    path: realistic.path,
    pollIntervalMs: 0,
    pageSize: 5000,
  });
  const realisticHead = await realisticStore.headPosition();
  const human = await measureReplay(realistic.path, realisticStore, realisticHead, 0);
  const humanRollouts = Object.keys(human.state.rollouts).length;
  await realisticStore.close();

  const { path, writeMs } = await prepareFleetLog(options);
  const store = await SqliteEventStore.open({ path, pollIntervalMs: 0, pageSize: 5000 });
  const head = await store.headPosition();
  const { state, atCut, rawRate, replayRate, replayMs, cpuRatio } = await measureReplay(
    path,
    store,
    head,
    Math.floor(head * 0.9),
  );

  let start = process.hrtime.bigint();
  let read = 0;
  for await (const _ of store.readAll()) read += 1;
  const adapterMs = ms(start);

  // the fold alone, on the first FOLD_SAMPLE events decoded beforehand (memory stays bounded)
  const decoded: FleetRecordedEvent[] = [];
  for await (const recorded of store.readAll({ limit: FOLD_SAMPLE })) {
    if (decoded.length >= FOLD_SAMPLE) break;
    decoded.push(decodeFleetEventOrThrow(recorded));
  }
  start = process.hrtime.bigint();
  foldFleet(initialFleetState(), decoded);
  const foldMs = ms(start);
  const foldRate = perSecond(decoded.length, foldMs);
  decoded.length = 0;

  start = process.hrtime.bigint();
  const snapshot = takeSnapshot(atCut);
  const snapshotMs = ms(start);
  start = process.hrtime.bigint();
  const restored = restoreSnapshot(snapshot);
  if (!restored.ok) throw new Error(restored.error);
  const tailFolder = createFleetFolder(restored.value);
  for await (const recorded of store.readAll({ after: restored.value.position })) {
    tailFolder.push(decodeFleetEventOrThrow(recorded));
  }
  const restoreMs = ms(start);
  if (fleetStateJson(tailFolder.state()) !== fleetStateJson(state)) {
    throw new Error('snapshot + tail differs from the full replay');
  }

  const rm = await FleetReadModel.open({ path: join(options.dir, 'fleet-rm.sqlite') });
  start = process.hrtime.bigint();
  const past = await fleetStateAt(store, { position: Math.floor(head / 2) });
  const travelMs = ms(start);
  if (past.position !== Math.floor(head / 2)) throw new Error('time travel stopped early');
  // the same trip leaving a snapshot every 10% of the log, then a trip to a nearby point
  const snapshotEvery = Math.max(1000, Math.floor(head / 10));
  await fleetStateAt(store, { position: Math.floor(head / 2) }, { snapshots: rm, snapshotEvery });
  start = process.hrtime.bigint();
  const near = await fleetStateAt(
    store,
    { position: Math.floor(head * 0.55) },
    { snapshots: rm, snapshotEvery },
  );
  const nearMs = ms(start);
  if (near.replayed >= Math.floor(head * 0.55)) throw new Error('no snapshot was used');

  start = process.hrtime.bigint();
  const rebuilt = await rm.rebuild(store);
  const rebuildMs = ms(start);
  await rm.close();
  await store.close();
  if (rebuilt.position !== head) throw new Error('rebuild stopped early');
  const rebuildRate = perSecond(head, rebuildMs);

  const nodes = Object.keys(state.nodes).length;
  const links = Object.values(state.nodes).reduce((s, n) => s + Object.keys(n.links).length, 0);
  const rows: BenchRow[] = [
    {
      name: `fleet log written (${head} events, ${nodes} nodes, ${links} live links)`,
      value: Math.round(writeMs),
      unit: 'ms',
    },
    { name: 'stress log: raw scan + JSON.parse (baseline)', value: rawRate, unit: 'events/s' },
    {
      name: 'SqliteEventStore.readAll only',
      value: perSecond(read, adapterMs),
      unit: 'events/s',
      baseline: rawRate,
      ratio: perSecond(read, adapterMs) / rawRate,
    },
    {
      name: `realistic log (${humanRollouts} rollouts): raw scan + JSON.parse (baseline)`,
      value: human.rawRate,
      unit: 'events/s',
    },
    {
      name: 'realistic log: replay readAll + decode + fold (replayRatio)',
      value: human.replayRate,
      unit: 'events/s',
      baseline: human.rawRate,
      ratio: human.replayRate / human.rawRate,
    },
    {
      name: 'realistic log: replay CPU time vs raw scan CPU time (replayCpuRatio)',
      value: human.cpuRatio,
      unit: 'ratio',
    },
    {
      name: `stress log (${Object.keys(state.rollouts).length} rollouts): replay (replayRatioStressLog)`,
      value: replayRate,
      unit: 'events/s',
      baseline: rawRate,
      ratio: replayRate / rawRate,
    },
    {
      name: 'stress log: replay CPU time vs raw scan CPU time (replayCpuRatioStressLog)',
      value: cpuRatio,
      unit: 'ratio',
    },
    {
      name: `fold only, pre-decoded (first ${Math.min(head, FOLD_SAMPLE)})`,
      value: foldRate,
      unit: 'events/s',
    },
    { name: 'snapshot size at 90%', value: snapshot.length, unit: 'bytes' },
    { name: 'snapshot take at 90%', value: Math.round(snapshotMs), unit: 'ms' },
    {
      name: 'restore + replay last 10% (vs full replay)',
      value: Math.round(restoreMs),
      unit: 'ms',
      baseline: Math.round(replayMs),
      ratio: restoreMs / replayMs,
    },
    { name: 'time travel to head/2 (no snapshot)', value: Math.round(travelMs), unit: 'ms' },
    {
      name: `time travel to 55% from a cached snapshot (${near.replayed} events replayed)`,
      value: Math.round(nearMs),
      unit: 'ms',
      baseline: Math.round(travelMs),
      ratio: nearMs / travelMs,
    },
    { name: `read model rebuild (${head} events)`, value: Math.round(rebuildMs), unit: 'ms' },
    {
      name: 'read model rebuild rate (rebuildRatio)',
      value: rebuildRate,
      unit: 'events/s',
      baseline: rawRate,
      ratio: rebuildRate / rawRate,
    },
  ];
  return {
    rows,
    json: {
      replayEvents: head,
      rawScanPerSec: human.rawRate,
      replayPerSec: human.replayRate,
      replayRatio: human.replayRate / human.rawRate,
      realisticLogRollouts: humanRollouts,
      stressLogRawScanPerSec: rawRate,
      stressLogReplayPerSec: replayRate,
      replayRatioStressLog: replayRate / rawRate,
      replayCpuRatio: human.cpuRatio,
      replayCpuRatioStressLog: cpuRatio,
      foldOnlyPerSec: foldRate,
      snapshotBytes: snapshot.length,
      snapshotRestoreTailMs: restoreMs,
      fullReplayMs: replayMs,
      timeTravelHalfMs: travelMs,
      timeTravelFromSnapshotMs: nearMs,
      readModelRebuildMs: rebuildMs,
      readModelRebuildPerSec: rebuildRate,
    },
  };
};
