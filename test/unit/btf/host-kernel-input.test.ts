import { describe, expect, it } from 'vitest';
import { encodeBtf, parseBtf } from '../../../shared/src/btf/index.js';
import type { ParsedBtf } from '../../../shared/src/btf/index.js';
import { hostKernelObjects, parseKallsyms } from '../../../shared/src/infra/host/index.js';
import { smallModule, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

const parse = (bytes: Uint8Array, base?: ParsedBtf): ParsedBtf => {
  const r = parseBtf(
    bytes,
    base ? { name: 'nf_tables', kind: 'module', base } : { name: 'vmlinux', kind: 'vmlinux' },
  );
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const vmlinux = parse(encodeBtf(smallVmlinux()));
const nfTables = parse(encodeBtf(smallModule(), { base: vmlinux }), vmlinux);
const btf = { vmlinux, modules: [nfTables], unreadable: [] };
const kallsyms = parseKallsyms(
  [
    'ffffffff81000000 T tcp_v4_rcv',
    'ffffffff81000100 d _printk', // data, not text: no address for a function
    'ffffffffc0001000 t nft_do_chain\t[nf_tables]',
  ].join('\n'),
).table;

describe('hostKernelObjects', () => {
  it('takes addresses from kallsyms text symbols of the right object', () => {
    const [vm, mod] = hostKernelObjects(btf, { kallsyms });
    expect(vm!.attrs('tcp_v4_rcv').hasAddress).toBe(true);
    expect(vm!.attrs('_printk').hasAddress).toBe(false);
    expect(vm!.attrs('nft_do_chain').hasAddress).toBe(false);
    expect(mod!.attrs('nft_do_chain').hasAddress).toBe(true);
    expect(mod!.attrs('tcp_v4_rcv').hasAddress).toBe(false);
  });

  it('prefers the ftrace-able list over kallsyms when it is readable', () => {
    const [vm, mod] = hostKernelObjects(btf, {
      kallsyms,
      traceable: [{ name: 'skb_weird' }, { name: 'nft_do_chain', module: 'nf_tables' }],
    });
    expect(vm!.attrs('tcp_v4_rcv').hasAddress).toBe(false);
    expect(vm!.attrs('skb_weird').hasAddress).toBe(true);
    expect(mod!.attrs('nft_do_chain').hasAddress).toBe(true);
  });

  it('assumes an address when no symbol source is readable, and marks error-injectable functions', () => {
    const [vm] = hostKernelObjects(btf, {
      errorInjection: [{ name: 'tcp_v4_rcv', errorType: 'ERRNO' }],
    });
    expect(vm!.attrs('skb_weird')).toEqual({ hasAddress: true, errorInjectable: false });
    expect(vm!.attrs('tcp_v4_rcv')).toEqual({ hasAddress: true, errorInjectable: true });
  });

  it('marks a module not loaded when /proc/modules says it is not live', () => {
    const objects = hostKernelObjects(btf, {
      modules: [{ name: 'nf_tables', size: 1, refcount: 0, usedBy: [], state: 'unloading' }],
    });
    expect(objects.map((o) => [o.btf.name, o.loaded])).toEqual([
      ['vmlinux', true],
      ['nf_tables', false],
    ]);
  });

  it('has nothing to offer without vmlinux BTF', () => {
    expect(hostKernelObjects({ modules: [], unreadable: [] }, {})).toEqual([]);
  });
});
