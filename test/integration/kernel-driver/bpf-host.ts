/**
 * Whether this process can drive the real kernel through bpf(): undefined when it can, else why
 * not (printed by the tests that skip).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export const bpfUnavailable = (): string | undefined => {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.arch !== 'x64')
    return `bpf() syscall number is wired for x86_64 only (${process.arch})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'not root (needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN for the bpffs mount)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no /sys/kernel/btf/vmlinux';
  try {
    createRequire(import.meta.url)('koffi');
  } catch (error) {
    return `koffi cannot be loaded: ${String(error)}`;
  }
  return undefined;
};
