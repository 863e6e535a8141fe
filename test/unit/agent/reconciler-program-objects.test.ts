/**
 * A policy that names a program object (spec.program.object): the reconciler fetches it by
 * digest and verifies it before any kernel operation; the driver's prog_load gets the verified
 * object. A missing, changed, unreadable or wrong object loads nothing and is reported as
 * LinkCreateFailed with the reason. Real parts: the sim kernel driver, the reconciler, the ELF
 * reader; the program source is a map (what a store's `get` answers).
 */
import { describe, expect, it } from 'vitest';
import { planNode } from '@tramway/shared/domain';
import type { KernelOp, KernelSpec } from '@tramway/shared/kernel';
import { programDigest } from '@tramway/shared/infra';
import type { ApplyContext } from '../../../services/agent/src/kernel-driver/index.js';
import { createSimKernelDriverFromSpec } from '../../../services/agent/src/kernel-driver/index.js';
import { runPass } from '../../../services/agent/src/reconcile/reconciler.js';
import type { PassResult } from '../../../services/agent/src/reconcile/reconciler.js';
import type { AssignedPolicy } from '../../../services/agent/src/reconcile/agent-policy.js';
import { policyOf } from '../../../services/agent/src/reconcile/agent-plans.js';
import type { ProgramSource } from '../../../services/agent/src/reconcile/program-objects.js';
import { exampleObject } from '../../fixtures/programs/bpf-elf.fixture.js';

const SPEC: KernelSpec = {
  profile: 'v26',
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: ['tcp_a', 'tcp_b'].map((name) => ({ name, ret: 'int', params: ['void *'] })),
    },
  ],
};

const OBJECT = exampleObject('func_stats');
const DIGEST = programDigest(OBJECT);

const policyNaming = (object: string, program = 'stats_fentry'): AssignedPolicy => ({
  name: 'stats',
  version: 1,
  spec: {
    program: { name: program, object, attach: 'fentry' },
    targets: [{ pattern: 'tcp_*', cookie: 5 }],
    strategy: 'multi',
  },
});

/** One pass of `policy` on a fresh sim kernel; every op and its context recorded. */
const pass = async (
  policy: AssignedPolicy,
  programs: ProgramSource | undefined,
): Promise<{ result: PassResult; ops: { op: KernelOp; context?: ApplyContext }[] }> => {
  const made = createSimKernelDriverFromSpec(SPEC);
  if (!made.ok) throw new Error(JSON.stringify(made.error));
  const sim = made.value;
  const ops: { op: KernelOp; context?: ApplyContext }[] = [];
  const driver = {
    ...sim,
    apply: (op: KernelOp, context?: ApplyContext) => {
      ops.push(context === undefined ? { op } : { op, context });
      return sim.apply(op);
    },
  };
  const plan = planNode(sim.state()!, policyOf(policy), { nodeId: 'node-1', policyVersion: 1 });
  const result = await runPass({
    driver,
    profile: 'v26',
    scope: { nodeId: 'node-1', bootId: 'boot-1' },
    assignment: { nodeId: 'node-1', generation: 3, policies: [policy] },
    plans: new Map([
      ['stats', { path: plan.path, targets: plan.targets, unmatched: plan.unmatched }],
    ]),
    held: [],
    ...(programs === undefined ? {} : { programs }),
  });
  return { result, ops };
};

const sourceOf = (entries: Record<string, Uint8Array>): ProgramSource => ({
  get: (digest) => Promise.resolve(entries[digest]),
});

const failures = (result: PassResult) =>
  result.facts
    .map((f) => f.event)
    .filter((e) => e.type === 'LinkCreateFailed')
    .map((e) => e.data as { errno: number; reason: string; programId: number });

describe('runPass with a program object', () => {
  it('verifies the object, then loads with it in the context and attaches', async () => {
    const { result, ops } = await pass(policyNaming(DIGEST), sourceOf({ [DIGEST]: OBJECT }));
    expect(failures(result)).toEqual([]);
    expect(result.held).toHaveLength(1);
    const load = ops.find((o) => o.op.op === 'prog_load')!;
    expect(load.context?.programObject).toMatchObject({
      digest: DIGEST,
      program: { name: 'stats_fentry', attach: 'fentry' },
    });
    expect(load.context?.programObject?.bytes).toEqual(OBJECT);
    // every other op goes without context
    expect(ops.filter((o) => o.context !== undefined)).toHaveLength(1);
  });

  it.each([
    [
      'not stored',
      sourceOf({}),
      2,
      `program object refused: program object ${DIGEST} is not stored`,
    ],
    [
      'changed bytes',
      sourceOf({ [DIGEST]: OBJECT.map((b, i) => (i === 100 ? b ^ 1 : b)) }),
      74,
      'program object refused: program object sha256:',
    ],
    [
      'no source at all',
      undefined,
      2,
      `program object refused: ${DIGEST}: this agent has no program store to fetch it from`,
    ],
    [
      'a failing source',
      { get: () => Promise.reject(new Error('bucket not found')) },
      5,
      `program object refused: ${DIGEST}: fetching it failed: bucket not found`,
    ],
  ] as const)(
    'refuses (%s): no kernel operation, LinkCreateFailed with the reason',
    async (_what, source, errno, reason) => {
      const { result, ops } = await pass(policyNaming(DIGEST), source);
      expect(ops).toEqual([]);
      expect(result.held).toEqual([]);
      const failed = failures(result);
      expect(failed.length).toBeGreaterThan(0);
      for (const f of failed) {
        expect(f.errno).toBe(errno);
        expect(f.programId).toBe(0);
        expect(f.reason.startsWith(reason)).toBe(true);
      }
      expect(result.attachFailures.every((a) => a.reason === failed[0]!.reason)).toBe(true);
    },
  );

  it("refuses an object that holds no program of the policy's name", async () => {
    const { result, ops } = await pass(
      policyNaming(DIGEST, 'missing_prog'),
      sourceOf({ [DIGEST]: OBJECT }),
    );
    expect(ops).toEqual([]);
    expect(failures(result)[0]).toMatchObject({
      errno: 2,
      reason: expect.stringContaining('holds no program missing_prog'),
    });
  });

  it('refuses a program whose section attaches otherwise than the policy says', async () => {
    const { result, ops } = await pass(
      policyNaming(DIGEST, 'stats_fexit'),
      sourceOf({ [DIGEST]: OBJECT }),
    );
    expect(ops).toEqual([]);
    expect(failures(result)[0]).toMatchObject({
      errno: 22,
      reason: expect.stringContaining(
        'stats_fexit is in section fexit (fexit), the policy attaches it as fentry',
      ),
    });
  });

  it('takes a tracing multi program for a policy of the same attach type', async () => {
    const multi = exampleObject('func_stats_multi');
    const digest = programDigest(multi);
    const { result } = await pass(
      policyNaming(digest, 'stats_entry'),
      sourceOf({ [digest]: multi }),
    );
    expect(failures(result)).toEqual([]);
    expect(result.held).toHaveLength(1);
  });

  it('refuses bytes that are not a BPF object even when their digest matches', async () => {
    const text = new TextEncoder().encode('not an object');
    const digest = programDigest(text);
    const { result, ops } = await pass(policyNaming(digest), sourceOf({ [digest]: text }));
    expect(ops).toEqual([]);
    expect(failures(result)[0]).toMatchObject({
      errno: 8,
      reason: expect.stringContaining('not a BPF object: '),
    });
  });

  it('runs no verification for a policy without an object (the sim demo)', async () => {
    const policy: AssignedPolicy = {
      ...policyNaming(DIGEST),
      spec: { ...policyNaming(DIGEST).spec, program: { name: 'tcp_lat', attach: 'fentry' } },
    };
    const { result, ops } = await pass(policy, undefined);
    expect(failures(result)).toEqual([]);
    expect(ops.every((o) => o.context === undefined)).toBe(true);
  });
});
