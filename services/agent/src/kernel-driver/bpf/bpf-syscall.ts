/**
 * The raw `bpf(2)` system call through koffi (FFI, prebuilt binaries in the npm package) and
 * libc's `syscall()`. IMPURE: every function here talks to the running kernel.
 *
 * Each command's `union bpf_attr` is laid out by hand with the offsets of the kernel's uapi
 * header (include/uapi/linux/bpf.h), including the merged tracing multi-link fields that libbpf
 * 1.1 does not know (real-kernels.md, "Tracing multi-link on Debian 7.3.4"). The attr buffer is
 * always 168 bytes (the size of `union bpf_attr` on 7.3), zero-filled: a kernel that knows fewer
 * fields accepts the trailing zeros, one that knows more reads zeros.
 *
 * Every call returns the kernel's answer as data: `{ ok: true, value }` (the fd or the return
 * value), or `{ ok: false, errno, name }` with the real errno. Nothing here throws for a kernel
 * refusal; a missing libc throws (a bug in the deployment, not a kernel answer).
 */
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';
import type { Errno } from '@tramway/shared/kernel';
import { ERRNO_NUMBERS } from '@tramway/shared/lib';

/** `__NR_bpf` on x86_64 (the only architecture the agent is built for today). */
export const NR_BPF = 321;
/** sizeof(union bpf_attr) on Linux 7.3; older kernels accept the zero tail. */
export const BPF_ATTR_SIZE = 168;

/** enum bpf_cmd (uapi). */
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  PROG_GET_FD_BY_ID: 13,
  OBJ_GET_INFO_BY_FD: 15,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_GET_FD_BY_ID: 19,
  BTF_GET_NEXT_ID: 23,
  LINK_CREATE: 28,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  LINK_DETACH: 34,
} as const;

/** enum bpf_prog_type (uapi), the ones the driver loads. */
export const BpfProgType = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  RAW_TRACEPOINT: 17,
  TRACING: 26,
} as const;

/**
 * enum bpf_attach_type (uapi). The multi values are the merged series' (Linux 7.2+; read from
 * Debian 7.3.4's BTF, real-kernels.md).
 */
export const BpfAttachType = {
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  TRACE_KPROBE_MULTI: 42,
  TRACE_FENTRY_MULTI: 59,
  TRACE_FEXIT_MULTI: 60,
  TRACE_FSESSION_MULTI: 61,
} as const;

/** enum bpf_link_type (uapi); 15 is the merged tracing multi-link. */
export const BpfLinkType = {
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  KPROBE_MULTI: 8,
  TRACING_MULTI: 15,
} as const;

/** The names of link types as fdinfo prints them (`link_type:` line), by number. */
export const LINK_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'raw_tracepoint',
  2: 'tracing',
  3: 'cgroup',
  4: 'iter',
  5: 'netns',
  6: 'xdp',
  7: 'perf_event',
  8: 'kprobe_multi',
  9: 'struct_ops',
  10: 'netfilter',
  11: 'tcx',
  12: 'uprobe_multi',
  13: 'netkit',
  14: 'sockmap',
  15: 'tracing_multi',
};

/** A kernel refusal: the errno number and its name (`E<n>` for a number the table lacks). */
export interface SysError {
  readonly ok: false;
  readonly errno: number;
  readonly name: Errno | `E${number}`;
}
export type SysResult<T> = { readonly ok: true; readonly value: T } | SysError;

const ERRNO_BY_NUMBER = new Map<number, Errno>(
  Object.entries(ERRNO_NUMBERS).map(([name, n]) => [n, name as Errno]),
);

/** The canonical name of errno `n` (`EPERM`, ...), `E<n>` when the table has none. */
export const errnoName = (n: number): Errno | `E${number}` => ERRNO_BY_NUMBER.get(n) ?? `E${n}`;

/** A refusal with errno `n`. */
export const sysError = (n: number): SysError => ({ ok: false, errno: n, name: errnoName(n) });

interface Libc {
  readonly syscall: (...args: unknown[]) => number | bigint;
  readonly close: (fd: number) => number;
  readonly mount: (
    source: string,
    target: string,
    fstype: string,
    flags: number,
    data: null,
  ) => number;
  readonly umount2: (target: string, flags: number) => number;
}

type Koffi = typeof KoffiModule;
let koffiModule: Koffi | undefined;

/**
 * koffi, required on first use: a `sim` agent (and the bundled CLI, which a bundler cannot give
 * a native addon) never loads it.
 */
export const ffi = (): Koffi => {
  koffiModule ??= createRequire(import.meta.url)('koffi') as Koffi;
  return koffiModule;
};

let libc: Libc | undefined;

/** libc, loaded on first use (a `sim` agent never loads it). */
const theLibc = (): Libc => {
  if (libc !== undefined) return libc;
  const lib = ffi().load('libc.so.6');
  libc = {
    syscall: lib.func('long syscall(long, ...)') as Libc['syscall'],
    close: lib.func('int close(int)') as Libc['close'],
    mount: lib.func(
      'int mount(const char *, const char *, const char *, unsigned long, const void *)',
    ) as Libc['mount'],
    umount2: lib.func('int umount2(const char *, int)') as Libc['umount2'],
  };
  return libc;
};

/** The address of `buf`'s first byte, for a pointer field of an attr (the buffer must stay alive). */
export const addressOf = (buf: Buffer): bigint => BigInt(ffi().address(buf) as bigint | number);

/** A zeroed attr buffer. */
export const newAttr = (): Buffer => Buffer.alloc(BPF_ATTR_SIZE);

/**
 * `bpf(cmd, attr, sizeof attr)`: the return value (an fd, or 0) or the errno. `keep` holds the
 * buffers the attr points into, so that nothing is collected before the call returns.
 */
export const bpf = (cmd: number, attr: Buffer, ...keep: readonly Buffer[]): SysResult<number> => {
  const c = theLibc();
  const ret = Number(c.syscall(NR_BPF, 'int', cmd, 'void *', attr, 'uint', attr.length));
  void keep; // the pointed-to buffers stay referenced until the kernel has read them
  if (ret < 0) return sysError(ffi().errno() as number);
  return { ok: true, value: ret };
};

/** close(2); errors are ignored (a double close is a bug the caller logs, never a kernel fact). */
export const closeFd = (fd: number): void => {
  if (fd >= 0) theLibc().close(fd);
};

/** mount(2) of a file system with no source device (bpffs: `mount -t bpf bpf DIR`). */
export const mountFs = (source: string, target: string, fstype: string): SysResult<null> => {
  const ret = theLibc().mount(source, target, fstype, 0, null);
  return ret === 0 ? { ok: true, value: null } : sysError(ffi().errno() as number);
};

/** umount2(2) with no flags. */
export const unmountFs = (target: string): SysResult<null> => {
  const ret = theLibc().umount2(target, 0);
  return ret === 0 ? { ok: true, value: null } : sysError(ffi().errno() as number);
};

/** A NUL-terminated C string in its own buffer. */
export const cString = (text: string): Buffer => Buffer.from(`${text}\0`, 'utf8');

/** The text up to the first NUL of `buf`. */
export const fromCString = (buf: Buffer, start = 0, end = buf.length): string => {
  const nul = buf.indexOf(0, start);
  return buf.toString('utf8', start, nul < 0 || nul > end ? end : nul);
};
