/**
 * The committed example objects (examples/programs/objects) are what examples/programs/build.sh
 * gives: rebuilt here from the C sources with clang against this host's BTF, each object must
 * have the digest SHA256SUMS lists. Needs clang, llvm-strip, bpftool, libbpf headers and a BTF
 * (/sys/kernel/btf/vmlinux); without them, or with another clang than the one that built the
 * committed objects (CLANG_VERSION), the test is skipped with the reason printed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { programDigest } from '@tramway/shared/infra';
import { readBpfObject } from '@tramway/shared/btf';
import { makeTempDir } from '../../support/temp-dir.js';

const PROGRAMS = fileURLToPath(new URL('../../../examples/programs/', import.meta.url));
const OBJECTS = `${PROGRAMS}objects/`;
const BTF = '/sys/kernel/btf/vmlinux';

const has = (tool: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

const clangVersion = (): string | undefined =>
  has('clang')
    ? execFileSync('clang', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim()
    : undefined;

/** Why the rebuild cannot run here; undefined when it can. */
const skipReason = (): string | undefined => {
  const missing = ['clang', 'llvm-strip', 'bpftool'].filter((t) => !has(t));
  if (missing.length > 0) return `${missing.join(', ')} not installed`;
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf headers missing (libbpf-dev)';
  if (!existsSync(BTF)) return `no kernel BTF at ${BTF}`;
  const built = readFileSync(`${OBJECTS}CLANG_VERSION`, 'utf8').trim();
  const here = clangVersion();
  if (here !== built)
    return `the committed objects were built by "${built}", this machine has "${here}": their bytes may differ`;
  return undefined;
};

const sums = (): Map<string, string> =>
  new Map(
    readFileSync(`${OBJECTS}SHA256SUMS`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [hex, name] = line.split(/\s+/);
        return [name!, `sha256:${hex!}`] as const;
      }),
  );

describe('the committed example objects', () => {
  it('are listed in SHA256SUMS with their digests, and are BPF objects', () => {
    const listed = sums();
    const files = readdirSync(OBJECTS).filter((f) => f.endsWith('.bpf.o'));
    expect([...listed.keys()].sort()).toEqual(files.sort());
    for (const [name, digest] of listed) {
      const bytes = new Uint8Array(readFileSync(`${OBJECTS}${name}`));
      expect(programDigest(bytes)).toBe(digest);
      expect(readBpfObject(bytes).ok).toBe(true);
    }
    // one object per C source (func_stats.h is shared)
    const sources = readdirSync(PROGRAMS).filter((f) => f.endsWith('.bpf.c'));
    expect(sources.map((s) => s.replace(/\.c$/, '.o')).sort()).toEqual(files.sort());
  });

  const reason = skipReason();
  if (reason !== undefined) console.log(`example objects rebuild skipped: ${reason}`);
  const out = makeTempDir('tramway-examples-build-');
  afterAll(() => out.remove());

  it.skipIf(reason !== undefined)(
    'are what build.sh gives: the same digest for each',
    () => {
      execFileSync('sh', [`${PROGRAMS}build.sh`, '--btf', BTF, '--out', out.path], {
        stdio: 'pipe',
      });
      for (const [name, digest] of sums())
        expect(programDigest(new Uint8Array(readFileSync(out.file(name))))).toBe(digest);
    },
    60_000,
  );
});
