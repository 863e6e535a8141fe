import { describe, expect, it } from 'vitest';
import type { AgentPolicySpec } from '../../../services/agent/src/reconcile/agent-policy.js';
import type { TargetVerdictLike } from '../../../services/agent/src/reconcile/desired-links.js';
import {
  attachTypeOf,
  chooseOrigin,
  choosePath,
  classifyTargets,
  groupLinks,
  kernelAttachName,
} from '../../../services/agent/src/reconcile/desired-links.js';

const spec = (over: Partial<AgentPolicySpec> = {}): AgentPolicySpec => ({
  program: { name: 'tcp_lat', attach: 'fentry' },
  targets: [
    { pattern: 'tcp_*', cookie: 7 },
    { pattern: 'nf_tables:nft_*', cookie: '18446744073709551615' },
  ],
  ...over,
});

const verdict = (name: string, object = 'vmlinux', ok = true): TargetVerdictLike => ({
  pattern: object === 'vmlinux' ? 'tcp_*' : 'nf_tables:nft_*',
  object,
  name,
  btfId: name.length,
  ok,
  ...(ok ? {} : { errno: 'EINVAL' as const, reason: 'prototype mismatch' }),
});

const live = new Map([['nf_tables', 'live' as const]]);
const unloaded = new Map([['nf_tables', 'unloaded' as const]]);

describe('choosePath', () => {
  it('takes multi where the node has it, else one link per function (auto)', () => {
    expect(choosePath(spec(), { profile: 'v24', multi: true })).toEqual({
      ok: true,
      path: 'tracing-multi',
    });
    expect(choosePath(spec(), { profile: 'v24', multi: false })).toEqual({
      ok: true,
      path: 'fentry-per-function',
    });
  });

  it('falls back per function for fmod_ret on V26, which has no MODIFY_RETURN_MULTI (spec §1.1)', () => {
    const fmodRet = spec({ program: { name: 'p', attach: 'fmod_ret' } });
    expect(choosePath(fmodRet, { profile: 'v26', multi: true })).toEqual({
      ok: true,
      path: 'fentry-per-function',
    });
    expect(
      choosePath({ ...fmodRet, strategy: 'multi' }, { profile: 'v26', multi: true }),
    ).toMatchObject({
      ok: false,
      reason: expect.stringContaining('no multi attach type') as string,
    });
  });

  it('refuses strategy multi on a node without multi-link, and honours per-function', () => {
    expect(choosePath(spec({ strategy: 'multi' }), { profile: 'v24', multi: false })).toEqual({
      ok: false,
      reason: 'the kernel has no tracing multi-link',
    });
    expect(choosePath(spec({ strategy: 'per-function' }), { profile: 'v26', multi: true })).toEqual(
      {
        ok: true,
        path: 'fentry-per-function',
      },
    );
  });
});

describe('choosePath without trampolines', () => {
  it('attaches nothing on a node whose best path is kprobe-multi (not simulated), saying why', () => {
    expect(choosePath(spec(), { profile: 'v26', multi: false, trampolines: false })).toEqual({
      ok: false,
      reason:
        "this node's best attach path is kprobe-multi, which the kernel model does not simulate",
    });
  });
});

describe('kernel attach names', () => {
  it('adds .multi for the multi path and .s for sleepable programs; maps to the uapi type', () => {
    const s = spec({ program: { name: 'p', attach: 'fexit', sleepable: true } });
    expect(kernelAttachName(s, 'tracing-multi')).toBe('fexit.multi.s');
    expect(kernelAttachName(s, 'fentry-per-function')).toBe('fexit.s');
    expect(attachTypeOf('fexit.multi.s')).toBe('BPF_TRACE_FEXIT_MULTI');
    expect(attachTypeOf('fmod_ret')).toBe('BPF_MODIFY_RETURN');
  });
});

describe('chooseOrigin', () => {
  const matches = [
    verdict('nft_do_chain', 'nf_tables'),
    verdict('tcp_sendmsg'),
    verdict('tcp_recvmsg'),
  ];

  it('skips functions of an unloaded module (libbpf takes the first symbol, spec §5.1)', () => {
    expect(chooseOrigin(matches, undefined, unloaded, new Set())).toBe('vmlinux:tcp_sendmsg');
    expect(chooseOrigin(matches, undefined, live, new Set())).toBe('nf_tables:nft_do_chain');
  });

  it("keeps the policy's origin when it is available, and moves off a module being drained", () => {
    expect(chooseOrigin(matches, 'tcp_recvmsg', live, new Set())).toBe('vmlinux:tcp_recvmsg');
    expect(chooseOrigin(matches, 'nf_tables:nft_do_chain', live, new Set(['nf_tables']))).toBe(
      'vmlinux:tcp_sendmsg',
    );
  });

  it('has no origin when every match is unavailable', () => {
    expect(
      chooseOrigin([verdict('nft_lookup', 'nf_tables')], undefined, unloaded, new Set()),
    ).toBeUndefined();
  });
});

describe('classifyTargets', () => {
  it('splits attachable (with the pattern cookie), pending (module not loaded) and rejected (errno, reason)', () => {
    const result = classifyTargets(
      spec(),
      [
        verdict('tcp_sendmsg'),
        verdict('tcp_bad', 'vmlinux', false),
        verdict('nft_do_chain', 'nf_tables', false),
      ],
      unloaded,
    );
    expect(result).toEqual({
      attachable: [{ object: 'vmlinux', function: 'tcp_sendmsg', btfId: 11, cookie: 7n }],
      pending: [{ object: 'nf_tables', function: 'nft_do_chain' }],
      rejected: [
        {
          object: 'vmlinux',
          function: 'tcp_bad',
          btfId: 7,
          errno: 'EINVAL',
          reason: 'prototype mismatch',
        },
      ],
    });
  });

  it('treats a live module being drained as pending, and carries u64 cookies exactly', () => {
    const result = classifyTargets(
      spec(),
      [verdict('nft_do_chain', 'nf_tables')],
      live,
      new Set(['nf_tables']),
    );
    expect(result.pending).toEqual([{ object: 'nf_tables', function: 'nft_do_chain' }]);
    const kept = classifyTargets(spec(), [verdict('nft_do_chain', 'nf_tables')], live);
    expect(kept.attachable[0]?.cookie).toBe(18446744073709551615n);
  });
});

describe('groupLinks', () => {
  const policy = {
    name: 'tcp-latency',
    version: 3,
    spec: spec({ program: { name: 'p', attach: 'fentry', reads: [0] } }),
  };
  const attachable = [
    { object: 'vmlinux', function: 'tcp_sendmsg', btfId: 11, cookie: 7n },
    { object: 'nf_tables', function: 'nft_do_chain', btfId: 12, cookie: 1n },
  ];

  it('V24 multi: one program loaded against the chosen origin and one multi link over every target', () => {
    const groups = groupLinks({
      policy,
      path: 'tracing-multi',
      profile: 'v24',
      attachable,
      origin: 'nf_tables:nft_do_chain',
    });
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({
      key: 'all',
      attach: 'fentry.multi',
      attachType: 'BPF_TRACE_FENTRY_MULTI',
      load: { origin: { object: 'nf_tables', function: 'nft_do_chain', btfId: 12 }, reads: [0] },
      targets: attachable,
    });
  });

  it('V26 multi: one program and one link per BTF object, loaded against that object', () => {
    const groups = groupLinks({ policy, path: 'tracing-multi', profile: 'v26', attachable });
    expect(groups.map((g) => [g.key, g.load.object ?? 'vmlinux', g.targets.length])).toEqual([
      ['vmlinux', 'vmlinux', 1],
      ['nf_tables', 'nf_tables', 1],
    ]);
  });

  it('per function: one single-target program and link per function, each loaded against it', () => {
    const groups = groupLinks({ policy, path: 'fentry-per-function', profile: 'v26', attachable });
    expect(groups.map((g) => [g.key, g.attach, g.load.origin?.function])).toEqual([
      ['vmlinux:tcp_sendmsg', 'fentry', 'tcp_sendmsg'],
      ['nf_tables:nft_do_chain', 'fentry', 'nft_do_chain'],
    ]);
  });

  it('needs no link when nothing is attachable', () => {
    expect(groupLinks({ policy, path: 'tracing-multi', profile: 'v24', attachable: [] })).toEqual(
      [],
    );
  });
});
