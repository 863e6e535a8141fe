import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBtf, parseBtf } from '../../../shared/src/btf/index.js';
import { createHostKernelDriver } from '../../../services/agent/src/kernel-driver/index.js';
import { smallModule, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

describe('createHostKernelDriver (shadow mode) on a fixture root', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tramway-driver-'));
    const vmlinux = encodeBtf(smallVmlinux());
    const base = parseBtf(vmlinux, { name: 'vmlinux', kind: 'vmlinux' });
    if (!base.ok) throw new Error(base.error.message);
    await mkdir(join(root, 'sys/kernel/btf'), { recursive: true });
    await mkdir(join(root, 'proc'), { recursive: true });
    await writeFile(join(root, 'sys/kernel/btf/vmlinux'), vmlinux);
    await writeFile(
      join(root, 'sys/kernel/btf/nf_tables'),
      encodeBtf(smallModule(), { base: base.value }),
    );
    await writeFile(
      join(root, 'proc/kallsyms'),
      'ffffffff81000000 T tcp_v4_rcv\nffffffffc0001000 t nft_do_chain\t[nf_tables]\n',
    );
    await writeFile(
      join(root, 'proc/modules'),
      'nf_tables 4096 0 - Unloading 0xffffffffc0000000\n',
    );
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lists a live module with the BTF object id the model gave it, and exposes its state', async () => {
    // Given the same BTF with nf_tables Live in /proc/modules
    const live = await mkdtemp(join(tmpdir(), 'tramway-driver-live-'));
    try {
      await mkdir(join(live, 'sys/kernel/btf'), { recursive: true });
      await mkdir(join(live, 'proc'), { recursive: true });
      const vmlinux = encodeBtf(smallVmlinux());
      const base = parseBtf(vmlinux, { name: 'vmlinux', kind: 'vmlinux' });
      if (!base.ok) throw new Error(base.error.message);
      await writeFile(join(live, 'sys/kernel/btf/vmlinux'), vmlinux);
      await writeFile(
        join(live, 'sys/kernel/btf/nf_tables'),
        encodeBtf(smallModule(), { base: base.value }),
      );
      await writeFile(join(live, 'proc/modules'), 'nf_tables 4096 0 - Live 0xffffffffc0000000\n');
      const made = await createHostKernelDriver({ root: live });
      if (!made.ok) throw new Error(JSON.stringify(made.error));
      // When the agent asks for the module listing
      const modules = await made.value.modules();
      // Then nf_tables is live with a real (non-zero, non-vmlinux) BTF object id, the model's own
      expect(modules).toHaveLength(1);
      expect(modules[0]).toMatchObject({ name: 'nf_tables', state: 'live' });
      expect(modules[0]!.btfObjId).toBeGreaterThan(1);
      expect(made.value.state()?.modules.get('nf_tables')?.objId).toBe(modules[0]!.btfObjId);
    } finally {
      await rm(live, { recursive: true, force: true });
    }
  });

  it('builds the model from the real files: addresses from kallsyms, module state from /proc/modules', async () => {
    const made = await createHostKernelDriver({ root });
    if (!made.ok) throw new Error(JSON.stringify(made.error));
    const driver = made.value;
    const d = await driver.describe();
    expect(d).toMatchObject({ mode: 'host', profile: 'v26', probedProfile: 'v26' });
    expect(d.objects.map((o) => o.name)).toEqual(['vmlinux', 'nf_tables']);
    const r = await driver.resolve(['*'], { attach: 'fentry.multi' });
    expect(
      r.ok && r.value.targets.map((t) => `${t.object}:${t.name} ${t.ok ? 'ok' : t.errno}`),
    ).toEqual([
      'vmlinux:tcp_v4_rcv ok',
      'vmlinux:_printk EINVAL',
      'vmlinux:skb_weird ENOENT',
      'vmlinux:bpf_kprobe_multi_link_attach ENOENT',
      'nf_tables:nft_do_chain ESRCH',
      'nf_tables:tcp_v4_rcv ESRCH',
    ]);
    // nf_tables is unloading: its BTF object is not loaded in the model, so no program loads against it
    expect(r.ok && r.value.loads.map((l) => `${l.object} ${l.ok ? 'ok' : l.errno}`)).toEqual([
      'vmlinux ok',
      'nf_tables ESRCH',
    ]);
  });

  it('fails as data, listing why, when there is no vmlinux BTF', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'tramway-driver-empty-'));
    try {
      const made = await createHostKernelDriver({ root: empty });
      expect(made.ok).toBe(false);
      if (!made.ok) expect(made.error.map((u) => u.source)).toContain('vmlinux-btf');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

const hasHostBtf = existsSync('/sys/kernel/btf/vmlinux');
if (!hasHostBtf) console.warn('skipping the host driver test: no /sys/kernel/btf/vmlinux here');

describe.skipIf(!hasHostBtf)('createHostKernelDriver on this machine', () => {
  it('shadows a multi-link attach on real kernel functions', async () => {
    const made = await createHostKernelDriver();
    if (!made.ok) throw new Error(JSON.stringify(made.error));
    const driver = made.value;
    expect((await driver.describe()).release).toBe(release());
    const load = await driver.apply({ op: 'prog_load', name: 'p', attach: 'fentry.multi' });
    expect(load.ok).toBe(true);
    const link = await driver.apply({
      op: 'link_create',
      prog: 1,
      targets: [{ name: 'vfs_read' }, { name: 'vfs_write' }],
    });
    expect(link.ok).toBe(true);
    expect((await driver.dump()).trampolines.map((t) => t.function).sort()).toEqual([
      'vfs_read',
      'vfs_write',
    ]);
  });
});
