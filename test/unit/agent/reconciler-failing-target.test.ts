/**
 * A refused link_create names its failing target through the kernel model's structured failure
 * (kernel model -> KernelDriver outcome -> reconciler), not through the reason text. Real parts:
 * the sim kernel driver and the reconciler; the only stand-in is a second tool that takes a
 * trampoline slot between the agent's resolution and its link_create.
 */
import { describe, expect, it } from 'vitest';
import { planNode } from '@tramway/shared/domain';
import type { KernelProfile, KernelSpec } from '@tramway/shared/kernel';
import type { KernelDriver } from '../../../services/agent/src/kernel-driver/index.js';
import { createSimKernelDriverFromSpec } from '../../../services/agent/src/kernel-driver/index.js';
import { failingTargetOf, runPass } from '../../../services/agent/src/reconcile/reconciler.js';
import type {
  AssignedPolicy,
  LinkGroup,
} from '../../../services/agent/src/reconcile/agent-policy.js';
import { policyOf } from '../../../services/agent/src/reconcile/agent-plans.js';

const specOf = (profile: KernelProfile): KernelSpec => ({
  profile,
  limits: { maxTrampLinks: 1 },
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: ['tcp_a', 'tcp_b', 'tcp_c'].map((name) => ({
        name,
        ret: 'int',
        params: ['void *', 'u64'],
      })),
    },
  ],
});

/** The driver, with another tool attaching to `fn` just before the agent's first link_create. */
const racedDriver = (profile: KernelProfile, fn: string): KernelDriver => {
  const made = createSimKernelDriverFromSpec(specOf(profile));
  if (!made.ok) throw new Error(JSON.stringify(made.error));
  const driver = made.value;
  let raced = false;
  return {
    ...driver,
    apply: async (op) => {
      if (op.op === 'link_create' && !raced) {
        raced = true;
        const other = await driver.apply({
          op: 'prog_load',
          name: 'other_tool',
          attach: 'fentry',
          origin: { name: fn },
        });
        if (!other.ok || other.value === null || !('progId' in other.value))
          throw new Error('the other tool could not load');
        const linked = await driver.apply({
          op: 'link_create',
          prog: other.value.progId,
          targets: [],
        });
        if (!linked.ok) throw new Error('the other tool could not attach');
      }
      return driver.apply(op);
    },
  };
};

describe('runPass: a refused link_create', () => {
  it.each(['v24', 'v26'] as const)(
    '%s: reports the target the kernel names, not the first one',
    async (profile) => {
      const driver = racedDriver(profile, 'tcp_b');
      const policy: AssignedPolicy = {
        name: 'tcp',
        version: 1,
        spec: {
          program: { name: 'tcp_lat', attach: 'fentry' },
          targets: [{ pattern: 'tcp_*' }],
          strategy: 'multi',
        },
      };
      const kernel = driver.state();
      if (kernel === undefined) throw new Error('the sim driver has a model state');
      const plan = planNode(kernel, policyOf(policy), { nodeId: 'node-1', policyVersion: 1 });
      const sut = await runPass({
        driver,
        profile,
        scope: { nodeId: 'node-1', bootId: 'boot-1' },
        assignment: { nodeId: 'node-1', generation: 1, policies: [policy] },
        plans: new Map([
          ['tcp', { path: plan.path, targets: plan.targets, unmatched: plan.unmatched }],
        ]),
        held: [],
      });
      const failed = sut.facts
        .map((f) => f.event)
        .filter((e) => e.type === 'LinkCreateFailed')
        .map((e) => e.data);
      expect(failed).toEqual([
        expect.objectContaining({
          errno: 7,
          failingTarget: expect.objectContaining({ function: 'tcp_b' }),
        }),
      ]);
      expect(sut.attachFailures.map((f) => [f.errno, f.reason])).toEqual([
        ['E2BIG', expect.stringMatching(/trampoline of tcp_b already has 1 of 1 links$/)],
      ]);
    },
  );
});

describe('failingTargetOf', () => {
  const group = {
    targets: [
      { object: 'vmlinux', function: 'f1', btfId: 11, cookie: 0n },
      { object: 'mod', function: 'm1', btfId: 40, cookie: 0n },
    ],
  } as unknown as LinkGroup;

  it('names the group target at the failed target index', () => {
    expect(failingTargetOf(group, { index: 1 })).toEqual({
      object: 'mod',
      function: 'm1',
      btfId: 40,
    });
  });

  it('names the first target when the refusal names none', () => {
    expect(failingTargetOf(group, undefined)).toEqual({
      object: 'vmlinux',
      function: 'f1',
      btfId: 11,
    });
  });
});
