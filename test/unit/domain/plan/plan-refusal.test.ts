import { describe, expect, it } from 'vitest';
import { planNode } from '../../../../shared/src/domain/plan/node-plan.js';
import { refusePlan } from '../../../../shared/src/domain/plan/plan-refusal.js';
import { kernelOf, policyOf, webNodeSpec } from './plan-kernels.js';

const labels = new Set(['role', 'zone']);

describe('refusePlan', () => {
  const web = policyOf({
    targets: [{ pattern: 'tcp_*' }],
    nodeSelector: { matchLabels: { role: 'web' } },
  });
  const planOn = (nodeId: string, policy = web, kernel = kernelOf(webNodeSpec('v26'))) =>
    planNode(kernel, policy, { nodeId, policyVersion: 1 });

  it('accepts a policy that matches functions on the selected nodes', () => {
    expect(refusePlan([planOn('w1'), planOn('w2')], web, labels)).toBeUndefined();
  });

  it('accepts a policy whose only matches are pending module functions', () => {
    const nft = policyOf({ targets: [{ pattern: 'nf_tables:nft_*' }] });
    expect(refusePlan([planOn('w1', nft)], nft, labels)).toBeUndefined();
  });

  it('refuses a policy that matches no function on any selected node', () => {
    const udp = policyOf({ targets: [{ pattern: 'udp_*' }, { pattern: 'sctp_*' }] });
    expect(refusePlan([planOn('w1', udp), planOn('w2', udp)], udp, labels)).toEqual({
      reasons: ["no function matched on any of the 2 selected node(s): 'udp_*', 'sctp_*'"],
    });
  });

  it('refuses a selector naming a label no node has, and one that selects no node', () => {
    const typo = policyOf({
      targets: [{ pattern: 'tcp_*' }],
      nodeSelector: { matchLabels: { rol: 'web' } },
    });
    expect(refusePlan([], typo, labels)).toEqual({
      reasons: [
        'nodeSelector.matchLabels.rol: no registered node has the label "rol"',
        'nodeSelector (rol=web) selects no registered node',
      ],
    });
  });

  it('refuses a policy that would overfill a trampoline, naming the node and the functions', () => {
    const full = kernelOf(
      webNodeSpec('v26', 1),
      { op: 'prog_load', name: 'other', attach: 'fentry', origin: { name: 'tcp_close' } },
      { op: 'link_create', prog: 1, targets: [{ name: 'tcp_close' }] },
    );
    const plans = [planOn('w1'), planOn('w2', web, full)];
    expect(refusePlan(plans, web, labels)).toEqual({
      reasons: [
        'node w2: the trampoline of tcp_close has no free slot (every one of its links is in use): attaching would overfill it (E2BIG)',
      ],
    });
  });
});
