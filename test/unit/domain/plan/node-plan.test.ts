import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseKernelSpec } from '../../../../services/agent/src/kernel/sim-kernel.loader.js';
import { parsePolicy } from '../../../../shared/src/contracts/policy.contract.js';
import { choosePath, planNode } from '../../../../shared/src/domain/plan/node-plan.js';
import type { KernelOp } from '../../../../shared/src/kernel/index.js';
import { kernelOf, policyOf, webNodeSpec } from './plan-kernels.js';

const ctx = { nodeId: 'web-1', policyVersion: 3 };

const tcpLatency = () => {
  const parsed = parsePolicy(
    readFileSync(
      new URL('../../../../examples/policies/tcp-latency.yaml', import.meta.url),
      'utf8',
    ),
  );
  if (!parsed.ok) throw new Error('example policy is invalid');
  return parsed.value;
};

const statusOf = (plan: ReturnType<typeof planNode>) =>
  Object.fromEntries(plan.targets.map((t) => [t.function, t.status]));

const singleLink = (fn: string, attach = 'fentry'): KernelOp[] => [
  { op: 'prog_load', name: `p_${fn}`, attach, origin: { name: fn } },
];

describe('choosePath', () => {
  it.each([
    ['v24', 'auto', 'fentry', 'tracing-multi'],
    ['v26', 'auto', 'fexit', 'tracing-multi'],
    ['v24', 'auto', 'fmod_ret', 'tracing-multi'],
    ['v26', 'auto', 'fmod_ret', 'fentry-per-function'],
    ['v26', 'multi', 'fmod_ret', 'none'],
    ['none', 'auto', 'fentry', 'fentry-per-function'],
    ['none', 'multi', 'fentry', 'none'],
    ['v26', 'per-function', 'fentry', 'fentry-per-function'],
  ] as const)('profile %s, strategy %s, %s -> %s', (profile, strategy, attach, path) => {
    expect(choosePath(profile, strategy, attach)).toBe(path);
  });
});

describe('planNode', () => {
  it.each(['v24', 'v26'] as const)(
    'plans the tcp-latency example on a %s web node: TCP functions attach by multi-link, nf_tables ones wait for their module',
    (profile) => {
      const sut = planNode(kernelOf(webNodeSpec(profile)), tcpLatency(), ctx);
      expect(sut).toMatchObject({
        nodeId: 'web-1',
        policy: 'tcp-latency',
        policyVersion: 3,
        path: 'tracing-multi',
      });
      expect(
        sut.targets.map((t) => [t.function, t.module ?? 'vmlinux', t.cookie, t.status]),
      ).toEqual([
        ['tcp_sendmsg', 'vmlinux', '1', 'attach'],
        ['tcp_recvmsg', 'vmlinux', '2', 'attach'],
        ['tcp_v4_connect', 'vmlinux', '3', 'attach'],
        ['tcp_v6_connect', 'vmlinux', '3', 'attach'],
        ['nft_do_chain', 'nf_tables', '18446744073709551615', 'pending'],
        ['nft_do_chain_ipv4', 'nf_tables', '18446744073709551615', 'pending'],
      ]);
      expect(
        sut.targets.filter((t) => t.status === 'pending').every((t) => t.objId === undefined),
      ).toBe(true);
      expect(sut.targets[0]).toMatchObject({ objId: expect.any(Number) as number, headroom: 38 });
      expect(sut.counts).toEqual({ attach: 4, pending: 2, rejected: 0, trampolineFull: 0 });
      expect(sut.unmatched).toEqual([]);
    },
  );

  it('attaches module targets once the module is loaded, with the object id of that load', () => {
    const kernel = kernelOf(webNodeSpec('v26'), { op: 'module_load', module: 'nf_tables' });
    const sut = planNode(kernel, tcpLatency(), ctx);
    const nft = sut.targets.filter((t) => t.module === 'nf_tables');
    expect(nft.map((t) => t.status)).toEqual(['attach', 'attach']);
    expect(nft[0]?.objId).toBeGreaterThan(sut.targets[0]?.objId ?? Infinity);
    expect(sut.counts.pending).toBe(0);
  });

  it('reports headroom from the links already on each trampoline, and a full one as trampoline-full (E2BIG)', () => {
    const kernel = kernelOf(
      webNodeSpec('v26', 2),
      ...singleLink('tcp_sendmsg'),
      { op: 'link_create', prog: 1, targets: [{ name: 'tcp_sendmsg' }] },
      ...singleLink('tcp_sendmsg', 'fexit'),
      { op: 'link_create', prog: 2, targets: [{ name: 'tcp_sendmsg' }] },
      ...singleLink('tcp_recvmsg'),
      { op: 'link_create', prog: 3, targets: [{ name: 'tcp_recvmsg' }] },
    );
    const sut = planNode(kernel, policyOf({ targets: [{ pattern: 'tcp_*msg' }] }), ctx);
    expect(sut.targets).toMatchObject([
      { function: 'tcp_sendmsg', status: 'trampoline-full', errno: 'E2BIG', headroom: 0 },
      { function: 'tcp_recvmsg', status: 'attach', headroom: 1 },
    ]);
    expect(sut.counts).toEqual({ attach: 1, pending: 0, rejected: 0, trampolineFull: 1 });
  });

  it("counts links the model does not hold (other tools', a real kernel's) against the budget", () => {
    const kernel = kernelOf(webNodeSpec('v26', 3), ...singleLink('tcp_recvmsg'), {
      op: 'link_create',
      prog: 1,
      targets: [{ name: 'tcp_recvmsg' }],
    });
    const policy = policyOf({ targets: [{ pattern: 'tcp_*msg' }] });
    const vmlinux = kernel.templates[0]!.view.btf;
    const idOf = (name: string): number =>
      vmlinux.firstTypeId + vmlinux.types.findIndex((t) => t.kind === 'func' && t.name === name);
    const occupied = new Map([
      [`vmlinux:${idOf('tcp_sendmsg')}`, 3],
      [`vmlinux:${idOf('tcp_recvmsg')}`, 1],
    ]);

    const sut = planNode(kernel, policy, { ...ctx, occupied });
    const without = planNode(kernel, policy, ctx);

    expect(sut.targets).toMatchObject([
      { function: 'tcp_sendmsg', status: 'trampoline-full', errno: 'E2BIG', headroom: 0 },
      { function: 'tcp_recvmsg', status: 'attach', headroom: 1 },
    ]);
    expect(sut.targets[0]!.reason).toMatch(/budget of 3 links is used up \(3 held by programs/);
    expect(without.targets).toMatchObject([
      { function: 'tcp_sendmsg', status: 'attach', headroom: 3 },
      { function: 'tcp_recvmsg', status: 'attach', headroom: 2 },
    ]);
  });

  it('on V24, checks each target against the origin prototype for the arguments the program reads', () => {
    const sut = planNode(
      kernelOf(webNodeSpec('v24')),
      policyOf({
        program: { name: 'p', attach: 'fentry', reads: [0] },
        targets: [{ pattern: 'tcp_sendmsg' }, { pattern: 'tcp_bad' }],
      }),
      ctx,
    );
    expect(sut.path).toBe('tracing-multi');
    expect(statusOf(sut)).toEqual({ tcp_sendmsg: 'attach', tcp_bad: 'rejected' });
    expect(sut.targets[1]).toMatchObject({
      errno: expect.any(String) as string,
      reason: expect.any(String) as string,
    });
  });

  it('on V24 without an origin, takes the first target that can be loaded as the origin', () => {
    const sut = planNode(
      kernelOf(webNodeSpec('v24')),
      policyOf({
        program: { name: 'p', attach: 'fexit' },
        targets: [{ pattern: 'do_exit' }, { pattern: 'tcp_sendmsg' }],
      }),
      ctx,
    );
    // libbpf's default origin (the first match, do_exit) fails the load: fexit on a __noreturn
    // function (spec §3.12 item 7, load only). With tcp_sendmsg as origin the load succeeds, and
    // do_exit is then only checked by the attach-time rules, which it passes.
    expect(statusOf(sut)).toEqual({ do_exit: 'attach', tcp_sendmsg: 'attach' });
  });

  it('uses one program per function for fmod_ret on V26 (no MODIFY_RETURN_MULTI), rejecting non-injectable functions', () => {
    const sut = planNode(
      kernelOf(webNodeSpec('v26')),
      policyOf({
        program: { name: 'p', attach: 'fmod_ret' },
        targets: [{ pattern: 'should_fail' }, { pattern: 'tcp_sendmsg' }],
      }),
      ctx,
    );
    expect(sut.path).toBe('fentry-per-function');
    expect(statusOf(sut)).toEqual({ should_fail: 'attach', tcp_sendmsg: 'rejected' });
    expect(sut.targets[1]).toMatchObject({ errno: 'EINVAL' });
  });

  it('per-function strategy: a deny-listed function is rejected, the others attach', () => {
    const sut = planNode(
      kernelOf(webNodeSpec('v26')),
      policyOf({
        strategy: 'per-function',
        targets: [{ pattern: 'migrate_disable' }, { pattern: 'tcp_close' }],
      }),
      ctx,
    );
    expect(sut.path).toBe('fentry-per-function');
    expect(statusOf(sut)).toEqual({ migrate_disable: 'rejected', tcp_close: 'attach' });
  });

  it('strategy multi on a node without tracing multi-link plans path none, every target rejected with the reason', () => {
    const sut = planNode(
      kernelOf(webNodeSpec('v26')),
      policyOf({ strategy: 'multi', targets: [{ pattern: 'tcp_close' }] }),
      {
        ...ctx,
        path: 'fentry-per-function',
      },
    );
    expect(sut.path).toBe('none');
    expect(sut.targets).toMatchObject([
      {
        function: 'tcp_close',
        status: 'rejected',
        errno: 'EOPNOTSUPP',
        reason: expect.stringMatching(/no tracing multi-link/) as unknown as string,
      },
    ]);
  });

  it('a node whose best path is kprobe-multi gets that path and no attachable target (not modelled)', () => {
    const sut = planNode(
      kernelOf(webNodeSpec('v26')),
      policyOf({ targets: [{ pattern: 'tcp_close' }] }),
      {
        ...ctx,
        path: 'kprobe-multi',
      },
    );
    expect(sut.path).toBe('kprobe-multi');
    expect(sut.counts).toEqual({ attach: 0, pending: 0, rejected: 1, trampolineFull: 0 });
  });

  it('lists patterns that match nothing, with the reason', () => {
    const sut = planNode(
      kernelOf(webNodeSpec('v26')),
      policyOf({
        targets: [{ pattern: 'udp_*' }, { pattern: 'xfs:xfs_*' }, { pattern: 'tcp_close' }],
      }),
      ctx,
    );
    expect(sut.unmatched).toEqual([
      { pattern: 'udp_*', reason: 'no function matches in 2 BTF objects' },
      { pattern: 'xfs:xfs_*', reason: "no BTF object named 'xfs'" },
    ]);
    expect(sut.targets.map((t) => t.function)).toEqual(['tcp_close']);
  });

  it('does not change the kernel state it plans against', () => {
    const kernel = kernelOf(webNodeSpec('v24'));
    const before = {
      links: kernel.links.size,
      progs: kernel.progs.size,
      tramps: kernel.tramps.size,
    };
    planNode(kernel, tcpLatency(), ctx);
    expect({
      links: kernel.links.size,
      progs: kernel.progs.size,
      tramps: kernel.tramps.size,
    }).toEqual(before);
  });
});

describe('planNode on the demo sim kernel (services/agent/sim-kernels/default.yaml)', () => {
  it('attaches the TCP targets of the tcp-latency example and leaves nf_tables pending', () => {
    const doc: unknown = parseYaml(
      readFileSync(
        new URL('../../../../services/agent/sim-kernels/default.yaml', import.meta.url),
        'utf8',
      ),
    );
    const spec = parseKernelSpec(doc);
    if (!spec.ok) throw new Error(spec.error.join('; '));
    const sut = planNode(kernelOf(spec.value), tcpLatency(), ctx);
    expect(sut.path).toBe('tracing-multi');
    expect(sut.targets.filter((t) => t.status === 'attach').map((t) => t.function)).toEqual(
      expect.arrayContaining(['tcp_sendmsg', 'tcp_recvmsg', 'tcp_v4_connect']),
    );
    expect(sut.targets.filter((t) => t.status === 'pending').map((t) => t.function)).toContain(
      'nft_do_chain',
    );
    expect(sut.counts.rejected + sut.counts.trampolineFull).toBe(0);
  });
});
