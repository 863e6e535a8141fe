import { describe, expect, it } from 'vitest';
import { planNode } from '../../../../shared/src/domain/plan/node-plan.js';
import { planChanges } from '../../../../shared/src/domain/plan/plan-check.js';
import type { RecordedPlan } from '../../../../shared/src/domain/plan/node-plan.types.js';
import type { KernelState } from '../../../../shared/src/kernel/index.js';
import { applyOp } from '../../../../shared/src/kernel/index.js';
import { kernelOf, policyOf, webNodeSpec } from './plan-kernels.js';

const policy = policyOf({ targets: [{ pattern: 'tcp_s*' }, { pattern: 'nf_tables:nft_*' }] });
const ctx = { nodeId: 'web-1', policyVersion: 1 };

const recorded = (kernel: KernelState): RecordedPlan => {
  const made = planNode(kernel, policy, ctx);
  return { path: made.path, targets: made.targets, unmatched: made.unmatched };
};

const apply = (kernel: KernelState, ...ops: Parameters<typeof applyOp>[1][]): KernelState =>
  ops.reduce((k, op) => {
    const outcome = applyOp(k, op);
    if (!outcome.ok) throw new Error(`${op.op}: ${outcome.reason}`);
    return outcome.state;
  }, kernel);

describe('planChanges', () => {
  it('finds nothing while the kernel is the one the plan was made on', () => {
    const kernel = kernelOf(webNodeSpec('v24'));
    expect(planChanges(kernel, policy, recorded(kernel), {})).toEqual([]);
  });

  it('names a module loaded under pending targets, and one unloaded under attach targets', () => {
    const before = kernelOf(webNodeSpec('v24'));
    const loaded = apply(before, { op: 'module_load', module: 'nf_tables' });
    expect(planChanges(loaded, policy, recorded(before), {})).toEqual(['module nf_tables loaded']);
    const unloaded = apply(loaded, { op: 'module_unload', module: 'nf_tables' });
    expect(planChanges(unloaded, policy, recorded(loaded), {})).toEqual([
      'module nf_tables unloaded',
    ]);
  });

  it('names a module loaded again with a new BTF object id', () => {
    const first = apply(kernelOf(webNodeSpec('v26')), { op: 'module_load', module: 'nf_tables' });
    const again = apply(
      first,
      { op: 'module_unload', module: 'nf_tables' },
      { op: 'module_load', module: 'nf_tables' },
    );
    const was = first.modules.get('nf_tables')!.objId!;
    const now = again.modules.get('nf_tables')!.objId!;
    expect(planChanges(again, policy, recorded(first), {})).toEqual([
      `module nf_tables BTF object id ${was} -> ${now}`,
    ]);
  });

  it('names a BTF id that no longer names its function, and a vmlinux object id that moved', () => {
    const kernel = kernelOf(webNodeSpec('v24'));
    const plan = recorded(kernel);
    const moved: RecordedPlan = {
      ...plan,
      targets: plan.targets.map((t) =>
        t.function === 'tcp_sendmsg' ? { ...t, btfId: t.btfId! + 1 } : t,
      ),
    };
    const sendmsg = moved.targets[0]!;
    expect(planChanges(kernel, policy, moved, {})).toEqual([
      `BTF id ${sendmsg.btfId} of vmlinux is no longer tcp_sendmsg`,
    ]);
    const elsewhere: RecordedPlan = {
      ...plan,
      targets: plan.targets.map((t) => (t.module === undefined ? { ...t, objId: 7 } : t)),
    };
    expect(planChanges(kernel, policy, elsewhere, {})).toEqual([
      `vmlinux BTF object id 7 -> ${sendmsg.objId}`,
    ]);
  });

  it('names a changed attach path (the node lost its multi-link)', () => {
    const kernel = kernelOf(webNodeSpec('v24'));
    expect(planChanges(kernel, policy, recorded(kernel), { path: 'fentry-per-function' })).toEqual([
      'attach path tracing-multi -> fentry-per-function',
    ]);
  });
});

describe('planNode with a V24 origin in a module', () => {
  it('loads against the first function that is there until the module loads, instead of refusing everything', () => {
    const withOrigin = policyOf({
      program: { name: 'tcp_lat', attach: 'fentry', origin: 'nf_tables:nft_do_chain' },
      targets: [{ pattern: 'tcp_s*' }, { pattern: 'nf_tables:nft_*' }],
    });
    const kernel = kernelOf(webNodeSpec('v24'));
    const statuses = (k: KernelState) =>
      planNode(k, withOrigin, ctx).targets.map((t) => `${t.function}:${t.status}`);
    expect(statuses(kernel)).toEqual([
      'tcp_sendmsg:attach',
      'nft_do_chain:pending',
      'nft_do_chain_ipv4:pending',
    ]);
    expect(statuses(apply(kernel, { op: 'module_load', module: 'nf_tables' }))).toEqual([
      'tcp_sendmsg:attach',
      'nft_do_chain:attach',
      'nft_do_chain_ipv4:attach',
    ]);
  });
});
