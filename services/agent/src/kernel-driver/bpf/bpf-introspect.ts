/**
 * What the running kernel holds, read back through bpf(): its BTF objects with their ids
 * (vmlinux and every loaded module's split BTF: `BPF_BTF_GET_NEXT_ID` + `BPF_OBJ_GET_INFO_BY_FD`),
 * and every link on the node, this agent's or any other tool's (`BPF_LINK_GET_NEXT_ID`, link
 * info, fdinfo). IMPURE.
 */
import type { SysResult } from './bpf-syscall.js';
import { BpfCmd, LINK_TYPE_NAMES, closeFd } from './bpf-syscall.js';
import type { LinkInfo, ProgInfo } from './bpf-commands.js';
import { allIds, btfInfo, getFdById, linkInfo, progInfo, readFdinfo } from './bpf-commands.js';

/** A kernel BTF object: `vmlinux` or a module's split BTF, with the id the kernel gave it. */
export interface KernelBtfObject {
  readonly id: number;
  readonly name: string;
}

/** Upper bound on BTF objects walked (a kernel with every module loaded has a few thousand). */
const MAX_BTF_OBJECTS = 65_536;

/**
 * The kernel's own BTF objects (`kernel_btf` set: vmlinux and modules; BTF that programs loaded
 * is left out), by id. An object freed during the walk is skipped.
 */
export const kernelBtfObjects = (): SysResult<KernelBtfObject[]> => {
  const ids = allIds(BpfCmd.BTF_GET_NEXT_ID, MAX_BTF_OBJECTS);
  if (!ids.ok) return ids;
  const out: KernelBtfObject[] = [];
  for (const id of ids.value) {
    const fd = getFdById(BpfCmd.BTF_GET_FD_BY_ID, id);
    if (!fd.ok) {
      if (fd.name === 'ENOENT') continue;
      return fd;
    }
    const info = btfInfo(fd.value);
    closeFd(fd.value);
    if (!info.ok) return info;
    if (info.value.kernelBtf) out.push({ id: info.value.id, name: info.value.name });
  }
  return { ok: true, value: out };
};

/** One connection of a link as fdinfo prints it (tracing multi: the table; tracing: one line). */
export interface FdinfoTarget {
  readonly objId: number;
  readonly btfId: number;
  readonly cookie: bigint;
  /** `bpf_fentry_test1+0x4/0x20`: the symbol, offset and size */
  readonly func: string;
}

/** A link's fdinfo: the `key: value` lines, and the tracing multi table when it has one. */
export interface Fdinfo {
  readonly fields: Readonly<Record<string, string>>;
  readonly targets: readonly FdinfoTarget[];
}

/**
 * Parses fdinfo text (real-kernels.md, verbatim on 7.3.4: `key:\tvalue` lines, then for a
 * tracing multi-link the header `obj-id\t btf-id\t cookie\t func` and one row per function).
 */
export const parseFdinfo = (text: string): Fdinfo => {
  const fields: Record<string, string> = {};
  const targets: FdinfoTarget[] = [];
  let table = false;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (/^obj-id\s/.test(line)) {
      table = true;
      continue;
    }
    if (table) {
      const cols = line.split('\t').map((c) => c.trim());
      if (cols.length >= 4 && /^\d+$/.test(cols[0]!) && /^\d+$/.test(cols[1]!))
        targets.push({
          objId: Number(cols[0]),
          btfId: Number(cols[1]),
          cookie: /^\d+$/.test(cols[2]!) ? BigInt(cols[2]!) : 0n,
          func: cols.slice(3).join('\t'),
        });
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { fields, targets };
};

/** A link on the node, as the kernel reports it. */
export interface KernelLink {
  readonly info: LinkInfo;
  /** `tracing_multi`, `tracing`, `kprobe_multi`, ... (the fdinfo name), `type <n>` when unknown */
  readonly typeName: string;
  readonly prog: ProgInfo | undefined;
  /** undefined when fdinfo could not be read */
  readonly fdinfo: Fdinfo | undefined;
}

/** Upper bound on links walked. */
const MAX_LINKS = 1 << 20;

/**
 * Every link on the node (every tool's), with its program and fdinfo. `keep(info)` decides, from
 * the link info alone, which links are read further (fdinfo of a huge multi link is costly).
 */
export const kernelLinks = (
  keep: (info: LinkInfo) => boolean = () => true,
  options: { readonly fdinfo?: boolean } = {},
): SysResult<KernelLink[]> => {
  const ids = allIds(BpfCmd.LINK_GET_NEXT_ID, MAX_LINKS);
  if (!ids.ok) return ids;
  const out: KernelLink[] = [];
  for (const id of ids.value) {
    const fd = getFdById(BpfCmd.LINK_GET_FD_BY_ID, id);
    if (!fd.ok) {
      if (fd.name === 'ENOENT') continue;
      return fd;
    }
    try {
      const read = readLink(fd.value, keep, options);
      if (read === undefined) continue;
      if (!read.ok) return read;
      out.push(read.value);
    } finally {
      closeFd(fd.value);
    }
  }
  return { ok: true, value: out };
};

/** The link behind `fd` (undefined when `keep` leaves it out). */
export const readLink = (
  fd: number,
  keep: (info: LinkInfo) => boolean = () => true,
  options: { readonly fdinfo?: boolean } = {},
): SysResult<KernelLink> | undefined => {
  const info = linkInfo(fd);
  if (!info.ok) return info;
  if (!keep(info.value)) return undefined;
  const text = options.fdinfo === false ? undefined : readFdinfo(fd);
  const pfd = getFdById(BpfCmd.PROG_GET_FD_BY_ID, info.value.progId);
  let prog: ProgInfo | undefined;
  if (pfd.ok) {
    const p = progInfo(pfd.value);
    closeFd(pfd.value);
    if (p.ok) prog = p.value;
  }
  return {
    ok: true,
    value: {
      info: info.value,
      typeName: LINK_TYPE_NAMES[info.value.type] ?? `type ${info.value.type}`,
      prog,
      fdinfo: text?.ok === true ? parseFdinfo(text.value) : undefined,
    },
  };
};
