/**
 * Event-log benchmark driver: `npm run bench:eventlog -- [--events N] [--json] [--only a,b]`.
 *
 * Runs each section (bench/eventlog/*.ts) in order, prints one table (name, value, unit, baseline,
 * ratio) and, with `--json`, one JSON object merging every section's `json`. A section compares
 * against a baseline it measures in the same run, so ratios stay meaningful on a noisy machine.
 * `--events` (default 1,000,000) is the SQLite size; each section documents how it scales it.
 *
 * To add a section: one import below and one entry in SECTIONS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as append from './eventlog/append.js';
import * as jetstream from './eventlog/jetstream.js';
import * as jetstreamSecurity from './eventlog/jetstream-security.js';
import * as replay from './eventlog/replay.js';
import * as audit from './eventlog/audit.js';

export interface BenchOptions {
  readonly events: number;
  readonly dir: string;
}
export interface BenchRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: number;
  readonly ratio?: number;
}
export interface BenchSection {
  readonly rows: BenchRow[];
  readonly json: Record<string, number>;
}
type Section = {
  readonly name: string;
  readonly run: (options: BenchOptions) => Promise<BenchSection>;
};

const SECTIONS: readonly Section[] = [
  { name: 'append', run: append.run },
  { name: 'jetstream', run: jetstream.run },
  { name: 'jetstream-security', run: jetstreamSecurity.run },
  { name: 'replay', run: replay.run },
  { name: 'audit', run: audit.run },
];

const DEFAULT_EVENTS = 1_000_000;

const parseArgs = (
  args: readonly string[],
): { events: number; json: boolean; only: readonly string[] | undefined } => {
  let events = DEFAULT_EVENTS;
  let json = false;
  let only: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') json = true;
    else if (arg === '--events') {
      events = Number(args[++i]);
      if (!Number.isSafeInteger(events) || events < 1000) {
        throw new Error(`--events needs an integer >= 1000, got ${args[i]}`);
      }
    } else if (arg === '--only') {
      only = (args[++i] ?? '').split(',').filter((s) => s.length > 0);
      const unknown = only.filter((name) => !SECTIONS.some((s) => s.name === name));
      if (unknown.length > 0) {
        throw new Error(
          `--only: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}`,
        );
      }
    } else
      throw new Error(
        `unknown argument ${arg}; usage: eventlog.bench.ts [--events N] [--json] [--only a,b]`,
      );
  }
  return { events, json, only };
};

const format = (value: number): string =>
  Number.isInteger(value)
    ? value.toLocaleString('en-US')
    : value.toLocaleString('en-US', { maximumFractionDigits: 3 });

const printTable = (rows: readonly BenchRow[]): void => {
  const cells = rows.map((r) => [
    r.name,
    format(r.value),
    r.unit,
    r.baseline === undefined ? '' : format(r.baseline),
    r.ratio === undefined ? '' : r.ratio.toFixed(2),
  ]);
  const header = ['measure', 'value', 'unit', 'baseline', 'ratio'];
  const widths = header.map((h, c) =>
    Math.max(h.length, ...cells.map((row) => row[c]?.length ?? 0)),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, c) =>
        c === 0 || c === 2 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0),
      )
      .join('  ');
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
};

const main = async (): Promise<number> => {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'tramway-bench-eventlog-'));
  const rows: BenchRow[] = [];
  const json: Record<string, number> = {};
  try {
    for (const section of SECTIONS) {
      if (args.only !== undefined && !args.only.includes(section.name)) continue;
      process.stderr.write(`[eventlog bench] ${section.name} (events=${args.events})...\n`);
      const result = await section.run({ events: args.events, dir });
      rows.push(...result.rows);
      Object.assign(json, result.json);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
  if (args.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  return 0;
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `eventlog bench failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
