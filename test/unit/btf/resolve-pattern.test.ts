import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BtfObject } from '../../../shared/src/kernel/btf.js';
import { createKernel } from '../../../shared/src/kernel/index.js';
import type { FunctionPattern } from '../../../shared/src/btf/index.js';
import {
  matchFunctionPatterns,
  parseFunctionPattern,
  resolveFunctionPatterns,
} from '../../../shared/src/btf/index.js';
import { smallModule, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

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
const names = (ms: readonly { object: string; name: string }[]): string[] =>
  ms.map((m) => `${m.object}:${m.name}`);

describe('parseFunctionPattern', () => {
  it('splits an optional module prefix from the glob', () => {
    expect(parseFunctionPattern('tcp_*')).toEqual({
      ok: true,
      value: { text: 'tcp_*', glob: 'tcp_*' },
    });
    expect(parseFunctionPattern('nf_tables:nft_*')).toEqual({
      ok: true,
      value: { text: 'nf_tables:nft_*', module: 'nf_tables', glob: 'nft_*' },
    });
  });

  it.each([
    [':foo', "pattern ':foo': empty module before ':'"],
    ['mod:', "pattern 'mod:': empty function glob"],
    ['tcp_[ab', "pattern 'tcp_[ab': unclosed '[' at position 4 in 'tcp_[ab'"],
  ])('rejects %s', (text, message) => {
    expect(parseFunctionPattern(text)).toEqual({ ok: false, error: message });
  });
});

describe('matchFunctionPatterns', () => {
  it('matches *, ? and [...] globs against vmlinux and every module when unprefixed', () => {
    expect(names(matchFunctionPatterns(OBJECTS, patterns('tcp_v?_rcv')).matches)).toEqual([
      'vmlinux:tcp_v4_rcv',
      'nf_tables:tcp_v4_rcv',
    ]);
    expect(names(matchFunctionPatterns(OBJECTS, patterns('[!t_]*')).matches)).toEqual([
      'vmlinux:skb_weird',
      'vmlinux:bpf_kprobe_multi_link_attach',
      'nf_tables:nft_do_chain',
    ]);
    expect(names(matchFunctionPatterns(OBJECTS, patterns('[a-c]*')).matches)).toEqual([
      'vmlinux:bpf_kprobe_multi_link_attach',
    ]);
  });

  it('limits a prefixed pattern to the named object(s) and keys matches by BTF id', () => {
    const sut = matchFunctionPatterns(OBJECTS, patterns('nf_*:tcp_*', 'vmlinux:tcp_*'));
    expect(sut.matches).toEqual([
      { pattern: 'nf_*:tcp_*', object: 'nf_tables', name: 'tcp_v4_rcv', btfId: 42 },
      { pattern: 'vmlinux:tcp_*', object: 'vmlinux', name: 'tcp_v4_rcv', btfId: 19 },
    ]);
  });

  it('lists a function once, for the first pattern (*_rcv adds nothing), and reports patterns that matched nothing', () => {
    const sut = matchFunctionPatterns(OBJECTS, patterns('tcp_*', '*_rcv', 'udp_*', 'xfs:*'));
    expect(sut.matches.map((m) => m.pattern)).toEqual(['tcp_*', 'tcp_*']);
    expect(sut.unmatched).toEqual([
      { pattern: 'udp_*', reason: 'no function matches in 2 BTF objects' },
      { pattern: 'xfs:*', reason: "no BTF object named 'xfs'" },
    ]);
  });
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

/** Reference glob semantics, written as plain recursion for the property test below. */
const referenceMatch = (glob: string, name: string): boolean => {
  if (glob === '') return name === '';
  const c = glob[0]!;
  if (c === '*')
    return (
      referenceMatch(glob.slice(1), name) || (name !== '' && referenceMatch(glob, name.slice(1)))
    );
  if (name === '') return false;
  if (c === '?') return referenceMatch(glob.slice(1), name.slice(1));
  if (c === '[') {
    const close = glob.indexOf(']', 2);
    let body = glob.slice(1, close);
    const negated = body.startsWith('!') || body.startsWith('^');
    if (negated) body = body.slice(1);
    let inClass = false;
    for (let i = 0; i < body.length; i++) {
      if (body[i + 1] === '-' && i + 2 < body.length) {
        if (name[0]! >= body[i]! && name[0]! <= body[i + 2]!) inClass = true;
        i += 2;
      } else if (body[i] === name[0]) inClass = true;
    }
    return inClass !== negated && referenceMatch(glob.slice(close + 1), name.slice(1));
  }
  return c === name[0] && referenceMatch(glob.slice(1), name.slice(1));
};

describe('glob matching (property)', () => {
  it('agrees with a reference matcher on random globs and names', () => {
    const nameChar = fc.constantFrom('a', 'b', 'c', '_', '.', '1');
    const globPart = fc.oneof(
      nameChar,
      fc.constant('*'),
      fc.constant('?'),
      fc.constantFrom('[ab]', '[!a]', '[a-c]', '[^_.]', '[.]'),
    );
    fc.assert(
      fc.property(
        fc.array(globPart, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
        fc.array(nameChar, { maxLength: 8 }).map((cs) => cs.join('')),
        (glob, name) => {
          const object = smallVmlinux([
            { kind: 'func', name: name || 'x', type: 0, linkage: 'static' },
          ]);
          const parsed = parseFunctionPattern(glob);
          if (!parsed.ok) throw new Error(parsed.error);
          const matched = matchFunctionPatterns([object], [parsed.value]).matches.length === 1;
          expect(matched).toBe(referenceMatch(glob, name || 'x'));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
