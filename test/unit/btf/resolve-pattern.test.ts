import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BtfObject } from '../../../shared/src/kernel/index.js';
import type { FunctionPattern } from '../../../shared/src/btf/index.js';
import { matchFunctionPatterns, parseFunctionPattern } from '../../../shared/src/btf/index.js';
import { smallModule, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

const OBJECTS: readonly BtfObject[] = [smallVmlinux(), smallModule()];
const patterns = (...texts: string[]): FunctionPattern[] =>
  texts.map((t) => {
    const r = parseFunctionPattern(t);
    if (!r.ok) throw new Error(r.error);
    return r.value;
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
