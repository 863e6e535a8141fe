import { describe, expect, it } from 'vitest';
import { createKernel } from '../../../shared/src/kernel/index.js';
import type { KernelObjectInput } from '../../../shared/src/kernel/index.js';
import {
  createSimKernelDriver,
  createSimKernelDriverFromSpec,
} from '../../../services/agent/src/kernel-driver/index.js';
import { smallModule, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

const objects: readonly KernelObjectInput[] = [smallVmlinux(), smallModule()].map((btf) => ({
  btf,
  loaded: true,
  attrs: (name: string) => (name === 'skb_weird' ? { hasAddress: false } : {}),
}));
const sut = () =>
  createSimKernelDriver({ state: createKernel({ profile: 'v26', objects }), objects });

describe('createSimKernelDriver', () => {
  it('describes the simulated node from its fixture BTF', async () => {
    expect(await sut().describe()).toEqual({
      mode: 'sim',
      profile: 'v26',
      probedProfile: 'v26',
      attachPath: 'tracing-multi',
      objects: [
        { name: 'vmlinux', kind: 'vmlinux', functions: 4 },
        { name: 'nf_tables', kind: 'module', functions: 2 },
      ],
      unreadable: [],
    });
  });

  it('resolves patterns against the model and refuses a bad pattern as data', async () => {
    const driver = sut();
    const r = await driver.resolve(['tcp_*'], { attach: 'fentry.multi' });
    expect(r.ok && r.value.targets.map((t) => `${t.object}:${t.name}:${t.ok}`)).toEqual([
      'vmlinux:tcp_v4_rcv:true',
      'nf_tables:tcp_v4_rcv:true',
    ]);
    expect(await driver.resolve(['a['], { attach: 'fentry' })).toEqual({
      ok: false,
      error: "pattern 'a[': unclosed '[' at position 1 in 'a['",
    });
  });

  it('applies operations in order and keeps the state unchanged on a refusal', async () => {
    const driver = sut();
    const load = await driver.apply({ op: 'prog_load', name: 'p', attach: 'fentry.multi' });
    expect(load).toEqual({ ok: true, value: { progId: 1 } });
    const refused = await driver.apply({
      op: 'link_create',
      prog: 1,
      targets: [{ name: 'tcp_v4_rcv' }, { name: 'skb_weird' }],
    });
    expect(refused).toMatchObject({ ok: false, errno: 'ENOENT' });
    const before = await driver.dump();
    expect(before.trampolines).toEqual([]);
    const linked = await driver.apply({
      op: 'link_create',
      prog: 1,
      targets: [{ name: 'tcp_v4_rcv' }],
    });
    expect(linked.ok).toBe(true);
    expect((await driver.dump()).trampolines.map((t) => t.function)).toEqual(['tcp_v4_rcv']);
  });

  it('hands on the target a refused link_create names (index into the request targets)', async () => {
    const driver = sut();
    await driver.apply({ op: 'prog_load', name: 'p', attach: 'fentry.multi' });
    const refused = await driver.apply({
      op: 'link_create',
      prog: 1,
      targets: [{ name: 'tcp_v4_rcv' }, { name: 'skb_weird' }],
    });
    expect(refused).toMatchObject({
      ok: false,
      errno: 'ENOENT',
      failedTarget: { index: 1, function: 'skb_weird', object: 'vmlinux', errno: 'ENOENT' },
    });
  });

  it('rejects use after close', async () => {
    const driver = sut();
    expect(await driver.close()).toBeUndefined();
    await expect(
      driver.apply({ op: 'prog_load', name: 'p', attach: 'fentry.multi' }),
    ).rejects.toThrow('kernel driver is closed');
  });
});

describe('createSimKernelDriverFromSpec', () => {
  it('builds the node from declarations and resolves against them', async () => {
    const made = createSimKernelDriverFromSpec({
      profile: 'v24',
      objects: [
        {
          name: 'vmlinux',
          kind: 'vmlinux',
          functions: [
            { name: 'tcp_v4_connect', ret: 'int', params: ['struct sock *', 'int'] },
            {
              name: 'tcp_v6_connect',
              ret: 'int',
              params: ['struct sock *', 'int'],
              address: false,
            },
          ],
        },
      ],
      types: [{ kind: 'struct', name: 'sock', size: 64, members: 1 }],
    });
    if (!made.ok) throw new Error(JSON.stringify(made.error));
    const r = await made.value.resolve(['tcp_v?_connect'], { attach: 'fentry.multi', reads: [0] });
    expect(r.ok && r.value.targets.map((t) => `${t.name} ${t.ok ? 'ok' : t.errno}`)).toEqual([
      'tcp_v4_connect ok',
      'tcp_v6_connect ENOENT',
    ]);
    expect((await made.value.describe()).profile).toBe('v24');
  });

  it('refuses a spec with problems, as data', () => {
    const made = createSimKernelDriverFromSpec({
      profile: 'v26',
      objects: [
        {
          name: 'vmlinux',
          kind: 'vmlinux',
          functions: [{ name: 'f', ret: 'struct nope', params: [] }],
        },
      ],
    });
    expect(made.ok).toBe(false);
  });
});
