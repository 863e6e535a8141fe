import { applyOp, buildKernel } from '../../../../shared/src/kernel/index.js';
import type {
  KernelOp,
  KernelProfile,
  KernelSpec,
  KernelState,
} from '../../../../shared/src/kernel/index.js';
import { validatePolicy } from '../../../../shared/src/domain/policy/policy.validate.js';
import type { Policy } from '../../../../shared/src/domain/policy/policy.types.js';

/**
 * A small web node: TCP functions in vmlinux (same prototype shape, so a V24 multi program fits
 * them all), one with another shape, one deny-listed, and nf_tables as a module that is declared
 * but not loaded. The demo's sim nodes have these functions too (examples/policies/tcp-latency.yaml).
 */
export const webNodeSpec = (profile: KernelProfile, maxTrampLinks = 38): KernelSpec => ({
  profile,
  limits: { maxTrampLinks },
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [
        { name: 'tcp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'tcp_recvmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'tcp_v4_connect', ret: 'int', params: ['void *', 'void *', 'int'] },
        { name: 'tcp_v6_connect', ret: 'int', params: ['void *', 'void *', 'int'] },
        { name: 'tcp_close', ret: 'void', params: ['void *', 'long'] },
        { name: 'tcp_bad', ret: 'int', params: ['char', 'char'] },
        { name: 'migrate_disable', ret: 'void', params: [], denyListed: true },
        { name: 'do_exit', ret: 'void', params: ['long'], noreturn: true },
        { name: 'should_fail', ret: 'int', params: ['int'], errorInjectable: true },
      ],
    },
    {
      name: 'nf_tables',
      kind: 'module',
      loaded: false,
      functions: [
        { name: 'nft_do_chain', ret: 'int', params: ['void *', 'void *'] },
        { name: 'nft_do_chain_ipv4', ret: 'int', params: ['void *', 'void *'] },
      ],
    },
  ],
});

export const kernelOf = (spec: KernelSpec, ...ops: KernelOp[]): KernelState => {
  const built = buildKernel(spec);
  if (!built.ok) throw new Error(`fixture spec rejected: ${JSON.stringify(built.error)}`);
  let state = built.value;
  for (const op of ops) {
    const outcome = applyOp(state, op);
    if (!outcome.ok)
      throw new Error(`fixture op ${op.op} failed: ${outcome.errno} ${outcome.reason}`);
    state = outcome.state;
  }
  return state;
};

/** A valid policy from the spec fields given (test fixture: throws on invalid input). */
export const policyOf = (spec: Record<string, unknown>, name = 'tcp-latency'): Policy => {
  const result = validatePolicy({
    apiVersion: 'tramway.dev/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name },
    spec: { program: { name: 'tcp_lat', attach: 'fentry' }, ...spec },
  });
  if (!result.ok) throw new Error(`fixture policy invalid: ${JSON.stringify(result.error)}`);
  return result.value;
};
