/**
 * The KernelDriver contract run against every driver: `sim` (the model on a spec), `host` (the
 * model on this machine's real BTF, shadow) and `bpf` (this machine's real kernel through bpf():
 * on this build host it has no tracing path, so the contract checks the refusals; inside the VM
 * tier the same file attaches for real). `bpf` needs root (CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN
 * for the bpffs mount) and libbpf.so.1; without them it is skipped with the reason printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import {
  createBpfKernelDriver,
  createHostKernelDriver,
} from '../../../services/agent/src/kernel-driver/index.js';
import { createSimKernel } from '../../../services/agent/src/kernel/sim-kernel.loader.js';
import { unmountFs } from '../../../services/agent/src/kernel-driver/bpf/bpf-syscall.js';
import { bpffsMounts } from '../../../services/agent/src/kernel-driver/bpf/bpf-fs.js';
import { simSpec } from '../agent/agent-harness.js';
import { testKernelDriver } from './kernel-driver.contract.js';
import { bpfUnavailable } from './bpf-host.js';

testKernelDriver('sim', () => {
  const k = createSimKernel(simSpec('v26'));
  if (!k.ok) throw new Error(k.error.join('\n'));
  return Promise.resolve({ driver: k.value.driver, functions: ['tcp_sendmsg', 'tcp_recvmsg'] });
});

testKernelDriver("host (shadow, this machine's BTF)", async () => {
  const h = await createHostKernelDriver();
  if (!h.ok) throw new Error(h.error.map((u) => u.reason).join('\n'));
  return { driver: h.value, functions: ['bpf_fentry_test1', 'bpf_fentry_test2'] };
});

const why = bpfUnavailable();
if (why !== undefined)
  describe('KernelDriver contract: bpf', () => {
    it.skip(`skipped: ${why}`, () => undefined);
    console.warn(`KernelDriver contract: bpf skipped: ${why}`);
  });
else
  testKernelDriver("bpf (this machine's kernel)", async () => {
    // a private bpffs mount point per test: nothing of a real /sys/fs/bpf is touched
    const root = mkdtempSync(join(tmpdir(), 'tw-bpffs-'));
    const d = await createBpfKernelDriver({ nodeId: 'contract', bpffs: root });
    if (!d.ok) throw new Error(d.error.join('\n'));
    return {
      driver: d.value,
      functions: ['bpf_fentry_test1', 'bpf_fentry_test2'],
      cleanup: () => {
        if (bpffsMounts().includes(root)) unmountFs(root);
        rmSync(root, { recursive: true, force: true });
      },
    };
  });
