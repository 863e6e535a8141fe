/**
 * The VM tier's guest loader run on this host's own kernel (no VM): whatever the kernel allows,
 * nothing is reported attached that is not. Every rung of the ladder either attached every
 * function and counted each call once under its cookie, or attached nothing and names the real
 * errno; the chosen path is the first rung that attached ('none' when none did). On the build
 * hosts (6.18 microVM, real-kernels.md) every trampoline program is refused at load (EPERM) and
 * kprobe.multi with EOPNOTSUPP, so the ladder is 'none' there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleGuest } from './guest-bundle.js';
import { RESULT_MARKER } from './vm.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const hostUnavailable = (): string | undefined => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'not Linux x86_64';
  if (process.getuid?.() !== 0) return 'not root (bpf() needs CAP_BPF and CAP_PERFMON)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no /sys/kernel/btf/vmlinux';
  if (!existsSync(join(ROOT, 'node_modules', 'koffi'))) return 'koffi is not installed';
  return undefined;
};
const unavailable = hostUnavailable();
if (unavailable !== undefined) console.warn(`host ladder skipped: ${unavailable}`);

interface Step {
  readonly kind: string;
  readonly path: string;
  readonly functions: number;
  readonly attached: number;
  readonly counts: number[];
  readonly errno: string | null;
}

describe.skipIf(unavailable !== undefined)('the guest loader on this host kernel', () => {
  it('reports each rung truthfully: all attached and counted once, or nothing and an errno', async () => {
    // inside the repo, so that the bundle resolves koffi from node_modules
    const dir = join(ROOT, '.tmp', 'vm-host-ladder');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'guest.mjs'), await bundleGuest());
    const r = spawnSync(process.execPath, [join(dir, 'guest.mjs'), 'checks'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const lines = r.stdout
      .split('\n')
      .filter((l) => l.startsWith(RESULT_MARKER))
      .map(
        (l) =>
          JSON.parse(l.slice(RESULT_MARKER.length)) as { kind: string } & Record<string, unknown>,
      );
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    const steps = lines.filter((l) => l.kind === 'path') as unknown as Step[];
    expect(steps.map((s) => s.path)).toEqual(['tracing_multi', 'fentry', 'kprobe_multi']);
    for (const s of steps) {
      if (s.errno === null) {
        expect(s.attached, s.path).toBe(s.functions);
        expect(s.counts, s.path).toEqual(Array.from({ length: s.functions }, () => 1));
      } else {
        expect(s.errno, s.path).toMatch(/^E[A-Z0-9]+$/);
        expect(s.attached, s.path).toBe(0);
        expect(s.counts, s.path).toEqual([]);
      }
    }
    const ladder = lines.find((l) => l.kind === 'ladder');
    expect(ladder?.path).toBe(steps.find((s) => s.errno === null)?.path ?? 'none');
    console.log(`host ladder: ${steps.map((s) => `${s.path} ${s.errno ?? 'ok'}`).join(', ')}`);
  });
});
