/**
 * The attach paths on stock Debian kernels under qemu (issue 9 item 3): one boot per kernel,
 * every check of that kernel inside it (test/vm/guest/bpf-guest.ts `checks`), then the facts it
 * printed asserted here. The guest's program counts calls per attach cookie in an array map;
 * BPF_PROG_TEST_RUN of a tracing program calls bpf_fentry_test1..N once each, so every function
 * must be counted exactly once under its own cookie.
 *
 * Then, in the same boot, the agent's `bpf` KernelDriver (services/agent/src/kernel-driver/bpf)
 * is created on that kernel (guest/driver-guest.ts): the path its probe chose and the trampoline
 * budget it measured are checked against what the loader above proved.
 *
 * Skipped, with the reason printed, when qemu or another tool is missing or a kernel cannot be
 * downloaded (test/vm/kernels.ts).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleGuest } from './guest-bundle.js';
import type { Kernel, KernelRelease } from './kernels.js';
import { fetchKernel, KernelUnavailableError } from './kernels.js';
import type { VmRun } from './vm.js';
import { buildInitramfs, runInVm, vmTierUnavailable } from './vm.js';

const DRIVER_GUEST = join(dirname(fileURLToPath(import.meta.url)), 'guest', 'driver-guest.ts');

const unavailable = vmTierUnavailable();
if (unavailable !== undefined) console.warn(`VM tier skipped: ${unavailable}`);

interface TestFunction {
  readonly name: string;
  readonly id: number;
}
interface PathResult {
  readonly kind: string;
  readonly path: string;
  readonly functions: number;
  readonly attached: number;
  readonly counts: number[];
  readonly fired: number;
  readonly errno: string | null;
  readonly linkTypes?: number[];
  readonly fdinfo?: string;
}
type Result = { kind: string } & Record<string, unknown>;

let initramfs: { path: string; remove: () => void } | undefined;

/** one boot of `release` running the guest's checks; the kernel's absence is a printed skip */
const bootChecks = async (
  release: KernelRelease,
): Promise<{ run: VmRun; kernel: Kernel } | { skipped: string }> => {
  let kernel: Kernel;
  try {
    kernel = fetchKernel(release);
  } catch (e) {
    if (e instanceof KernelUnavailableError) {
      console.warn(`VM tier: kernel ${release} skipped: ${e.message}`);
      return { skipped: e.message };
    }
    throw e;
  }
  initramfs ??= buildInitramfs({
    files: [
      { path: 'guest.mjs', contents: await bundleGuest() },
      { path: 'driver.mjs', contents: await bundleGuest(DRIVER_GUEST) },
    ],
  });
  const run = await runInVm({
    kernel: kernel.vmlinux,
    initramfs: initramfs.path,
    command: 'node guest.mjs checks && node driver.mjs',
    timeoutMs: 240_000,
  });
  if (run.exitCode !== 0) {
    throw new Error(
      `guest on ${release} exited ${run.exitCode} (timed out: ${run.timedOut}):\n` +
        `${JSON.stringify(run.results)}\n${run.logTail}`,
    );
  }
  return { run, kernel };
};

const byKind = (run: VmRun, kind: string): Result[] =>
  (run.results as Result[]).filter((r) => r.kind === kind);
const one = (run: VmRun, kind: string, path?: string): Result => {
  const found = byKind(run, kind).filter((r) => path === undefined || r.path === path);
  expect(found, `${kind} ${path ?? ''} lines`).toHaveLength(1);
  return found[0]!;
};

/** every function counted once, under its own cookie (cookie i+1 for the i-th function) */
const expectEachFiredOnce = (r: PathResult, fns: readonly TestFunction[]) => {
  expect(r.errno).toBeNull();
  expect(r.attached).toBe(fns.length);
  expect(r.counts).toEqual(fns.map(() => 1));
  expect(r.fired).toBe(fns.length);
};

/** the rows of a tracing_multi fdinfo: btf id -> cookie */
const fdinfoRows = (text: string): Map<number, { cookie: number; func: string }> => {
  const rows = new Map<number, { cookie: number; func: string }>();
  for (const line of text.split('\n')) {
    const m = /^(\d+)\t (\d+)\t (\d+)\t (\S+)$/.exec(line);
    if (m) rows.set(Number(m[2]), { cookie: Number(m[3]), func: m[4]! });
  }
  return rows;
};

describe.skipIf(unavailable !== undefined)(
  'attach paths on stock Debian kernels (qemu TCG)',
  () => {
    afterAll(() => initramfs?.remove());

    describe('Debian 7.3.4 (trixie-backports): the tracing multi-link', () => {
      let boot: Awaited<ReturnType<typeof bootChecks>>;
      let fns: TestFunction[] = [];
      beforeAll(async () => {
        boot = await bootChecks('7.3');
        if ('run' in boot) fns = one(boot.run, 'kernel').testFunctions as TestFunction[];
      });

      it('boots the downloaded kernel and finds bpf_fentry_test1..10 in its BTF', (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        expect(boot.run.guestRelease).toMatch(/^7\.3\.4/);
        expect(fns.map((f) => f.name)).toEqual(
          Array.from({ length: 10 }, (_v, i) => `bpf_fentry_test${i + 1}`),
        );
      });

      it('attaches one fentry.multi link (type 15) over all of them, each fired once with its cookie', (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        const r = one(boot.run, 'path', 'tracing_multi') as unknown as PathResult;
        expectEachFiredOnce(r, fns);
        expect(r.linkTypes).toEqual([15]);
        expect(r.fdinfo).toContain('link_type:\ttracing_multi\n');
        expect(r.fdinfo).toContain('attach_type:\t59\n');
        expect(r.fdinfo).toContain(`cnt:\t${fns.length}\n`);
        const rows = fdinfoRows(r.fdinfo ?? '');
        expect(rows.size).toBe(fns.length);
        fns.forEach((f, i) => {
          expect(rows.get(f.id)?.cookie, f.name).toBe(i + 1);
          expect(rows.get(f.id)?.func, f.name).toMatch(new RegExp(`^${f.name}\\+0x`));
        });
        const ladder = one(boot.run, 'ladder');
        expect(ladder.path).toBe('tracing_multi');
      });

      it('attaches fexit.multi the same way', (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        const r = one(boot.run, 'fexit_multi') as unknown as PathResult;
        expectEachFiredOnce(r, fns);
        expect(r.fdinfo).toContain('attach_type:\t60\n');
      });

      it('refuses duplicate ids with EINVAL and the 37th link on one function with E2BIG', (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        expect(one(boot.run, 'duplicate_ids')).toMatchObject({ ok: false, errno: 'EINVAL' });
        expect(one(boot.run, 'budget')).toMatchObject({ links: 36, failedAt: 37, errno: 'E2BIG' });
      });

      it("the agent's bpf driver probes the tracing multi-link and measures the budget 36", (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        expect(one(boot.run, 'driver')).toMatchObject({
          ok: true,
          path: 'tracing-multi',
          trampolineBudget: 36,
        });
      });

      it('also has one fentry link per function and kprobe.multi', (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        expectEachFiredOnce(one(boot.run, 'path', 'fentry') as unknown as PathResult, fns);
        expectEachFiredOnce(one(boot.run, 'path', 'kprobe_multi') as unknown as PathResult, fns);
      });
    });

    describe('Debian 6.12 (bookworm-backports): kprobe.multi, no tracing multi-link', () => {
      let boot: Awaited<ReturnType<typeof bootChecks>>;
      let fns: TestFunction[] = [];
      beforeAll(async () => {
        boot = await bootChecks('6.12');
        if ('run' in boot) fns = one(boot.run, 'kernel').testFunctions as TestFunction[];
      });

      it('attaches kprobe.multi (link type 8) with a cookie per function, each fired once', (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        expect(boot.run.guestRelease).toMatch(/^6\.12\./);
        expect(fns.length).toBeGreaterThanOrEqual(8);
        const r = one(boot.run, 'path', 'kprobe_multi') as unknown as PathResult;
        expectEachFiredOnce(r, fns);
        expect(r.linkTypes).toEqual([8]);
      });

      it('refuses the multi-link program (no BPF_TRACE_FENTRY_MULTI) and climbs down to fentry', (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        expect(one(boot.run, 'path', 'tracing_multi')).toMatchObject({
          attached: 0,
          errno: 'EINVAL',
        });
        expectEachFiredOnce(one(boot.run, 'path', 'fentry') as unknown as PathResult, fns);
        expect(one(boot.run, 'ladder').path).toBe('fentry');
        expect(one(boot.run, 'driver')).toMatchObject({ ok: true, path: 'fentry-per-function' });
      });
    });

    describe('Debian 6.1 (bookworm): one fentry link per function', () => {
      let boot: Awaited<ReturnType<typeof bootChecks>>;
      let fns: TestFunction[] = [];
      beforeAll(async () => {
        boot = await bootChecks('6.1');
        if ('run' in boot) fns = one(boot.run, 'kernel').testFunctions as TestFunction[];
      });

      it('attaches one fentry link (type 2) per function with its cookie, each fired once', (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        expect(boot.run.guestRelease).toMatch(/^6\.1\./);
        expect(fns.length).toBe(8);
        const r = one(boot.run, 'path', 'fentry') as unknown as PathResult;
        expectEachFiredOnce(r, fns);
        expect(r.linkTypes).toEqual(fns.map(() => 2));
        expect(one(boot.run, 'ladder').path).toBe('fentry');
        expect(one(boot.run, 'driver')).toMatchObject({ ok: true, path: 'fentry-per-function' });
      });

      it('reports EINVAL for the multi-link program and EOPNOTSUPP for kprobe.multi', (ctx) => {
        if ('skipped' in boot) return ctx.skip(boot.skipped);
        expect(one(boot.run, 'path', 'tracing_multi')).toMatchObject({
          attached: 0,
          errno: 'EINVAL',
        });
        expect(one(boot.run, 'path', 'kprobe_multi')).toMatchObject({
          attached: 0,
          errno: 'EOPNOTSUPP',
        });
      });
    });
  },
);
