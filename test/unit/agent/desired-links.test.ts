import { describe, expect, it } from 'vitest';
import type { RecordedPlan } from '@tramway/shared/domain';
import type { AgentPolicySpec } from '../../../services/agent/src/reconcile/agent-policy.js';
import {
  attachTypeOf,
  desiredLinks,
  groupLinks,
  kernelAttachName,
  policyStatusOf,
} from '../../../services/agent/src/reconcile/desired-links.js';

const spec = (over: Partial<AgentPolicySpec> = {}): AgentPolicySpec => ({
  program: { name: 'tcp_lat', attach: 'fentry' },
  targets: [
    { pattern: 'tcp_*', cookie: 7 },
    { pattern: 'nf_tables:nft_*', cookie: '18446744073709551615' },
  ],
  ...over,
});

/** A plan as planNode makes it: tcp_* in vmlinux, nft_* in nf_tables (loaded or not). */
const plan = (moduleLoaded: boolean): RecordedPlan => ({
  path: 'tracing-multi',
  targets: [
    { function: 'tcp_sendmsg', objId: 1, btfId: 11, cookie: '7', status: 'attach', headroom: 38 },
    {
      function: 'tcp_bad',
      objId: 1,
      btfId: 7,
      cookie: '7',
      status: 'rejected',
      errno: 'EINVAL',
      reason: 'prototype mismatch',
      headroom: 38,
    },
    {
      function: 'tcp_full',
      objId: 1,
      btfId: 8,
      cookie: '7',
      status: 'trampoline-full',
      errno: 'E2BIG',
      reason: 'full',
      headroom: 0,
    },
    moduleLoaded
      ? {
          function: 'nft_do_chain',
          module: 'nf_tables',
          objId: 101,
          btfId: 12,
          cookie: '18446744073709551615',
          status: 'attach',
          headroom: 38,
        }
      : {
          function: 'nft_do_chain',
          module: 'nf_tables',
          btfId: 12,
          cookie: '18446744073709551615',
          status: 'pending',
        },
  ],
  unmatched: [{ pattern: 'xfs:*', reason: 'no module xfs' }],
});

const policy = { name: 'tcp-latency', version: 3, spec: spec() };

describe('policyStatusOf', () => {
  it("attaches the plan's attach targets (with their u64 cookies), waits on pending ones and reports refused ones", () => {
    expect(policyStatusOf(policy, plan(false))).toEqual({
      policy: 'tcp-latency',
      policyVersion: 3,
      program: 'tcp_lat',
      attachType: 'BPF_TRACE_FENTRY_MULTI',
      path: 'tracing-multi',
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
        { object: 'vmlinux', function: 'tcp_full', btfId: 8, errno: 'E2BIG', reason: 'full' },
      ],
      unmatched: [{ pattern: 'xfs:*', reason: 'no module xfs' }],
    });
    expect(policyStatusOf(policy, plan(true)).attachable[1]).toEqual({
      object: 'nf_tables',
      function: 'nft_do_chain',
      btfId: 12,
      cookie: 18446744073709551615n,
    });
  });

  it('treats the targets of a module being drained as pending', () => {
    const status = policyStatusOf(policy, plan(true), 'nf_tables');
    expect(status.attachable.map((t) => t.function)).toEqual(['tcp_sendmsg']);
    expect(status.pending).toEqual([{ object: 'nf_tables', function: 'nft_do_chain' }]);
  });

  it('attaches nothing without a plan, or on a path the node cannot attach by', () => {
    expect(policyStatusOf(policy, undefined)).toMatchObject({ path: 'none', attachable: [] });
    const none = { ...plan(true), path: 'kprobe-multi' as const };
    expect(policyStatusOf(policy, none)).toMatchObject({ path: 'none', attachable: [] });
  });
});

describe('desiredLinks', () => {
  it('links exactly the functions the plan says to attach, whatever the patterns would match', () => {
    const subset: RecordedPlan = { ...plan(true), targets: [plan(true).targets[3]!] };
    const { groups, policies } = desiredLinks({
      assignment: { nodeId: 'n1', generation: 4, policies: [policy] },
      plans: new Map([['tcp-latency', subset]]),
      profile: 'v24',
    });
    expect(groups.map((g) => g.targets.map((t) => t.function))).toEqual([['nft_do_chain']]);
    expect(policies.map((p) => p.policy)).toEqual(['tcp-latency']);
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

  it("V24 multi: one program loaded against the policy's origin and one multi link over every target", () => {
    const withOrigin = {
      ...policy,
      spec: spec({
        program: { name: 'p', attach: 'fentry', reads: [0], origin: 'nf_tables:nft_do_chain' },
      }),
    };
    const groups = groupLinks({
      policy: withOrigin,
      path: 'tracing-multi',
      profile: 'v24',
      attachable,
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

  it('V24 multi without an origin (or one not among the targets) loads against the first target', () => {
    const elsewhere = {
      ...policy,
      spec: spec({ program: { name: 'p', attach: 'fentry', origin: 'udp_sendmsg' } }),
    };
    for (const p of [policy, elsewhere])
      expect(
        groupLinks({ policy: p, path: 'tracing-multi', profile: 'v24', attachable })[0]?.load.origin
          ?.function,
      ).toBe('tcp_sendmsg');
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
