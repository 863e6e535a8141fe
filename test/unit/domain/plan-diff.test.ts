import { describe, expect, it } from 'vitest';
import { diffNodePlan, functionKey } from '@tramway/shared/domain';

describe('diffNodePlan', () => {
  it('splits the functions into added, removed and unchanged, sorted', () => {
    expect(
      diffNodePlan({
        nodeId: 'web-1',
        selected: true,
        running: ['tcp_sendmsg', 'tcp_close', 'nf_tables:nft_do_chain'],
        planned: ['tcp_v4_connect', 'tcp_sendmsg', 'tcp_close', 'tcp_close'],
      }),
    ).toEqual({
      nodeId: 'web-1',
      selected: true,
      added: { count: 1, names: ['tcp_v4_connect'] },
      removed: { count: 1, names: ['nf_tables:nft_do_chain'] },
      unchanged: { count: 2, names: ['tcp_close', 'tcp_sendmsg'] },
    });
  });

  it('bounds each list of names, and the count says how many there are', () => {
    const planned = Array.from({ length: 120 }, (_, i) => `f_${String(i).padStart(3, '0')}`);
    const diff = diffNodePlan({ nodeId: 'n', selected: true, running: [], planned, limit: 10 });
    expect(diff.added.count).toBe(120);
    expect(diff.added.names).toEqual(planned.slice(0, 10));
    expect(diff.removed).toEqual({ count: 0, names: [] });
  });

  it('names a module function module:function and a vmlinux one by itself', () => {
    expect(functionKey({ function: 'nft_do_chain', module: 'nf_tables' })).toBe(
      'nf_tables:nft_do_chain',
    );
    expect(functionKey({ function: 'tcp_close' })).toBe('tcp_close');
    expect(functionKey({ function: 'tcp_close', module: 'vmlinux' })).toBe('tcp_close');
  });
});
