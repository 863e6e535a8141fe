/**
 * Audit query latency over the read model of the synthetic fleet log (same log as the replay
 * section): p50 and p99 of a deterministic mix of function, program, policy and actor queries
 * (library calls through kysely, default limit 1000), against a primary-key lookup through the
 * same kysely path measured in the same run. `auditP99Ms` is the p99 over the whole mix
 * (target < 20 ms).
 */
import { join } from 'node:path';
import { SqliteEventStore } from '../../shared/src/infra/event-store/sqlite-event-store.js';
import { FleetReadModel } from '../../shared/src/infra/read-model/fleet-read-model.js';
import {
  actorActivity,
  functionHistory,
  policyHistory,
  programHistory,
} from '../../shared/src/infra/audit/index.js';
import type { BenchOptions, BenchRow, BenchSection } from '../eventlog.bench.js';
import { prepareFleetLog } from './replay.js';

const QUERIES_PER_KIND = 400;

const prng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

const time = async (f: () => Promise<unknown>): Promise<number> => {
  const start = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - start) / 1e6;
};

export const run = async (options: BenchOptions): Promise<BenchSection> => {
  const { path } = await prepareFleetLog(options);
  const rm = await FleetReadModel.open({ path: join(options.dir, 'fleet-rm.sqlite') });
  const store = await SqliteEventStore.open({ path, pollIntervalMs: 0, pageSize: 5000 });
  const head = await store.headPosition();
  if (rm.position() < head) await rm.catchUp(store);
  await store.close();

  // what exists, to ask about it
  const nodes = (await rm.db.selectFrom('rm_nodes_v1').select('node_id').execute()).map(
    (r) => r.node_id,
  );
  const functions = (
    await rm.db.selectFrom('rm_connections_v1').select('function').distinct().execute()
  ).map((r) => r.function);
  const programs = (
    await rm.db.selectFrom('rm_links_v1').select('program_name').distinct().execute()
  ).map((r) => r.program_name);
  const policies = (await rm.db.selectFrom('rm_policies_v1').select('name').execute()).map(
    (r) => r.name,
  );
  const actors = (await rm.db.selectFrom('rm_events_v1').select('actor').distinct().execute()).map(
    (r) => r.actor,
  );
  const span = await rm.db
    .selectFrom('rm_events_v1')
    .select((eb) => [eb.fn.min('occurred_ms').as('first'), eb.fn.max('occurred_ms').as('last')])
    .executeTakeFirstOrThrow();

  const rnd = prng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const kinds: Record<string, () => Promise<unknown>> = {
    'function history (node, function)': () =>
      functionHistory(rm, { nodeId: pick(nodes), function: pick(functions) }),
    'program history': () => programHistory(rm, { name: pick(programs) }),
    'program history on one node': () =>
      programHistory(rm, { name: pick(programs), nodeId: pick(nodes) }),
    'policy history': () => policyHistory(rm, { name: pick(policies) }),
    'actor activity, 1 h window': () => {
      const since = Number(span.first) + rnd() * (Number(span.last) - Number(span.first));
      return actorActivity(rm, {
        actor: pick(actors),
        since: new Date(since).toISOString(),
        until: new Date(since + 3_600_000).toISOString(),
      });
    },
  };
  const baseline = () =>
    rm.db
      .selectFrom('rm_events_v1')
      .selectAll()
      .where('position', '=', 1 + Math.floor(rnd() * head))
      .executeTakeFirst();

  for (const f of [...Object.values(kinds), baseline]) for (let i = 0; i < 20; i++) await f(); // warm-up

  // Round robin over the kinds and the baseline, so that a noisy moment on the (shared)
  // machine hits every kind alike instead of one block of samples.
  const rows: BenchRow[] = [];
  const samples = new Map<string, number[]>(Object.keys(kinds).map((k) => [k, []]));
  const base: number[] = [];
  for (let i = 0; i < QUERIES_PER_KIND; i++) {
    base.push(await time(baseline));
    for (const [name, f] of Object.entries(kinds)) samples.get(name)?.push(await time(f));
  }
  base.sort((a, b) => a - b);
  const baseP99 = percentile(base, 99);
  const json: Record<string, number> = {};
  const all: number[] = [];
  for (const [name, values] of samples) {
    values.sort((a, b) => a - b);
    all.push(...values);
    const p99 = percentile(values, 99);
    rows.push(
      { name: `audit ${name} p50`, value: percentile(values, 50), unit: 'ms' },
      {
        name: `audit ${name} p99`,
        value: p99,
        unit: 'ms',
        baseline: baseP99,
        ratio: p99 / baseP99,
      },
    );
  }
  all.sort((a, b) => a - b);
  await rm.close();
  rows.unshift(
    { name: `audit mix over ${head} events p50`, value: percentile(all, 50), unit: 'ms' },
    {
      name: `audit mix p99 (auditP99Ms; baseline: pk lookup p99)`,
      value: percentile(all, 99),
      unit: 'ms',
      baseline: baseP99,
      ratio: percentile(all, 99) / baseP99,
    },
    { name: 'audit mix max', value: all[all.length - 1] ?? Number.NaN, unit: 'ms' },
  );
  json['auditEvents'] = head;
  json['auditP50Ms'] = percentile(all, 50);
  json['auditP99Ms'] = percentile(all, 99);
  json['auditPkLookupP99Ms'] = baseP99;
  return { rows, json };
};
