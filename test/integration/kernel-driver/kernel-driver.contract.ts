/**
 * The KernelDriver conformance suite (STYLE.md §8 "Contract suites"): `sim`, `host` and `bpf`
 * run it unchanged. A driver under test names two vmlinux functions it can attach to; the suite
 * checks what every driver must do, whatever its kernel allows:
 * - it describes itself (mode, path, objects);
 * - patterns resolve to the node's functions with BTF ids; a bad pattern is refused as data;
 * - on a path it claims (anything but a `bpf` driver reporting `none`), a program loads and one
 *   link connects both functions with their cookies, keyed by (BTF object id, BTF id); the link
 *   is in `dump()` until it is unpinned and released, then gone;
 * - a `bpf` driver on a kernel without any tracing path refuses with a real errno and never shows
 *   a link it did not make;
 * - refusals (unknown program, unknown link) are data, never exceptions; a closed driver rejects.
 *
 * Runnable as a plain vitest file given a factory (the VM tier imports it inside the guests).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KernelDriver } from '../../../services/agent/src/kernel-driver/index.js';
import { ATTACH_PATHS } from '../../../shared/src/lib/index.js';

export interface DriverUnderTest {
  readonly driver: KernelDriver;
  /** two functions in vmlinux the suite attaches to (bpf_fentry_test1/2 on real kernels) */
  readonly functions: readonly [string, string];
  /** cleans up after the driver is closed (unmounts, removes directories) */
  readonly cleanup?: () => void;
}

export type KernelDriverFactory = () => Promise<DriverUnderTest>;

const COOKIES = [0x1111n, 0xfeed_0000_0000_0002n] as const;

export const testKernelDriver = (name: string, factory: KernelDriverFactory): void => {
  describe(`KernelDriver contract: ${name}`, () => {
    let sut: DriverUnderTest;
    let closed = false;

    beforeEach(async () => {
      sut = await factory();
      closed = false;
    });
    afterEach(async () => {
      if (!closed) expect(await sut.driver.close()).toBeUndefined();
      sut.cleanup?.();
    });

    it('describes its node: a mode, a path of the ladder or none, and a vmlinux with functions', async () => {
      const d = await sut.driver.describe();

      expect(['sim', 'host', 'bpf']).toContain(d.mode);
      expect([...ATTACH_PATHS, 'none']).toContain(d.attachPath);
      const vmlinux = d.objects.find((o) => o.kind === 'vmlinux');
      expect(vmlinux?.functions).toBeGreaterThan(0);
    });

    it('resolves patterns to the functions with their BTF ids, and refuses a bad pattern as data', async () => {
      const [f1, f2] = sut.functions;

      const r = await sut.driver.resolve([f1, f2], { attach: 'fentry.multi' });
      const bad = await sut.driver.resolve(['vmlinux:'], { attach: 'fentry.multi' });

      expect(r.ok).toBe(true);
      const targets = r.ok ? r.value.targets : [];
      expect(targets.map((t) => t.name).sort()).toEqual([f1, f2].sort());
      for (const t of targets) expect(t.btfId).toBeGreaterThan(0);
      expect(bad.ok).toBe(false);
    });

    it('attaches on a path it claims, with a cookie per target, and lets go again; else refuses with an errno and shows nothing', async () => {
      const d = await sut.driver.describe();
      const [f1, f2] = sut.functions;
      const resolved = await sut.driver.resolve([f1, f2], { attach: 'fentry.multi' });
      if (!resolved.ok) throw new Error(resolved.error);
      const ids = new Map(resolved.value.targets.map((t) => [t.name, t.btfId]));
      const before = (await sut.driver.dump()).links.map((l) => l.id);
      const perFunction = d.attachPath === 'fentry-per-function';
      const claims = !(d.mode === 'bpf' && d.attachPath === 'none');

      const loaded = await sut.driver.apply({
        op: 'prog_load',
        name: 'contract',
        attach: perFunction ? 'fentry' : 'fentry.multi',
        ...(perFunction ? { origin: { object: 'vmlinux', btfId: ids.get(f1)! } } : {}),
        reads: [],
      });
      const progId =
        loaded.ok && loaded.value !== null && 'progId' in loaded.value ? loaded.value.progId : 0;
      const targets = (perFunction ? [f1] : [f1, f2]).map((f) => ({
        object: 'vmlinux',
        btfId: ids.get(f)!,
      }));
      const linked = loaded.ok
        ? await sut.driver.apply({
            op: 'link_create',
            prog: progId,
            targets,
            cookies: COOKIES.slice(0, targets.length),
          })
        : loaded;

      if (!claims) {
        // a real kernel without a tracing path: a refusal with the kernel's errno, no link
        expect(linked.ok).toBe(false);
        if (!linked.ok) {
          expect(linked.errno).toMatch(/^E[A-Z0-9]+$/);
          expect(linked.reason).toContain(linked.errno);
        }
        expect((await sut.driver.dump()).links.map((l) => l.id)).toEqual(before);
        if (loaded.ok) await sut.driver.apply({ op: 'prog_release', prog: progId });
        return;
      }
      expect(loaded.ok).toBe(true);
      expect(linked.ok).toBe(true);
      if (!linked.ok || linked.value === null || !('linkId' in linked.value)) return;
      const { linkId, connections } = linked.value;
      expect(connections.map((c) => [c.function, c.btfId, c.cookie]).sort()).toEqual(
        (perFunction ? [f1] : [f1, f2]).map((f, i) => [f, ids.get(f), COOKIES[i]]).sort(),
      );
      for (const c of connections) expect(c.objId).toBeGreaterThan(0);

      expect((await sut.driver.apply({ op: 'link_pin', link: linkId })).ok).toBe(true);
      expect((await sut.driver.apply({ op: 'prog_release', prog: progId })).ok).toBe(true);
      const during = await sut.driver.dump();
      const listed = during.links.find((l) => l.id === linkId);
      expect(listed?.connections.map((c) => c.cookie).sort()).toEqual(
        [...COOKIES.slice(0, targets.length)].sort(),
      );
      // kprobe.multi connects no trampoline; every other path shows its link on each function's
      if (listed?.type !== 'kprobe_multi') {
        const held = during.trampolines.filter((t) => t.fentry.some((s) => s.link === linkId));
        expect(held.map((t) => t.function).sort()).toEqual((perFunction ? [f1] : [f1, f2]).sort());
      }

      expect((await sut.driver.apply({ op: 'link_unpin', link: linkId })).ok).toBe(true);
      expect((await sut.driver.apply({ op: 'link_release', link: linkId })).ok).toBe(true);
      const after = await sut.driver.dump();
      expect(after.links.map((l) => l.id)).not.toContain(linkId);
      expect(after.trampolines.some((t) => t.fentry.some((s) => s.link === linkId))).toBe(false);
    });

    it('refuses operations on programs and links it does not know as data, never by throwing', async () => {
      const link = await sut.driver.apply({
        op: 'link_create',
        prog: 987_654,
        targets: [{ name: sut.functions[0] }],
      });
      const release = await sut.driver.apply({ op: 'link_release', link: 987_654 });

      expect(link.ok).toBe(false);
      expect(release.ok).toBe(false);
      if (!link.ok) expect(link.errno).toMatch(/^E[A-Z0-9]+$/);
    });

    it('rejects every operation once closed', async () => {
      expect(await sut.driver.close()).toBeUndefined();
      closed = true;

      await expect(sut.driver.apply({ op: 'link_release', link: 1 })).rejects.toThrow(/closed/);
    });
  });
};
