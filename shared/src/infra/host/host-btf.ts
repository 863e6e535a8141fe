import type { ParsedBtf } from '../../btf/index.js';
import { parseBtf } from '../../btf/index.js';
import type { HostBtfBlob, HostUnreadable } from './host-kernel.reader.js';

/** The host's BTF objects, parsed: vmlinux as base, each module's split BTF on top of it. */
export interface HostBtf {
  readonly vmlinux?: ParsedBtf;
  readonly modules: readonly ParsedBtf[];
  /** blobs that did not parse, with the file and byte offset in the reason */
  readonly unreadable: readonly HostUnreadable[];
}

/**
 * Parses the blobs read from /sys/kernel/btf. A module blob is split BTF and needs vmlinux as
 * its base; without a readable vmlinux every module is reported as unreadable.
 */
export const parseHostBtf = (blobs: {
  readonly vmlinuxBtf?: HostBtfBlob;
  readonly moduleBtfs: readonly HostBtfBlob[];
}): HostBtf => {
  const unreadable: HostUnreadable[] = [];
  let vmlinux: ParsedBtf | undefined;
  if (blobs.vmlinuxBtf) {
    const r = parseBtf(blobs.vmlinuxBtf.bytes, { name: 'vmlinux', kind: 'vmlinux' });
    if (r.ok) vmlinux = r.value;
    else
      unreadable.push({
        source: 'vmlinux-btf',
        path: blobs.vmlinuxBtf.path,
        reason: r.error.message,
      });
  }
  const modules: ParsedBtf[] = [];
  for (const blob of blobs.moduleBtfs) {
    if (!vmlinux) {
      unreadable.push({
        source: 'module-btf',
        path: blob.path,
        reason: 'split BTF needs the vmlinux BTF as base, which is not readable',
      });
      continue;
    }
    const r = parseBtf(blob.bytes, { name: blob.name, kind: 'module', base: vmlinux });
    if (r.ok) modules.push(r.value);
    else unreadable.push({ source: 'module-btf', path: blob.path, reason: r.error.message });
  }
  return vmlinux ? { vmlinux, modules, unreadable } : { modules, unreadable };
};
