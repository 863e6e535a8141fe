/**
 * The node kernel from the configuration: `sim` (the model on a spec file), `host` (the model
 * on the host's real BTF and symbols, shadow mode) or `bpf` (the real kernel through bpf()).
 */
import type { Result } from '@tramway/shared/lib';
import { err, ok } from '@tramway/shared/lib';
import { createBpfKernelDriver, createHostKernelDriver } from '../kernel-driver/index.js';
import type { AgentKernel } from './agent-kernel.js';
import { agentKernel } from './agent-kernel.js';
import { loadSimKernelFile } from './sim-kernel.loader.js';

export const openNodeKernel = async (config: {
  readonly kernel: 'sim' | 'host' | 'bpf';
  /** KERNEL=bpf: the node id (its pin directory) and where bpffs is */
  readonly nodeId?: string;
  readonly bpffs?: string | undefined;
  readonly simKernel: string;
  /** SIM_MULTI_LINK: overrides the sim kernel file's `multiLink` */
  readonly simMultiLink?: boolean | undefined;
  readonly hostRoot: string | undefined;
}): Promise<Result<AgentKernel, readonly string[]>> => {
  if (config.kernel === 'sim')
    return loadSimKernelFile(
      config.simKernel,
      config.simMultiLink === undefined ? {} : { multiLink: config.simMultiLink },
    );
  if (config.kernel === 'bpf') {
    const bpf = await createBpfKernelDriver({
      nodeId: config.nodeId ?? 'node',
      ...(config.bpffs === undefined ? {} : { bpffs: config.bpffs }),
      ...(config.hostRoot === undefined ? {} : { root: config.hostRoot }),
    });
    return bpf.ok ? ok(agentKernel(bpf.value)) : err(bpf.error);
  }
  const host = await createHostKernelDriver(
    config.hostRoot === undefined ? {} : { root: config.hostRoot },
  );
  if (!host.ok) return err(host.error.map((u) => `${u.path}: ${u.reason}`));
  return ok(agentKernel(host.value));
};
