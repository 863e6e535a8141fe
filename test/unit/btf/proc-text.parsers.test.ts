import { describe, expect, it } from 'vitest';
import {
  parseAvailableFilterFunctions,
  parseErrorInjectionList,
  parseKallsyms,
  parseProcModules,
} from '../../../shared/src/infra/host/proc-text.parsers.js';

describe('parseKallsyms', () => {
  it('keeps duplicate names, the type letter and the module column', () => {
    const { table, bad } = parseKallsyms(
      [
        'ffffffff81000000 T _stext',
        'ffffffff81234560 t cleanup_module',
        'ffffffff81234990 t cleanup_module',
        'ffffffffc0a01230 t nft_do_chain\t[nf_tables]',
        'ffffffffc0a01230 T nft_register_chain_type\t[nf_tables]',
        '',
      ].join('\n'),
    );
    expect(bad).toEqual([]);
    expect(table.count).toBe(5);
    expect(table.addressesHidden).toBe(false);
    expect(table.byName.get('cleanup_module')?.map((e) => e.address)).toEqual([
      'ffffffff81234560',
      'ffffffff81234990',
    ]);
    expect(table.byName.get('nft_do_chain')).toEqual([
      { address: 'ffffffffc0a01230', type: 't', name: 'nft_do_chain', module: 'nf_tables' },
    ]);
  });

  it('notices hidden addresses and reports lines it cannot read with their number', () => {
    const { table, bad } = parseKallsyms('0000000000000000 T a\ngarbage\n0000000000000000 t b\n');
    expect(table.addressesHidden).toBe(true);
    expect(bad).toEqual([{ line: 2, text: 'garbage' }]);
  });
});

describe('parseProcModules', () => {
  it('reads name, size, refcount, users, state and address', () => {
    const { modules, bad } = parseProcModules(
      [
        'nf_tables 303104 2 nft_chain_nat,nft_ct, Live 0xffffffffc0a00000',
        'nf_defrag_ipv6 24576 0 - Unloading 0xffffffffc09f0000 (E)',
        'broken line',
      ].join('\n'),
    );
    expect(modules).toEqual([
      {
        name: 'nf_tables',
        size: 303104,
        refcount: 2,
        usedBy: ['nft_chain_nat', 'nft_ct'],
        state: 'live',
        address: 'ffffffffc0a00000',
      },
      {
        name: 'nf_defrag_ipv6',
        size: 24576,
        refcount: 0,
        usedBy: [],
        state: 'unloading',
        address: 'ffffffffc09f0000',
      },
    ]);
    expect(bad).toEqual([{ line: 3, text: 'broken line' }]);
  });
});

describe('parseErrorInjectionList', () => {
  it('reads function, optional module and error type', () => {
    const { entries } = parseErrorInjectionList(
      'should_failslab\tERRNO\nopen_ctree\t[btrfs]\tERRNO\nshould_fail_bio\tERRNO\n',
    );
    expect(entries).toEqual([
      { name: 'should_failslab', errorType: 'ERRNO' },
      { name: 'open_ctree', errorType: 'ERRNO', module: 'btrfs' },
      { name: 'should_fail_bio', errorType: 'ERRNO' },
    ]);
  });
});

describe('parseAvailableFilterFunctions', () => {
  it('reads names with an optional module', () => {
    const { functions, bad } = parseAvailableFilterFunctions(
      'tcp_v4_connect\nnft_do_chain [nf_tables]\nbad line with spaces\n',
    );
    expect(functions).toEqual([
      { name: 'tcp_v4_connect' },
      { name: 'nft_do_chain', module: 'nf_tables' },
    ]);
    expect(bad).toEqual([{ line: 3, text: 'bad line with spaces' }]);
  });
});
