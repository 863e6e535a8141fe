import { describe, expect, it } from 'vitest';
import type {
  HeldLink,
  LinkGroup,
  LinkTarget,
} from '../../../services/agent/src/reconcile/agent-policy.js';
import { planReconcile } from '../../../services/agent/src/reconcile/reconcile.plan.js';

const target = (fn: string, object = 'vmlinux', cookie = 0n): LinkTarget => ({
  object,
  function: fn,
  btfId: fn.length,
  cookie,
});

const group = (
  targets: readonly LinkTarget[],
  over: Partial<Pick<LinkGroup, 'policy' | 'policyVersion' | 'key'>> = {},
): LinkGroup => ({
  key: 'all',
  policy: 'tcp-latency',
  policyVersion: 1,
  program: 'tcp_lat',
  attach: 'fentry.multi',
  attachType: 'BPF_TRACE_FENTRY_MULTI',
  load: { reads: [] },
  targets,
  ...over,
});

/** The link the agent would hold after attaching `g` as link `linkId`. */
const heldFor = (g: LinkGroup, linkId: number): HeldLink => ({
  linkId,
  programId: linkId,
  policy: g.policy,
  policyVersion: g.policyVersion,
  program: g.program,
  attachType: g.attachType,
  groupKey: g.key,
  targets: g.targets.map((t) => ({ ...t, cookie: t.cookie.toString() })),
  connections: [],
  fdOpen: false,
});

const summary = (steps: ReturnType<typeof planReconcile>) =>
  steps.map((s) =>
    s.kind === 'attach'
      ? `attach ${s.group.policy}@${s.group.policyVersion}/${s.group.key} [${s.group.targets.map((t) => t.function).join(',')}]`
      : `release ${s.link.linkId} (${s.reason}) unless [${s.unless.join(',')}]`,
  );

describe('planReconcile', () => {
  it('attaches every desired group when the node holds nothing', () => {
    // Given nothing held, When two groups are desired
    const steps = planReconcile(
      [
        group([target('tcp_sendmsg')], { key: 'vmlinux' }),
        group([target('nft_do_chain', 'nf_tables')], { key: 'nf_tables' }),
      ],
      [],
    );
    // Then both attach, in desired order
    expect(summary(steps)).toEqual([
      'attach tcp-latency@1/vmlinux [tcp_sendmsg]',
      'attach tcp-latency@1/nf_tables [nft_do_chain]',
    ]);
  });

  it('does nothing when the held links already are the desired ones (restart: no double attach)', () => {
    const g = group([target('tcp_sendmsg'), target('tcp_recvmsg')]);
    // Given the link for g is held (targets in another order), When g is desired again
    const held = heldFor(group([target('tcp_recvmsg'), target('tcp_sendmsg')]), 7);
    // Then no step at all
    expect(planReconcile([g], [held])).toEqual([]);
  });

  it('makes before it breaks on a policy update: the new version attaches, then the old is released', () => {
    const v1 = heldFor(group([target('tcp_sendmsg')]), 3);
    const v2 = group([target('tcp_sendmsg')], { policyVersion: 2 });
    expect(summary(planReconcile([v2], [v1]))).toEqual([
      'attach tcp-latency@2/all [tcp_sendmsg]',
      'release 3 (replaced by tcp-latency version 2) unless [tcp-latency@2/all]',
    ]);
  });

  it('replaces a V24 multi link whose target set grows (a module loaded): new link first', () => {
    const before = heldFor(group([target('tcp_sendmsg')]), 1);
    const after = group([target('tcp_sendmsg'), target('nft_do_chain', 'nf_tables')]);
    expect(summary(planReconcile([after], [before]))).toEqual([
      'attach tcp-latency@1/all [tcp_sendmsg,nft_do_chain]',
      'release 1 (targets changed) unless [tcp-latency@1/all]',
    ]);
  });

  it('treats a changed cookie as a different link', () => {
    const before = heldFor(group([target('tcp_sendmsg', 'vmlinux', 1n)]), 1);
    const after = group([target('tcp_sendmsg', 'vmlinux', 2n)]);
    expect(summary(planReconcile([after], [before]))).toHaveLength(2);
  });

  it('labels the releases of a drain and keeps the link unless its replacement attached', () => {
    const before = heldFor(group([target('tcp_sendmsg'), target('nft_do_chain', 'nf_tables')]), 4);
    const after = group([target('tcp_sendmsg')]);
    expect(summary(planReconcile([after], [before], { drainModule: 'nf_tables' }))).toEqual([
      'attach tcp-latency@1/all [tcp_sendmsg]',
      'release 4 (drain module nf_tables) unless [tcp-latency@1/all]',
    ]);
  });

  it('keeps the old version when the new one has nothing to attach on the node (failed update)', () => {
    // Given v1 held, When v2 is assigned but none of its targets can attach here
    const v1 = heldFor(group([target('tcp_sendmsg')]), 3);
    const steps = planReconcile([], [v1], { assigned: new Map([['tcp-latency', 2]]) });
    // Then nothing is released: the node keeps tracing with v1
    expect(steps).toEqual([]);
  });

  it('still drains a module under an old version kept by a failed update', () => {
    const v1 = heldFor(group([target('nft_do_chain', 'nf_tables')]), 5);
    const steps = planReconcile([], [v1], {
      assigned: new Map([['tcp-latency', 2]]),
      drainModule: 'nf_tables',
    });
    expect(summary(steps)).toEqual(['release 5 (drain module nf_tables) unless []']);
  });

  it('releases unconditionally the links of a policy no longer assigned', () => {
    const old = heldFor(group([target('tcp_sendmsg')], { policy: 'gone' }), 9);
    expect(summary(planReconcile([], [old]))).toEqual([
      'release 9 (policy no longer assigned) unless []',
    ]);
  });

  it('says "targets changed", not "no longer assigned", when an assigned policy has nothing left to attach', () => {
    const old = heldFor(group([target('nft_do_chain', 'nf_tables')], { key: 'nf_tables' }), 2);
    const steps = planReconcile([], [old], { assigned: new Map([['tcp-latency', 1]]) });
    expect(summary(steps)).toEqual(['release 2 (targets changed) unless []']);
  });

  it('keeps per-function links that still match and only changes the others', () => {
    const a = group([target('tcp_sendmsg')], { key: 'vmlinux:tcp_sendmsg' });
    const b = group([target('tcp_recvmsg')], { key: 'vmlinux:tcp_recvmsg' });
    const c = group([target('udp_sendmsg')], { key: 'vmlinux:udp_sendmsg' });
    expect(summary(planReconcile([a, c], [heldFor(a, 1), heldFor(b, 2)]))).toEqual([
      'attach tcp-latency@1/vmlinux:udp_sendmsg [udp_sendmsg]',
      'release 2 (targets changed) unless [tcp-latency@1/vmlinux:udp_sendmsg]',
    ]);
  });
});
