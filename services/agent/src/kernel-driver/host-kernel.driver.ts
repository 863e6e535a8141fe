import type { KernelProfile } from '@tramway/shared/kernel';
import { createKernel } from '@tramway/shared/kernel';
import { probeFeatures } from '@tramway/shared/btf';
import type { HostUnreadable } from '@tramway/shared/infra';
import { hostKernelObjects, parseHostBtf, readHostKernel } from '@tramway/shared/infra';
import type { KernelDriver } from './kernel-driver.port.js';
import { createModelKernelDriver } from './sim-kernel.driver.js';

export interface HostKernelDriverOptions {
  /** file-system root of the host facts (default `/`) */
  readonly root?: string;
  /** the model's profile; default: the probed one, or v26 when the kernel has no multi-link */
  readonly profile?: KernelProfile;
}

/**
 * `host` shadow mode: the simulated kernel built from the host's real BTF (vmlinux and module
 * split BTF), kallsyms addresses, error-injection and ftrace lists and /proc/modules. Patterns
 * and prototypes resolve against the node's real functions; attach is simulated on top.
 * Fails (as data) only when the vmlinux BTF cannot be read or parsed, listing why.
 */
export const createHostKernelDriver = async (
  options: HostKernelDriverOptions = {},
): Promise<
  | { readonly ok: true; readonly value: KernelDriver }
  | { readonly ok: false; readonly error: readonly HostUnreadable[] }
> => {
  const facts = await readHostKernel(options.root === undefined ? {} : { root: options.root });
  const btf = parseHostBtf(facts);
  const unreadable = [...facts.unreadable, ...btf.unreadable];
  if (!btf.vmlinux) return { ok: false, error: unreadable };
  const kallsyms = facts.kallsyms;
  const probe = probeFeatures({
    vmlinux: btf.vmlinux.object,
    ...(kallsyms ? { hasSymbol: (n: string) => kallsyms.byName.has(n) } : {}),
  });
  const profile = options.profile ?? (probe.profile === 'none' ? 'v26' : probe.profile);
  const objects = hostKernelObjects(btf, facts);
  return {
    ok: true,
    value: createModelKernelDriver({
      state: createKernel({ profile, objects }),
      objects,
      facts: {
        mode: 'host',
        ...(facts.release === undefined ? {} : { release: facts.release }),
        ...(facts.bootId === undefined ? {} : { bootId: facts.bootId }),
        probedProfile: probe.profile,
        attachPath: probe.path,
        unreadable,
      },
    }),
  };
};
