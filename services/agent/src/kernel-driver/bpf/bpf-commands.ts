/**
 * The bpf() commands the driver issues, each with its `union bpf_attr` layout written out by
 * offset (uapi include/uapi/linux/bpf.h; the tracing multi-link fields as merged in Linux 7.2,
 * real-kernels.md). IMPURE: every function issues a system call. Refusals are data with the
 * real errno (`SysResult`); a failed program load carries the verifier log's last lines.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { SysError, SysResult } from './bpf-syscall.js';
import {
  BpfCmd,
  BpfLinkType,
  addressOf,
  bpf,
  sysError,
  cString,
  fromCString,
  newAttr,
} from './bpf-syscall.js';

/** `r0 = 0; exit`: the trivial program of the feature probes (two 8-byte instructions). */
export const TRIVIAL_PROGRAM: Buffer = Buffer.from([
  0xb7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
]);

/** Bytes of verifier log asked for when a load fails (the retry with logging on). */
const VERIFIER_LOG_BYTES = 256 * 1024;
/** How many of the verifier log's last lines a refusal carries. */
export const VERIFIER_LOG_LINES = 8;

export interface ProgLoadInput {
  readonly progType: number;
  /** instructions, 8 bytes each */
  readonly insns: Buffer;
  readonly license?: string;
  readonly expectedAttachType?: number;
  /** the traced function's BTF id (single fentry/fexit/fmod_ret); 0 for a multi program */
  readonly attachBtfId?: number;
  /** an fd of the BTF object `attachBtfId` is in (a module's); 0: vmlinux */
  readonly attachBtfObjFd?: number;
  /** at most 15 bytes are kept (BPF_OBJ_NAME_LEN 16) */
  readonly name?: string;
  /** prog_flags (BPF_F_SLEEPABLE = 1 << 4) */
  readonly flags?: number;
}

/** A load refusal: the errno and the verifier log's last lines (empty when the kernel wrote none). */
export type ProgLoadResult =
  { readonly ok: true; readonly value: number } | (SysError & { readonly log: readonly string[] });

const writeProgLoad = (attr: Buffer, p: ProgLoadInput, insns: Buffer, license: Buffer): void => {
  attr.writeUInt32LE(p.progType, 0); // prog_type
  attr.writeUInt32LE(insns.length / 8, 4); // insn_cnt
  attr.writeBigUInt64LE(addressOf(insns), 8); // insns
  attr.writeBigUInt64LE(addressOf(license), 16); // license
  attr.writeUInt32LE(p.flags ?? 0, 44); // prog_flags
  if (p.name !== undefined) attr.write(p.name.slice(0, 15), 48, 15, 'utf8'); // prog_name[16]
  attr.writeUInt32LE(p.expectedAttachType ?? 0, 68); // expected_attach_type
  attr.writeUInt32LE(p.attachBtfId ?? 0, 108); // attach_btf_id
  attr.writeUInt32LE(p.attachBtfObjFd ?? 0, 112); // attach_btf_obj_fd
};

/**
 * BPF_PROG_LOAD: the program's fd. On a refusal the load is tried once more with the verifier
 * log on (log_level 1) so that the refusal carries the log's last lines, as libbpf does.
 */
export const progLoad = (p: ProgLoadInput): ProgLoadResult => {
  if (p.insns.length === 0 || p.insns.length % 8 !== 0)
    throw new Error(`progLoad: ${p.insns.length} bytes of instructions is not a multiple of 8`);
  const license = cString(p.license ?? 'GPL');
  const attr = newAttr();
  writeProgLoad(attr, p, p.insns, license);
  const first = bpf(BpfCmd.PROG_LOAD, attr, p.insns, license);
  if (first.ok) return first;
  const log = Buffer.alloc(VERIFIER_LOG_BYTES);
  const again = newAttr();
  writeProgLoad(again, p, p.insns, license);
  again.writeUInt32LE(1, 24); // log_level
  again.writeUInt32LE(log.length, 28); // log_size
  again.writeBigUInt64LE(addressOf(log), 32); // log_buf
  const second = bpf(BpfCmd.PROG_LOAD, again, p.insns, license, log);
  if (second.ok) {
    // loads with the log on (a racing change in the kernel): keep it, it is a program
    return second;
  }
  return { ...first, log: lastLines(fromCString(log), VERIFIER_LOG_LINES) };
};

/** The last `n` non-empty lines of `text`. */
export const lastLines = (text: string, n: number): string[] =>
  text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-n);

/**
 * BPF_LINK_CREATE of a tracing multi-link (Linux 7.2+): `prog_fd`@0, `target_fd`@4 = 0,
 * `attach_type`@8, `flags`@12 = 0, `tracing_multi.ids`@16, `.cookies`@24, `.cnt`@32.
 */
export const linkCreateTracingMulti = (input: {
  readonly progFd: number;
  readonly attachType: number;
  readonly ids: readonly number[];
  readonly cookies?: readonly bigint[];
}): SysResult<number> => {
  const ids = Buffer.alloc(Math.max(4, input.ids.length * 4));
  input.ids.forEach((id, i) => ids.writeUInt32LE(id, i * 4));
  const cookies =
    input.cookies === undefined ? undefined : Buffer.alloc(Math.max(8, input.cookies.length * 8));
  input.cookies?.forEach((c, i) => cookies!.writeBigUInt64LE(BigInt.asUintN(64, c), i * 8));
  const attr = newAttr();
  attr.writeUInt32LE(input.progFd, 0);
  attr.writeUInt32LE(input.attachType, 8);
  attr.writeBigUInt64LE(addressOf(ids), 16);
  if (cookies !== undefined) attr.writeBigUInt64LE(addressOf(cookies), 24);
  attr.writeUInt32LE(input.ids.length, 32);
  return cookies === undefined
    ? bpf(BpfCmd.LINK_CREATE, attr, ids)
    : bpf(BpfCmd.LINK_CREATE, attr, ids, cookies);
};

/**
 * BPF_LINK_CREATE of one fentry/fexit/fmod_ret link (the target was fixed at load by
 * attach_btf_id): `prog_fd`@0, `attach_type`@8, `tracing.target_btf_id`@16 = 0,
 * `tracing.cookie`@24 (Linux 6.0+).
 */
export const linkCreateTracing = (input: {
  readonly progFd: number;
  readonly attachType: number;
  readonly cookie?: bigint;
}): SysResult<number> => {
  const attr = newAttr();
  attr.writeUInt32LE(input.progFd, 0);
  attr.writeUInt32LE(input.attachType, 8);
  attr.writeBigUInt64LE(BigInt.asUintN(64, input.cookie ?? 0n), 24);
  return bpf(BpfCmd.LINK_CREATE, attr);
};

/**
 * BPF_RAW_TRACEPOINT_OPEN: `name`@0, `prog_fd`@8. With no name, the older way to attach a
 * tracing program at the target fixed at load (no cookie); with a name, a raw tracepoint
 * program (prog type 17) on that tracepoint (`sys_enter`): a link every kernel here allows.
 */
export const rawTracepointOpen = (
  progFd: number,
  name?: string,
  cookie?: bigint,
): SysResult<number> => {
  const text = name === undefined ? undefined : cString(name);
  const attr = newAttr();
  if (text !== undefined) attr.writeBigUInt64LE(addressOf(text), 0);
  attr.writeUInt32LE(progFd, 8);
  // `cookie`@16 (Linux 6.10+); older kernels refuse a non-zero tail with E2BIG
  if (cookie !== undefined) attr.writeBigUInt64LE(BigInt.asUintN(64, cookie), 16);
  return text === undefined
    ? bpf(BpfCmd.RAW_TRACEPOINT_OPEN, attr)
    : bpf(BpfCmd.RAW_TRACEPOINT_OPEN, attr, text);
};

/** BPF_F_KPROBE_MULTI_RETURN: a kretprobe.multi link. */
export const KPROBE_MULTI_RETURN = 1;

/**
 * BPF_LINK_CREATE of a kprobe.multi link (Linux 5.18+, needs CONFIG_FPROBE): `prog_fd`@0,
 * `attach_type`@8 = 42, `kprobe_multi.flags`@16, `.cnt`@20, `.syms`@24 (char **), `.addrs`@32,
 * `.cookies`@40.
 */
export const linkCreateKprobeMulti = (input: {
  readonly progFd: number;
  readonly symbols: readonly string[];
  readonly cookies?: readonly bigint[];
  readonly flags?: number;
}): SysResult<number> => {
  const names = input.symbols.map(cString);
  const syms = Buffer.alloc(Math.max(8, names.length * 8));
  names.forEach((n, i) => syms.writeBigUInt64LE(addressOf(n), i * 8));
  const cookies =
    input.cookies === undefined ? undefined : Buffer.alloc(Math.max(8, input.cookies.length * 8));
  input.cookies?.forEach((c, i) => cookies!.writeBigUInt64LE(BigInt.asUintN(64, c), i * 8));
  const attr = newAttr();
  attr.writeUInt32LE(input.progFd, 0);
  attr.writeUInt32LE(42, 8); // BPF_TRACE_KPROBE_MULTI
  attr.writeUInt32LE(input.flags ?? 0, 16);
  attr.writeUInt32LE(names.length, 20);
  attr.writeBigUInt64LE(addressOf(syms), 24);
  if (cookies !== undefined) attr.writeBigUInt64LE(addressOf(cookies), 40);
  return bpf(BpfCmd.LINK_CREATE, attr, syms, ...names, ...(cookies ? [cookies] : []));
};

/** BPF_OBJ_PIN: `pathname`@0, `bpf_fd`@8. */
export const objPin = (fd: number, path: string): SysResult<number> => {
  const name = cString(path);
  const attr = newAttr();
  attr.writeBigUInt64LE(addressOf(name), 0);
  attr.writeUInt32LE(fd, 8);
  return bpf(BpfCmd.OBJ_PIN, attr, name);
};

/** BPF_OBJ_GET: a new fd of the object pinned at `path`. */
export const objGet = (path: string): SysResult<number> => {
  const name = cString(path);
  const attr = newAttr();
  attr.writeBigUInt64LE(addressOf(name), 0);
  return bpf(BpfCmd.OBJ_GET, attr, name);
};

/** BPF_{PROG,LINK,BTF}_GET_NEXT_ID: `start_id`@0 -> `next_id`@4; ENOENT after the last. */
export const getNextId = (
  cmd:
    typeof BpfCmd.PROG_GET_NEXT_ID | typeof BpfCmd.LINK_GET_NEXT_ID | typeof BpfCmd.BTF_GET_NEXT_ID,
  start: number,
): SysResult<number> => {
  const attr = newAttr();
  attr.writeUInt32LE(start, 0);
  const r = bpf(cmd, attr);
  return r.ok ? { ok: true, value: attr.readUInt32LE(4) } : r;
};

/** Every id the kernel lists for `cmd`, ascending (ids freed during the walk are skipped). */
export const allIds = (
  cmd:
    typeof BpfCmd.PROG_GET_NEXT_ID | typeof BpfCmd.LINK_GET_NEXT_ID | typeof BpfCmd.BTF_GET_NEXT_ID,
  limit = 1 << 20,
): SysResult<number[]> => {
  const ids: number[] = [];
  let at = 0;
  for (;;) {
    const next = getNextId(cmd, at);
    if (!next.ok) return next.name === 'ENOENT' ? { ok: true, value: ids } : next;
    ids.push(next.value);
    if (ids.length >= limit) return { ok: true, value: ids };
    at = next.value;
  }
};

/** BPF_{PROG,LINK,BTF}_GET_FD_BY_ID: `id`@0. */
export const getFdById = (
  cmd:
    | typeof BpfCmd.PROG_GET_FD_BY_ID
    | typeof BpfCmd.LINK_GET_FD_BY_ID
    | typeof BpfCmd.BTF_GET_FD_BY_ID,
  id: number,
): SysResult<number> => {
  const attr = newAttr();
  attr.writeUInt32LE(id, 0);
  return bpf(cmd, attr);
};

/** BPF_OBJ_GET_INFO_BY_FD: `bpf_fd`@0, `info_len`@4, `info`@8; `info` is filled in place. */
export const objGetInfo = (fd: number, info: Buffer, ...keep: Buffer[]): SysResult<number> => {
  const attr = newAttr();
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(info.length, 4);
  attr.writeBigUInt64LE(addressOf(info), 8);
  const r = bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr, info, ...keep);
  return r.ok ? { ok: true, value: attr.readUInt32LE(4) } : r;
};

/** `struct bpf_btf_info` (32 bytes): btf@0, btf_size@8, id@12, name@16, name_len@24, kernel_btf@28. */
export interface BtfInfo {
  readonly id: number;
  readonly name: string;
  readonly kernelBtf: boolean;
  readonly size: number;
}

export const btfInfo = (fd: number): SysResult<BtfInfo> => {
  const name = Buffer.alloc(64);
  const info = Buffer.alloc(32);
  info.writeBigUInt64LE(addressOf(name), 16);
  info.writeUInt32LE(name.length, 24);
  const r = objGetInfo(fd, info, name);
  if (!r.ok) return r;
  return {
    ok: true,
    value: {
      id: info.readUInt32LE(12),
      name: fromCString(name),
      kernelBtf: info.readUInt32LE(28) !== 0,
      size: info.readUInt32LE(8),
    },
  };
};

/** `struct bpf_prog_info` (232 bytes on 7.3): the fields the driver reads. */
export interface ProgInfo {
  readonly type: number;
  readonly id: number;
  /** 8 bytes, hex */
  readonly tag: string;
  readonly name: string;
  readonly attachBtfObjId: number;
  readonly attachBtfId: number;
}

export const progInfo = (fd: number): SysResult<ProgInfo> => {
  const info = Buffer.alloc(232);
  const r = objGetInfo(fd, info);
  if (!r.ok) return r;
  return {
    ok: true,
    value: {
      type: info.readUInt32LE(0),
      id: info.readUInt32LE(4),
      tag: info.toString('hex', 8, 16),
      name: fromCString(info, 64, 80),
      // fields a kernel older than 5.16 does not fill read as 0
      attachBtfObjId: r.value >= 224 ? info.readUInt32LE(220) : 0,
      attachBtfId: r.value >= 228 ? info.readUInt32LE(224) : 0,
    },
  };
};

/** One connection of a link as `bpf_link_info` reports it. */
export interface LinkTarget {
  readonly btfObjId: number;
  readonly btfId: number;
  readonly cookie: bigint;
  /** the kernel address (kprobe.multi, tracing multi); 0n when the kernel hides it or has none */
  readonly addr: bigint;
}

/** `struct bpf_link_info`: type@0, id@4, prog_id@8, the type's part at 16. */
export interface LinkInfo {
  readonly type: number;
  readonly id: number;
  readonly progId: number;
  readonly attachType?: number;
  readonly targets: readonly LinkTarget[];
}

/** Connections asked for per link (more are left out of `targets`; fdinfo still lists them). */
const LINK_TARGETS_MAX = 1 << 16;

export const linkInfo = (fd: number): SysResult<LinkInfo> => {
  const info = Buffer.alloc(96);
  const first = objGetInfo(fd, info);
  if (!first.ok) return first;
  const type = info.readUInt32LE(0);
  const base = { type, id: info.readUInt32LE(4), progId: info.readUInt32LE(8) };
  if (type === BpfLinkType.TRACING)
    return {
      ok: true,
      value: {
        ...base,
        attachType: info.readUInt32LE(16),
        targets: [
          {
            btfObjId: info.readUInt32LE(20),
            btfId: info.readUInt32LE(24),
            cookie: info.readBigUInt64LE(32),
            addr: 0n,
          },
        ],
      },
    };
  if (type === BpfLinkType.TRACING_MULTI) {
    // attach_type@16, count@20, btf_obj_id@24, ids@32, addrs@40, cookies@48
    const count = Math.min(info.readUInt32LE(20), LINK_TARGETS_MAX);
    const ids = Buffer.alloc(Math.max(4, count * 4));
    const addrs = Buffer.alloc(Math.max(8, count * 8));
    const cookies = Buffer.alloc(Math.max(8, count * 8));
    const again = Buffer.alloc(96);
    again.writeUInt32LE(count, 20);
    again.writeBigUInt64LE(addressOf(ids), 32);
    again.writeBigUInt64LE(addressOf(addrs), 40);
    again.writeBigUInt64LE(addressOf(cookies), 48);
    const r = objGetInfo(fd, again, ids, addrs, cookies);
    if (!r.ok) return r;
    const objId = again.readUInt32LE(24);
    return {
      ok: true,
      value: {
        ...base,
        attachType: again.readUInt32LE(16),
        targets: Array.from({ length: count }, (_, i) => ({
          btfObjId: objId,
          btfId: ids.readUInt32LE(i * 4),
          cookie: cookies.readBigUInt64LE(i * 8),
          addr: addrs.readBigUInt64LE(i * 8),
        })),
      },
    };
  }
  if (type === BpfLinkType.KPROBE_MULTI) {
    // addrs@16, count@24, flags@28, missed@32, cookies@40
    const count = Math.min(info.readUInt32LE(24), LINK_TARGETS_MAX);
    const addrs = Buffer.alloc(Math.max(8, count * 8));
    const cookies = Buffer.alloc(Math.max(8, count * 8));
    const again = Buffer.alloc(96);
    again.writeBigUInt64LE(addressOf(addrs), 16);
    again.writeUInt32LE(count, 24);
    again.writeBigUInt64LE(addressOf(cookies), 40);
    const r = objGetInfo(fd, again, addrs, cookies);
    if (!r.ok) return r;
    return {
      ok: true,
      value: {
        ...base,
        targets: Array.from({ length: count }, (_, i) => ({
          btfObjId: 0,
          btfId: 0,
          cookie: cookies.readBigUInt64LE(i * 8),
          addr: addrs.readBigUInt64LE(i * 8),
        })),
      },
    };
  }
  return { ok: true, value: { ...base, targets: [] } };
};

/** BPF_PROG_TEST_RUN with no data: the program's return value (`retval`@4). */
export const progTestRun = (progFd: number, repeat = 1): SysResult<number> => {
  const attr = newAttr();
  attr.writeUInt32LE(progFd, 0);
  attr.writeUInt32LE(repeat, 32);
  const r = bpf(BpfCmd.PROG_TEST_RUN, attr);
  return r.ok ? { ok: true, value: attr.readUInt32LE(4) } : r;
};

/** BPF_MAP_CREATE of an array map (map_type 2): `map_type`@0, key@4, value@8, max@12, name@28. */
export const arrayMapCreate = (
  valueSize: number,
  entries: number,
  name = '',
): SysResult<number> => {
  const attr = newAttr();
  attr.writeUInt32LE(2, 0);
  attr.writeUInt32LE(4, 4);
  attr.writeUInt32LE(valueSize, 8);
  attr.writeUInt32LE(entries, 12);
  attr.write(name.slice(0, 15), 28, 15, 'utf8');
  return bpf(BpfCmd.MAP_CREATE, attr);
};

const mapElem = (cmd: number, mapFd: number, key: Buffer, value: Buffer): SysResult<number> => {
  const attr = newAttr();
  attr.writeUInt32LE(mapFd, 0);
  attr.writeBigUInt64LE(addressOf(key), 8);
  attr.writeBigUInt64LE(addressOf(value), 16);
  return bpf(cmd, attr, key, value);
};

/** BPF_MAP_LOOKUP_ELEM: `map_fd`@0, `key`@8, `value`@16; fills `value`. */
export const mapLookup = (mapFd: number, key: Buffer, value: Buffer): SysResult<number> =>
  mapElem(BpfCmd.MAP_LOOKUP_ELEM, mapFd, key, value);

/** BPF_MAP_UPDATE_ELEM (flags 0: BPF_ANY). */
export const mapUpdate = (mapFd: number, key: Buffer, value: Buffer): SysResult<number> =>
  mapElem(BpfCmd.MAP_UPDATE_ELEM, mapFd, key, value);

/** Largest fdinfo text read (a 1<<20-function multi link lists one line per function). */
const FDINFO_MAX_BYTES = 256 * 1024 * 1024;

/**
 * `/proc/<pid>/fdinfo/<fd>` read with an explicit readSync loop: `readFileSync` returns '' for
 * these files on the kernels tried (real-kernels.md, "From Node"). Bounded by FDINFO_MAX_BYTES.
 */
export const readFdinfo = (fd: number, pid: number | 'self' = 'self'): SysResult<string> => {
  let file: number;
  try {
    file = openSync(`/proc/${pid}/fdinfo/${fd}`, 'r');
  } catch (error) {
    return sysError(errnoOf(error));
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const n = readSync(file, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > FDINFO_MAX_BYTES) break;
    }
    return { ok: true, value: Buffer.concat(chunks).toString('utf8') };
  } finally {
    closeSync(file);
  }
};

const errnoOf = (error: unknown): number =>
  typeof error === 'object' && error !== null && 'errno' in error && typeof error.errno === 'number'
    ? Math.abs(error.errno)
    : 2;
