import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { release as osRelease, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBtf, parseBtf } from '../../../shared/src/btf/index.js';
import { parseHostBtf, readHostKernel } from '../../../shared/src/infra/host/index.js';
import { smallModule, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

describe('readHostKernel on a fixture root', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tramway-host-'));
    const put = async (rel: string, content: string | Uint8Array): Promise<void> => {
      await mkdir(join(root, rel, '..'), { recursive: true });
      await writeFile(join(root, rel), content);
    };
    const vmlinux = encodeBtf(smallVmlinux());
    const base = parseBtf(vmlinux, { name: 'vmlinux', kind: 'vmlinux' });
    if (!base.ok) throw new Error(base.error.message);
    await put('sys/kernel/btf/vmlinux', vmlinux);
    await put('sys/kernel/btf/nf_tables', encodeBtf(smallModule(), { base: base.value }));
    await put(
      'sys/kernel/btf/broken_mod',
      encodeBtf(smallModule('broken_mod'), { base: base.value }).subarray(0, 40),
    );
    await put('proc/sys/kernel/osrelease', '6.18.0-test\n');
    await put('proc/sys/kernel/random/boot_id', 'b00710d0-0000-4000-8000-000000000001\n');
    await put(
      'proc/kallsyms',
      'ffffffff81000000 T tcp_v4_rcv\nffffffffc0a01230 t nft_do_chain\t[nf_tables]\n',
    );
    await put(
      'proc/modules',
      'nf_tables 303104 1 - Live 0xffffffffc0a00000\nbroken_mod 100 0 - Live 0x0\n',
    );
    await put('sys/kernel/debug/error_injection/list', 'should_failslab\tERRNO\n');
    // no tracing directory: the traceable-function list must be reported as unreadable
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads every fact under the root', async () => {
    const sut = await readHostKernel({ root });
    expect(sut.release).toBe('6.18.0-test');
    expect(sut.bootId).toBe('b00710d0-0000-4000-8000-000000000001');
    expect(sut.vmlinuxBtf?.name).toBe('vmlinux');
    expect(sut.moduleBtfs.map((b) => b.name)).toEqual(['broken_mod', 'nf_tables']);
    expect(sut.kallsyms?.byName.get('nft_do_chain')?.[0]?.module).toBe('nf_tables');
    expect(sut.modules?.map((m) => [m.name, m.state, m.refcount])).toEqual([
      ['nf_tables', 'live', 1],
      ['broken_mod', 'live', 0],
    ]);
    expect(sut.errorInjection).toEqual([{ name: 'should_failslab', errorType: 'ERRNO' }]);
  });

  it('reports what it cannot read with source, path and reason instead of failing', async () => {
    const sut = await readHostKernel({ root });
    expect(sut.traceable).toBeUndefined();
    expect(sut.unreadable).toEqual([
      {
        source: 'traceable-functions',
        path: `${join(root, 'sys/kernel/tracing/available_filter_functions')} | ${join(root, 'sys/kernel/debug/tracing/available_filter_functions')}`,
        reason: expect.stringContaining('ENOENT: does not exist') as unknown as string,
      },
    ]);
  });

  it('parses the blobs: modules on top of vmlinux, a corrupt blob named with its byte offset', async () => {
    const sut = parseHostBtf(await readHostKernel({ root, skipKallsyms: true }));
    expect(sut.vmlinux?.object.types.length).toBe(smallVmlinux().types.length);
    expect(sut.modules.map((m) => [m.object.name, m.object.firstTypeId])).toEqual([
      ['nf_tables', 38],
    ]);
    expect(sut.unreadable).toEqual([
      {
        source: 'module-btf',
        path: join(root, 'sys/kernel/btf/broken_mod'),
        reason: expect.stringMatching(
          /extends past the end of the blob .*at byte 40/,
        ) as unknown as string,
      },
    ]);
  });

  it('reports a root with nothing in it, source by source', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'tramway-empty-'));
    try {
      const sut = await readHostKernel({ root: empty });
      expect(sut.unreadable.map((u) => u.source).sort()).toEqual([
        'boot-id',
        'error-injection',
        'kallsyms',
        'modules',
        'release',
        'traceable-functions',
        'vmlinux-btf',
      ]);
      expect(parseHostBtf(sut).vmlinux).toBeUndefined();
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

const hasHostBtf = existsSync('/sys/kernel/btf/vmlinux');
if (!hasHostBtf)
  console.warn('skipping host reader test: /sys/kernel/btf/vmlinux does not exist here');

describe.skipIf(!hasHostBtf)('readHostKernel on this machine', () => {
  it('reads the running kernel: release, vmlinux BTF with functions, kallsyms', async () => {
    const facts = await readHostKernel();
    expect(facts.release).toBe(osRelease());
    const btf = parseHostBtf(facts);
    expect(btf.unreadable).toEqual([]);
    expect(btf.vmlinux?.object.types.some((t) => t.kind === 'func' && t.name === 'vfs_read')).toBe(
      true,
    );
    expect(facts.kallsyms?.byName.get('vfs_read')?.length).toBeGreaterThan(0);
  });
});
