/**
 * `npm run bench:glob [-- --json]`
 *
 * The function-pattern matcher (`compileGlob`, a two-pointer glob walk) against the backtracking regular
 * expression it replaced (rebuilt here, for the comparison only). Rows:
 * - `typical`: 'tcp_*', '*_rcv', 'nf_tables:nft_*' and a class against 60 000 kernel-like names;
 * - `N stars, 23 chars`: '*a' repeated, then '*c*b' (N stars in all) against 22 'a' then 'b': a
 *   failing match, which took the regular expression 19 s at 12 stars (capped at 8 here);
 * - `64 stars, 200 chars`: the new matcher alone (the old one would not finish).
 * Each row is the median of 5 runs; ratio = old / new (above 1: the new one is faster).
 */
import { performance } from 'node:perf_hooks';
import { compileGlob } from '@tramway/shared/btf';
import { legacyGlobRegex } from '../test/support/legacy-glob.js';

const RUNS = 5;
const json = process.argv.includes('--json');

/** The former compiler, as a matcher. */
const legacyMatcher = (glob: string): ((name: string) => boolean) => {
  const re = legacyGlobRegex(glob);
  return (name) => re.test(name);
};

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const timeMs = (f: () => unknown): number => {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return median(times);
};

interface Row {
  name: string;
  newMs: number;
  oldMs?: number;
  ratio?: number;
}

const compare = (
  name: string,
  globs: readonly string[],
  names: readonly string[],
  old = true,
): Row => {
  const count = (matchers: readonly ((n: string) => boolean)[]): number =>
    names.filter((n) => matchers.some((m) => m(n))).length;
  const compiled = globs.map((g) => {
    const c = compileGlob(g);
    if (!c.ok) throw new Error(c.error);
    return c.value;
  });
  const newMs = timeMs(() => count(compiled));
  if (!old) return { name, newMs };
  const legacy = globs.map(legacyMatcher);
  if (count(legacy) !== count(compiled)) throw new Error(`${name}: old and new disagree`);
  const oldMs = timeMs(() => count(legacy));
  return { name, newMs, oldMs, ratio: oldMs / newMs };
};

const prefixes = ['tcp_', 'udp_', 'nft_', 'bpf_', 'ext4_', 'xfs_', '__sys_', 'do_'];
const kernelNames = Array.from(
  { length: 60_000 },
  (_, i) => `${prefixes[i % prefixes.length]}fn_${i.toString(36)}${i % 7 === 0 ? '_rcv' : ''}`,
);
const rows: Row[] = [
  compare(
    'typical (4 globs, 60000 names)',
    ['tcp_*', '*_rcv', 'nft_*', 'ext4_[a-f]*'],
    kernelNames,
  ),
  ...[4, 6, 8].map((stars) =>
    compare(`${stars} stars, 23 chars`, [`${'*a'.repeat(stars - 1)}*c*b`], [`${'a'.repeat(22)}b`]),
  ),
  compare(
    '64 stars, 200 chars (new only)',
    [`${'*a'.repeat(62)}*c*b`],
    [`${'a'.repeat(199)}b`],
    false,
  ),
];

if (json) console.log(JSON.stringify({ runs: RUNS, rows }, null, 2));
else
  for (const r of rows)
    console.log(
      `${r.name.padEnd(34)} new ${r.newMs.toFixed(3).padStart(9)} ms` +
        (r.oldMs === undefined
          ? ''
          : `   old ${r.oldMs.toFixed(3).padStart(9)} ms   old/new ${r.ratio!.toFixed(1)}x`),
    );
