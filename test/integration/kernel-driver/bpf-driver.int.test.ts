/**
 * The `bpf` driver on this machine's own kernel, with real bpf() calls (root). What this build
 * host allows (real-kernels.md: a 6.18 Firecracker microVM with lockdown; no trampolines, no
 * kprobes): the probe's refusals with their real errnos, the kernel's BTF object ids, bpffs
 * mounted and a per-node pin layout found again after a restart (with raw tracepoint links and
 * programs, which this kernel does allow), links of other tools seen but never claimed, and an
 * agent on the driver recording the kernel's refusal and nothing attached.
 *
 * What only the VM tier can prove (the successful rungs: 7.3 tracing multi-link, 6.12
 * kprobe.multi, 6.1 fentry per function; the trampoline budget) runs there through
 * kernel-driver.contract.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus, silentLogger } from '../../../shared/src/infra/index.js';
import type { FleetBus } from '../../../shared/src/infra/index.js';
import { createAgent } from '../../../services/agent/src/app.js';
import { openNodeKernel } from '../../../services/agent/src/kernel/node-kernel.factory.js';
import type { BpfKernelDriver } from '../../../services/agent/src/kernel-driver/index.js';
import { createBpfKernelDriver } from '../../../services/agent/src/kernel-driver/index.js';
import {
  BpfCmd,
  BpfProgType,
  closeFd,
  errnoName,
  unmountFs,
} from '../../../services/agent/src/kernel-driver/bpf/bpf-syscall.js';
import {
  TRIVIAL_PROGRAM,
  allIds,
  getFdById,
  progInfo,
  progLoad,
  rawTracepointOpen,
  linkInfo,
} from '../../../services/agent/src/kernel-driver/bpf/bpf-commands.js';
import {
  bpffsMounts,
  ensureBpffs,
  makePinDirs,
  pinAs,
  pinLayout,
} from '../../../services/agent/src/kernel-driver/bpf/bpf-fs.js';
import {
  kernelBtfObjects,
  kernelLinks,
} from '../../../services/agent/src/kernel-driver/bpf/bpf-introspect.js';
import {
  loadObjectProgram,
  objectPrograms,
} from '../../../services/agent/src/kernel-driver/bpf/bpf-libbpf.js';
import {
  cookieCounter,
  cookieCounterMap,
  countOf,
  watchCookie,
} from '../../../services/agent/src/kernel-driver/bpf/bpf-programs.js';
import { testAssignmentKeys } from '../../support/assignment-keys.js';
import { waitUntil } from '../../support/wait-until.js';
import { assignmentOf, fakeCoordinator } from '../agent/agent-harness.js';
import { bpfUnavailable } from './bpf-host.js';

const why = bpfUnavailable();
if (why !== undefined) console.warn(`bpf driver tests skipped: ${why}`);

/** A raw tracepoint link on sys_enter (allowed here): [prog fd, link fd]. */
const rawTpLink = (name: string): [number, number] => {
  const prog = progLoad({ progType: BpfProgType.RAW_TRACEPOINT, insns: TRIVIAL_PROGRAM, name });
  if (!prog.ok) throw new Error(`raw_tp load: ${prog.name}`);
  const link = rawTracepointOpen(prog.value, 'sys_enter');
  if (!link.ok) throw new Error(`raw_tp open: ${link.name}`);
  return [prog.value, link.value];
};

/** The ids of the programs whose name starts with `prefix`. */
const progsNamed = (prefix: string): number[] => {
  const ids = allIds(BpfCmd.PROG_GET_NEXT_ID);
  if (!ids.ok) throw new Error(ids.name);
  return ids.value.filter((id) => {
    const fd = getFdById(BpfCmd.PROG_GET_FD_BY_ID, id);
    if (!fd.ok) return false;
    const info = progInfo(fd.value);
    closeFd(fd.value);
    return info.ok && info.value.name.startsWith(prefix);
  });
};

describe.skipIf(why !== undefined)("bpf driver on this machine's kernel", () => {
  let root: string;
  const drivers: BpfKernelDriver[] = [];
  const fds: number[] = [];
  const open = async (nodeId = 'node-a'): Promise<BpfKernelDriver> => {
    const d = await createBpfKernelDriver({ nodeId, bpffs: root });
    if (!d.ok) throw new Error(d.error.join('\n'));
    drivers.push(d.value);
    return d.value;
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tw-bpffs-'));
  });
  afterEach(async () => {
    for (const d of drivers.splice(0)) await d.close();
    for (const fd of fds.splice(0).reverse()) closeFd(fd);
    if (bpffsMounts().includes(root)) expect(unmountFs(root).ok).toBe(true);
    rmSync(root, { recursive: true, force: true });
  });

  it("probes the ladder by trying and reports each refusal with the kernel's real errno", async () => {
    const driver = await open();
    const d = await driver.describe();

    expect(d.mode).toBe('bpf');
    expect(d.probe?.steps.length).toBeGreaterThan(0);
    for (const s of d.probe!.steps) if (!s.ok) expect(errnoName(s.errnoNumber!)).toBe(s.errno);
    expect(progsNamed('tw_probe_')).toEqual([]);
    if (d.attachPath !== 'none') return; // a kernel with a tracing path: the VM tier's case
    // this build host (real-kernels.md): no rung works, each refused where and how it measured
    const rung = (path: string) => d.probe!.steps.filter((s) => s.path === path);
    expect(d.probedProfile).toBe('none');
    expect(d.trampolineBudget).toBeUndefined();
    const multi = rung('tracing-multi');
    expect(multi).toHaveLength(1);
    expect(multi[0]).toMatchObject({ step: 'prog_load', ok: false });
    // a kernel without the multi UAPI reads type 59 as an unknown tracing type: EINVAL with the
    // verifier's own line; one with it refuses the trampoline program like fentry: EPERM
    if (multi[0]!.errno === 'EINVAL')
      expect(multi[0]!.log?.join('\n')).toContain('Tracing programs must provide btf_id');
    else expect(multi[0]!.errno).toBe('EPERM');
    expect(rung('fentry-per-function')).toEqual([
      {
        path: 'fentry-per-function',
        step: 'prog_load',
        ok: false,
        errno: 'EPERM',
        errnoNumber: 1,
        log: [],
      },
    ]);
    expect(rung('kprobe-multi')).toEqual([
      { path: 'kprobe-multi', step: 'prog_load', ok: true },
      {
        path: 'kprobe-multi',
        step: 'link_create',
        ok: false,
        errno: 'EOPNOTSUPP',
        errnoNumber: 95,
      },
    ]);
  });

  it('is what the agent opens for KERNEL=bpf, pinning under its node id', async () => {
    const kernel = await openNodeKernel({
      kernel: 'bpf',
      nodeId: 'node-f',
      bpffs: root,
      simKernel: '',
      hostRoot: undefined,
    });
    if (!kernel.ok) throw new Error(kernel.error.join('\n'));
    drivers.push(kernel.value.driver as BpfKernelDriver);

    expect((await kernel.value.driver.describe()).mode).toBe('bpf');
    expect(kernel.value.driver.outlivesProcess).toBe(true);
    expect((kernel.value.driver as BpfKernelDriver).layout.links).toBe(
      join(root, 'tramway', 'node-f', 'links'),
    );
  });

  it("reads the kernel's BTF object ids and BTF ids back, as bpftool sees them", async () => {
    const driver = await open();
    const objects = kernelBtfObjects();
    if (!objects.ok) throw new Error(objects.name);
    const vmlinux = objects.value.find((o) => o.name === 'vmlinux');
    const resolved = await driver.resolve(['bpf_fentry_test1'], { attach: 'fentry' });

    expect(vmlinux?.id).toBeGreaterThan(0);
    expect(resolved.ok).toBe(true);
    const btfId = resolved.ok ? resolved.value.targets[0]!.btfId : 0;
    expect(btfId).toBeGreaterThan(0);
    // every module the model knows carries the kernel's id for its BTF (none on this host)
    for (const m of await driver.modules())
      expect(m.btfObjId).toBe(objects.value.find((o) => o.name === m.name)?.id ?? 0);
    if (!existsSync('/usr/sbin/bpftool')) return;
    const listed = JSON.parse(
      execFileSync('/usr/sbin/bpftool', ['-j', 'btf', 'list']).toString(),
    ) as {
      id: number;
      name?: string;
    }[];
    expect(listed.find((b) => b.name === 'vmlinux')?.id).toBe(vmlinux!.id);
    const line = execFileSync('/usr/sbin/bpftool', ['btf', 'dump', 'id', String(vmlinux!.id)], {
      maxBuffer: 1 << 30,
    })
      .toString()
      .split('\n')
      .find((l) => l.includes("FUNC 'bpf_fentry_test1'"));
    expect(line).toMatch(new RegExp(`^\\[${btfId}\\] FUNC 'bpf_fentry_test1'`));
  });

  it('mounts bpffs where there is none, pins under a per-node layout, finds its pins after a restart and unpins on release', async () => {
    expect(bpffsMounts()).not.toContain(root);
    const mounted = ensureBpffs(root);
    expect(mounted).toEqual({ ok: true, value: { root, mounted: true } });
    expect(bpffsMounts()).toContain(root);
    expect(ensureBpffs(root)).toEqual({ ok: true, value: { root, mounted: false } });
    // the previous agent process: a link and its program pinned under node-a's layout, then exit
    const layout = pinLayout(root, 'node-a');
    expect(makePinDirs(layout).ok).toBe(true);
    const [prog, link] = rawTpLink('tw_pinned');
    const linkId = (linkInfo(link) as { ok: true; value: { id: number } }).value.id;
    const progId = (progInfo(prog) as { ok: true; value: { id: number } }).value.id;
    expect(pinAs(layout.links, linkId, link).ok).toBe(true);
    expect(pinAs(layout.progs, progId, prog).ok).toBe(true);
    closeFd(link);
    closeFd(prog);
    // another tool's link (not under the layout), and another node's pin
    const [otherProg, other] = rawTpLink('tw_other_tool');
    fds.push(otherProg, other);
    const otherId = (linkInfo(other) as { ok: true; value: { id: number } }).value.id;
    const b = pinLayout(root, 'node-b');
    expect(makePinDirs(b).ok).toBe(true);
    const [bProg, bLink] = rawTpLink('tw_node_b');
    fds.push(bProg, bLink);
    const bId = (linkInfo(bLink) as { ok: true; value: { id: number } }).value.id;
    expect(pinAs(b.links, bId, bLink).ok).toBe(true);

    // the agent restarts: a new driver finds node-a's pins, and only them, as its own
    const driver = await open('node-a');
    const dump = await driver.dump();
    expect(dump.links.map((l) => l.id)).toEqual([linkId]);
    expect(dump.progs).toEqual([{ id: progId, name: 'tw_pinned', loaded: false }]);
    const seen = await driver.nodeLinks();
    if (!seen.ok) throw new Error(seen.reason);
    const byId = new Map(seen.value.map((l) => [l.info.id, l]));
    expect(byId.get(linkId)).toMatchObject({ own: true, typeName: 'raw_tracepoint' });
    expect(byId.get(otherId)).toMatchObject({ own: false, typeName: 'raw_tracepoint' });
    expect(byId.get(bId)?.own).toBe(false);
    expect(byId.get(otherId)?.fdinfo?.fields).toMatchObject({
      link_type: 'raw_tracepoint',
      link_id: String(otherId),
    });
    const text = await driver.apply({ op: 'fdinfo', link: otherId });
    expect(text.ok && text.value !== null && 'text' in text.value ? text.value.text : '').toMatch(
      /^link_type:\traw_tracepoint$/m,
    );

    // release: the pin was the link's last hold, so the kernel frees it
    expect(await driver.apply({ op: 'link_unpin', link: linkId })).toEqual({
      ok: true,
      value: null,
    });
    const after = kernelLinks();
    expect(after.ok && after.value.map((l) => l.info.id)).not.toContain(linkId);
    expect((await driver.dump()).links).toEqual([]);
    const again = await driver.apply({ op: 'link_unpin', link: linkId });
    expect(again).toMatchObject({ ok: false, errno: 'ENOENT' });
    // the other tool's and node-b's links are untouched
    expect(after.ok && after.value.map((l) => l.info.id)).toEqual(
      expect.arrayContaining([otherId, bId]),
    );
  });

  it("an agent on it records the kernel's refusal with the real errno and nothing attached that is not", async () => {
    const driver = await open('node-r');
    const d = await driver.describe();
    if (d.attachPath !== 'none') return; // attaching for real is the VM tier's case
    const bus: FleetBus = createInProcessBus();
    const coord = fakeCoordinator(bus);
    coord.latest.set(
      'node-r',
      assignmentOf('node-r', 1, [
        {
          name: 'fentry-test',
          version: 1,
          spec: {
            program: { name: 'counter', attach: 'fentry' },
            targets: [
              { pattern: 'bpf_fentry_test1', cookie: 1 },
              { pattern: 'bpf_fentry_test2', cookie: 2 },
            ],
            strategy: 'auto',
          },
        },
      ]),
    );
    const agent = createAgent({
      nodeId: 'node-r',
      labels: {},
      bus,
      driver,
      clock: { now: () => new Date() },
      ids: { newId: () => `id-${Math.random()}` },
      logger: silentLogger,
      heartbeatMs: 50,
      requestTimeoutMs: 500,
      assignmentVerifyKey: testAssignmentKeys().publicKey,
    });
    try {
      expect(await agent.start()).toBeUndefined();
      await waitUntil('LinkCreateFailed', () => coord.ofType('LinkCreateFailed').length > 0);
      await waitUntil('reconciled', () => coord.ofType('NodeReconciled').length > 0);
      const failed = coord
        .ofType('LinkCreateFailed')
        .map((e) => e.data as { errno: number; reason: string });
      for (const f of failed) {
        expect([1, 22]).toContain(f.errno); // EPERM or EINVAL, as the probe measured
        expect(f.reason).toMatch(/BPF_PROG_LOAD .*: (EPERM \(1\)|EINVAL \(22\))/);
      }
      expect(coord.ofType('LinkCreated')).toEqual([]);
      expect(coord.ofType('KernelProfileDetected')[0]?.data).toMatchObject({ profile: 'none' });
      expect((await driver.dump()).links).toEqual([]);
      expect(progsNamed('counter')).toEqual([]);
    } finally {
      expect(await agent.stop()).toBeUndefined();
      coord.stop();
      await bus.close();
    }
  });

  it('the hand-assembled cookie counter counts each call under its own attach cookie (raw_tp with a cookie, allowed here)', () => {
    const map = cookieCounterMap(8);
    if (!map.ok) throw new Error(`map: ${map.name}`);
    fds.push(map.value);
    expect(watchCookie(map.value, 42n).ok).toBe(true);
    const prog = progLoad({
      progType: BpfProgType.RAW_TRACEPOINT,
      insns: cookieCounter(map.value),
      name: 'tw_counter',
    });
    if (!prog.ok) throw new Error(`load: ${prog.name} ${prog.log.join(' | ')}`);
    fds.push(prog.value);
    const link = rawTracepointOpen(prog.value, 'sys_enter', 42n);
    if (!link.ok) {
      // before Linux 6.10 raw_tp links take no cookie: the counter is then proven in the VM tier
      expect(link.name).toBe('E2BIG');
      return;
    }
    const before = countOf(map.value, 42n);
    for (let i = 0; i < 20; i++) existsSync('/'); // 20 syscalls of this thread at least
    const after = countOf(map.value, 42n);
    closeFd(link.value);

    expect(before.ok && after.ok).toBe(true);
    if (before.ok && after.ok) expect(after.value - before.value).toBeGreaterThanOrEqual(20n);
    expect(countOf(map.value, 7n)).toMatchObject({ ok: false, name: 'ENOENT' });
  });

  it('loads a compiled ELF object through libbpf (maps created, the named program only), and reports each refusal with its stage and errno', async () => {
    const built = buildObject();
    if (typeof built === 'string') {
      console.warn(`libbpf object test skipped: ${built}`);
      return;
    }
    expect(objectPrograms(built)).toEqual({ ok: true, value: ['count_packets', 'drop_all'] });

    const loaded = loadObjectProgram({ bytes: built, program: 'count_packets' });
    const missing = loadObjectProgram({ bytes: built, program: 'nope' });
    const garbage = loadObjectProgram({ bytes: Buffer.from('not an ELF object'), program: 'x' });

    expect(loaded.ok).toBe(true);
    if (loaded.ok) {
      fds.push(loaded.value);
      const info = progInfo(loaded.value);
      expect(info.ok && info.value).toMatchObject({
        name: 'count_packets',
        type: BpfProgType.SOCKET_FILTER,
      });
    }
    expect(missing).toMatchObject({
      ok: false,
      stage: 'find',
      errno: 2,
      programs: ['count_packets', 'drop_all'],
    });
    expect(garbage).toMatchObject({ ok: false, stage: 'open' });
    expect(progsNamed('drop_all')).toEqual([]);
    // the same object for a fentry program through the driver: the kernel's refusal, via libbpf
    const driver = await createBpfKernelDriver({
      nodeId: 'node-o',
      bpffs: root,
      programs: () => ({ kind: 'object', bytes: built, program: 'drop_all' }),
    });
    if (!driver.ok) throw new Error(driver.error.join('\n'));
    drivers.push(driver.value);
    if ((await driver.value.describe()).attachPath !== 'none') return;
    const refused = await driver.value.apply({
      op: 'prog_load',
      name: 'drop_all',
      attach: 'fentry',
      origin: { name: 'bpf_fentry_test1' },
      reads: [],
    });
    expect(refused).toMatchObject({ ok: false });
    if (!refused.ok) expect(refused.reason).toMatch(/^BPF_PROG_LOAD fentry .*: E[A-Z]+ \(\d+\)/);
  });
});

/** A small socket-filter object with a map, built with clang; the reason when it cannot be. */
const buildObject = (): Buffer | string => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-obj-'));
  try {
    writeFileSync(
      join(dir, 'sf.c'),
      [
        '#include <linux/bpf.h>',
        '#define SEC(n) __attribute__((section(n), used))',
        'struct { int (*type)[BPF_MAP_TYPE_ARRAY]; int (*max_entries)[1]; __u32 *key; __u64 *value; } counts SEC(".maps");',
        'static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;',
        'SEC("socket") int count_packets(struct __sk_buff *skb) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&counts, &k); if (v) __sync_fetch_and_add(v, 1); return 0; }',
        'SEC("socket") int drop_all(struct __sk_buff *skb) { return 0; }',
        'char _license[] SEC("license") = "GPL";',
      ].join('\n'),
    );
    execFileSync(
      'clang',
      [
        '-target',
        'bpf',
        '-O2',
        '-g',
        '-I/usr/include/x86_64-linux-gnu',
        '-c',
        join(dir, 'sf.c'),
        '-o',
        join(dir, 'sf.o'),
      ],
      { stdio: 'pipe' },
    );
    return readFileSync(join(dir, 'sf.o'));
  } catch (error) {
    return `clang could not build a BPF object: ${String(error).slice(0, 200)}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
