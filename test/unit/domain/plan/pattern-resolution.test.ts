import { describe, expect, it } from 'vitest';
import type { BtfObject } from '../../../../shared/src/kernel/index.js';
import { createKernel } from '../../../../shared/src/kernel/index.js';
import type { FunctionPattern } from '../../../../shared/src/btf/index.js';
import { parseFunctionPattern } from '../../../../shared/src/btf/index.js';
import { resolveFunctionPatterns } from '../../../../shared/src/domain/plan/pattern-resolution.js';
import { smallModule, smallVmlinux } from '../../../fixtures/btf/small-btf.fixture.js';

const OBJECTS: readonly BtfObject[] = [smallVmlinux(), smallModule()];
const patterns = (...texts: string[]): FunctionPattern[] =>
  texts.map((t) => {
    const r = parseFunctionPattern(t);
    if (!r.ok) throw new Error(r.error);
    return r.value;
  });
const kernel = (profile: 'v24' | 'v26') =>
  createKernel({
    profile,
    objects: OBJECTS.map((btf) => ({
      btf,
      loaded: true,
      attrs: (name: string) => (name === 'skb_weird' ? { hasAddress: false } : {}),
    })),
  });

describe('resolveFunctionPatterns', () => {
  const verdicts = (r: ReturnType<typeof resolveFunctionPatterns>): string[] =>
    r.targets.map((t) => `${t.object}:${t.name} ${t.ok ? 'ok' : t.errno}`);

  it('v26 fentry.multi: one load per object, per-target errno from the kernel model', () => {
    const sut = resolveFunctionPatterns(kernel('v26'), OBJECTS, patterns('*'), {
      attach: 'fentry.multi',
    });
    expect(sut.loads).toEqual([
      { object: 'vmlinux', ok: true },
      { object: 'nf_tables', ok: true },
    ]);
    expect(verdicts(sut)).toEqual([
      'vmlinux:tcp_v4_rcv ok',
      'vmlinux:_printk EINVAL',
      'vmlinux:skb_weird ENOENT',
      'vmlinux:bpf_kprobe_multi_link_attach ok',
      'nf_tables:nft_do_chain ok',
      'nf_tables:tcp_v4_rcv ok',
    ]);
    expect(sut.targets[1]).toMatchObject({
      reason: 'The function _printk with variable args is unsupported',
    });
  });

  it('v26 multi programs cannot read arguments: the load fails and so does every target', () => {
    const sut = resolveFunctionPatterns(kernel('v26'), OBJECTS, patterns('tcp_*'), {
      attach: 'fentry.multi',
      reads: [0],
    });
    // the errno is the kernel model's (EACCES, as the verifier's check_ctx_access); every target carries it
    const load = sut.loads[0];
    expect(load).toMatchObject({ object: 'vmlinux', ok: false });
    expect(sut.targets.length).toBe(2);
    expect(sut.targets.every((t) => !t.ok && t.errno === load?.errno)).toBe(true);
    expect(sut.targets[0]).toMatchObject({
      reason: "program load: func 'bpf_multi_func' doesn't have 1-th argument",
    });
  });

  it('v24 fentry.multi: the first match is the origin, and read args must match its prototype', () => {
    const sut = resolveFunctionPatterns(kernel('v24'), OBJECTS, patterns('*'), {
      attach: 'fentry.multi',
      reads: [0],
    });
    expect(sut.loads).toEqual([{ object: 'vmlinux', origin: 'vmlinux:tcp_v4_rcv', ok: true }]);
    expect(verdicts(sut)).toEqual([
      'vmlinux:tcp_v4_rcv ok',
      'vmlinux:_printk EINVAL',
      'vmlinux:skb_weird ENOENT',
      'vmlinux:bpf_kprobe_multi_link_attach EINVAL',
      'nf_tables:nft_do_chain EINVAL',
      'nf_tables:tcp_v4_rcv ok',
    ]);
  });

  it('v24 with an origin that does not exist fails the load with ESRCH', () => {
    const sut = resolveFunctionPatterns(kernel('v24'), OBJECTS, patterns('tcp_*'), {
      attach: 'fentry.multi',
      origin: 'no_such_function',
    });
    expect(sut.loads[0]).toMatchObject({ ok: false, errno: 'ESRCH' });
    expect(sut.targets.every((t) => !t.ok && t.errno === 'ESRCH')).toBe(true);
  });

  it('single fentry: one program per function, each loaded against its target', () => {
    const sut = resolveFunctionPatterns(kernel('v26'), OBJECTS, patterns('nf_tables:*'), {
      attach: 'fentry',
      reads: [1],
    });
    expect(sut.loads).toEqual([]);
    expect(verdicts(sut)).toEqual(['nf_tables:nft_do_chain ok', 'nf_tables:tcp_v4_rcv ok']);
  });
});
