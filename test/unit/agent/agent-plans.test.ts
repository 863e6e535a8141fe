import { describe, expect, it } from 'vitest';
import { planNode } from '@tramway/shared/domain';
import type { RecordedPlan } from '@tramway/shared/domain';
import { applyOp, dumpState } from '@tramway/shared/kernel';
import type { KernelState, StateDump } from '@tramway/shared/kernel';
import type { PlanInput } from '../../../services/agent/src/reconcile/agent-plans.js';
import {
  decidePlans,
  occupancyOf,
  policyOf,
} from '../../../services/agent/src/reconcile/agent-plans.js';
import type { AssignedPolicy } from '../../../services/agent/src/reconcile/agent-policy.js';
import { kernelOf, webNodeSpec } from '../domain/plan/plan-kernels.js';

const spec = {
  program: { name: 'tcp_lat', attach: 'fentry' as const },
  targets: [{ pattern: 'tcp_s*', cookie: 4 }, { pattern: 'nf_tables:nft_*' }],
};
const kernel = kernelOf(webNodeSpec('v24'));
const loaded = (() => {
  const outcome = applyOp(kernel, { op: 'module_load', module: 'nf_tables' });
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.state;
})();

const planOn = (k: KernelState): RecordedPlan => {
  const made = planNode(k, policyOf({ name: 'tcp-latency', version: 2, spec }), {
    nodeId: 'web-1',
    policyVersion: 2,
  });
  return { path: made.path, targets: made.targets, unmatched: made.unmatched };
};

const input = (policy: AssignedPolicy, over: Partial<PlanInput> = {}): PlanInput => ({
  nodeId: 'web-1',
  assignment: { nodeId: 'web-1', generation: 5, policies: [policy] },
  held: [],
  kernel,
  bootId: 'boot-1',
  btfFingerprint: 'sha256:aaaaaaaaaaaaaaaa',
  planPath: undefined,
  ...over,
});

describe('decidePlans', () => {
  it('takes the plan the assignment carries while it holds, and plans nothing', () => {
    const plan = planOn(kernel);
    const sut = decidePlans(input({ name: 'tcp-latency', version: 2, spec, plan }));
    expect(sut.replanned).toEqual([]);
    expect(sut.plans).toMatchObject([
      { policy: 'tcp-latency', version: 2, source: 'assigned', plan },
    ]);
  });

  it('plans with planNode when the assignment has none, then keeps that plan on the next pass', () => {
    const policy = { name: 'tcp-latency', version: 2, spec };
    const first = decidePlans(input(policy));
    expect(first.replanned).toEqual([
      {
        policy: 'tcp-latency',
        version: 2,
        reason: 'no plan in the assignment',
        plan: planOn(kernel),
      },
    ]);
    const next = decidePlans(input(policy, { held: first.plans }));
    expect(next.replanned).toEqual([]);
    expect(next.plans).toEqual(first.plans);
  });

  it('re-plans when a module loaded under the plan, and once only', () => {
    const policy = { name: 'tcp-latency', version: 2, spec, plan: planOn(kernel) };
    const first = decidePlans(input(policy, { kernel: loaded }));
    expect(first.replanned.map((r) => r.reason)).toEqual(['module nf_tables loaded']);
    expect(first.plans[0]?.plan).toEqual(planOn(loaded));
    const next = decidePlans(input(policy, { kernel: loaded, held: first.plans }));
    expect(next.replanned).toEqual([]);
  });

  it('says a change came with a reboot, and re-plans on a changed BTF even when the plan still reads right', () => {
    const policy = { name: 'tcp-latency', version: 2, spec, plan: planOn(kernel) };
    const held = decidePlans(input(policy)).plans;
    const rebooted = decidePlans(input(policy, { held, kernel: loaded, bootId: 'boot-2' }));
    expect(rebooted.replanned.map((r) => r.reason)).toEqual([
      'module nf_tables loaded after reboot',
    ]);
    const sameBoot = decidePlans(
      input(policy, { held, bootId: 'boot-2', btfFingerprint: 'sha256:bbbbbbbbbbbbbbbb' }),
    );
    expect(sameBoot.replanned.map((r) => r.reason)).toEqual([
      'BTF changed (sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb) after reboot',
    ]);
  });

  it('takes a plan recorded again for the same version instead of the one it held', () => {
    const policy = { name: 'tcp-latency', version: 2, spec, plan: planOn(kernel) };
    const held = decidePlans(input(policy)).plans;
    const again = {
      ...policy,
      plan: { ...planOn(kernel), unmatched: [{ pattern: 'x', reason: 'y' }] },
    };
    const sut = decidePlans(input(again, { held }));
    expect(sut.replanned).toEqual([]);
    expect(sut.plans[0]?.plan).toBe(again.plan);
  });

  it('uses the plan as sent, unchecked, on a driver without a kernel model', () => {
    const plan = planOn(loaded);
    const sut = decidePlans(
      input({ name: 'tcp-latency', version: 2, spec, plan }, { kernel: undefined }),
    );
    expect(sut.plans.map((p) => p.plan)).toEqual([plan]);
    expect(
      decidePlans(input({ name: 'tcp-latency', version: 2, spec }, { kernel: undefined })).plans,
    ).toEqual([]);
  });
});

describe('occupancyOf', () => {
  it('counts, per function, the links of a dump that the model state does not hold', () => {
    const k = kernelOf(
      webNodeSpec('v26'),
      { op: 'prog_load', name: 'mine', attach: 'fentry', origin: { name: 'tcp_sendmsg' } },
      { op: 'link_create', prog: 1, targets: [{ name: 'tcp_sendmsg' }] },
    );
    const own = dumpState(k);
    const slot = (link: number) => ({ link, prog: 'other', cookie: 0n });
    const withOthers: StateDump = {
      ...own,
      trampolines: own.trampolines.map((t) => ({
        ...t,
        fentry: [...t.fentry, slot(900)],
        fexit: [slot(901), slot(900)],
      })),
    };
    const sendmsg = own.trampolines[0]!;

    expect(occupancyOf(own, k)).toEqual(new Map());
    expect(occupancyOf(withOthers, k)).toEqual(new Map([[`vmlinux:${sendmsg.btfId}`, 2]]));
    // a driver whose model holds no links (bpf): every link on the trampoline counts
    expect(occupancyOf(own, undefined)).toEqual(new Map([[`vmlinux:${sendmsg.btfId}`, 1]]));
  });
});
