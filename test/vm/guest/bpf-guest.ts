/**
 * Runs inside the VM guest (bundled by ../guest-bundle.ts into one ES module; koffi stays
 * external): raw bpf() through koffi's `syscall`, with the UAPI layout of
 * ../shared/design/real-kernels.md, to prove the attach paths of the booted kernel and to time
 * them. It prints one `@@TRAMWAY {json}` line per result on stdout (the serial console).
 *
 * Modes (argv[2]):
 * - `checks`: the ladder (tracing multi-link -> one fentry link per function -> kprobe.multi) on
 *   bpf_fentry_test1..N with a cookie per function and a program counting calls per cookie in
 *   an array map, triggered by BPF_PROG_TEST_RUN; plus every path tried on its own, the
 *   multi-link errnos (duplicate ids, the trampoline budget) and the link's fdinfo;
 * - `bench N1,N2,…|all [ROUNDS]`: attach+release timings over N usable kernel functions
 *   (`all`: every one), medians of ROUNDS (default 3);
 * - `refused`: which usable functions a multi-link refuses (diagnostic).
 *
 * This is the test bed's own minimal loader, not the agent's driver: it stands in until the
 * `bpf` driver exists, and then the bench compares against it (its numbers are the raw baseline).
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import koffi from 'koffi';
import { parseBtf, scanBtf, skipModifiers, typeAt } from '@tramway/shared/btf';
import type { BtfSpace } from '@tramway/shared/btf';

const MARK = '@@TRAMWAY ';
const emit = (value: unknown): void => {
  process.stdout.write(
    `${MARK}${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
  );
};

// ---- bpf(2) through koffi ----------------------------------------------------------------

const libc = koffi.load('libc.so.6');
const sysBpf = libc.func('long syscall(long nr, long cmd, void *attr, unsigned int size)');
const sysClose = libc.func('int close(int fd)');
const NR_BPF = 321;
const ATTR_SIZE = 168;

const Cmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  PROG_LOAD: 5,
  PROG_TEST_RUN: 10,
  OBJ_GET_INFO_BY_FD: 15,
  LINK_CREATE: 28,
} as const;
const ProgType = { KPROBE: 2, TRACING: 26 } as const;
const Attach = {
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  TRACE_KPROBE_MULTI: 42,
  TRACE_FENTRY_MULTI: 59,
  TRACE_FEXIT_MULTI: 60,
} as const;
const ERRNO: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  7: 'E2BIG',
  9: 'EBADF',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  22: 'EINVAL',
  95: 'EOPNOTSUPP',
  524: 'ENOTSUPP',
};
const errName = (e: number): string => ERRNO[e] ?? `errno ${e}`;

class BpfError extends Error {
  readonly cmd: string;
  readonly errno: number;
  constructor(cmd: string, errno: number, log = '') {
    const tail = log.trim().split('\n').slice(-3).join(' | ');
    super(`${cmd}: ${errName(errno)}${tail ? `: ${tail}` : ''}`);
    this.cmd = cmd;
    this.errno = errno;
  }
}

const addr = (b: Buffer): bigint => koffi.address(b);

const bpf = (cmd: number, name: string, attr: Buffer): number => {
  const r = Number(sysBpf(NR_BPF, cmd, attr, ATTR_SIZE));
  if (r < 0) throw new BpfError(name, koffi.errno());
  return r;
};

const close = (fd: number): void => {
  sysClose(fd);
};

/** 8-byte BPF instructions */
const insn = (code: number, dst: number, src: number, off: number, imm: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt8(code, 0);
  b.writeUInt8(((src & 0xf) << 4) | (dst & 0xf), 1);
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
};

/** `r0 = 0; exit` */
const NOP_PROG = Buffer.concat([insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)]);

/**
 * counts[bpf_get_attach_cookie(ctx)] += 1 in an array map of u64:
 * r6 = r1; call get_attach_cookie; *(u32 *)(r10 - 4) = r0; r1 = map; r2 = r10 - 4;
 * call map_lookup_elem; if r0 == 0 goto out; lock *(u64 *)r0 += 1; out: r0 = 0; exit
 */
const countingProg = (mapFd: number): Buffer =>
  Buffer.concat([
    insn(0xbf, 6, 1, 0, 0),
    insn(0x85, 0, 0, 0, 174),
    insn(0x63, 10, 0, -4, 0),
    insn(0x18, 1, 1, 0, mapFd),
    insn(0x00, 0, 0, 0, 0),
    insn(0xbf, 2, 10, 0, 0),
    insn(0x07, 2, 0, 0, -4),
    insn(0x85, 0, 0, 0, 1),
    insn(0x15, 0, 0, 2, 0),
    insn(0xb7, 1, 0, 0, 1),
    insn(0xdb, 0, 1, 0, 0),
    insn(0xb7, 0, 0, 0, 0),
    insn(0x95, 0, 0, 0, 0),
  ]);

const COUNTER_SLOTS = 64;

const mapCreate = (): number => {
  const a = Buffer.alloc(ATTR_SIZE);
  a.writeUInt32LE(2, 0); // BPF_MAP_TYPE_ARRAY
  a.writeUInt32LE(4, 4);
  a.writeUInt32LE(8, 8);
  a.writeUInt32LE(COUNTER_SLOTS, 12);
  return bpf(Cmd.MAP_CREATE, 'BPF_MAP_CREATE', a);
};

const mapCounts = (fd: number): bigint[] => {
  const out: bigint[] = [];
  const key = Buffer.alloc(4);
  const value = Buffer.alloc(8);
  for (let i = 0; i < COUNTER_SLOTS; i++) {
    key.writeUInt32LE(i, 0);
    const a = Buffer.alloc(ATTR_SIZE);
    a.writeUInt32LE(fd, 0);
    a.writeBigUInt64LE(addr(key), 8);
    a.writeBigUInt64LE(addr(value), 16);
    bpf(Cmd.MAP_LOOKUP_ELEM, 'BPF_MAP_LOOKUP_ELEM', a);
    out.push(value.readBigUInt64LE(0));
  }
  return out;
};

const LICENSE = Buffer.from('GPL\0');

const progLoad = (opts: {
  type: number;
  attachType: number;
  insns: Buffer;
  attachBtfId?: number;
}): number => {
  const a = Buffer.alloc(ATTR_SIZE);
  const log = Buffer.alloc(64 * 1024);
  a.writeUInt32LE(opts.type, 0);
  a.writeUInt32LE(opts.insns.length / 8, 4);
  a.writeBigUInt64LE(addr(opts.insns), 8);
  a.writeBigUInt64LE(addr(LICENSE), 16);
  a.writeUInt32LE(1, 24);
  a.writeUInt32LE(log.length, 28);
  a.writeBigUInt64LE(addr(log), 32);
  a.writeUInt32LE(opts.attachType, 68);
  a.writeUInt32LE(opts.attachBtfId ?? 0, 108);
  try {
    return bpf(Cmd.PROG_LOAD, 'BPF_PROG_LOAD', a);
  } catch (e) {
    if (e instanceof BpfError) {
      throw new BpfError(e.cmd, e.errno, log.toString('utf8').replace(/\0.*$/s, ''));
    }
    throw e;
  }
};

const linkCreate = (progFd: number, attachType: number, tail: (a: Buffer) => void): number => {
  const a = Buffer.alloc(ATTR_SIZE);
  a.writeUInt32LE(progFd, 0);
  a.writeUInt32LE(attachType, 8);
  tail(a);
  return bpf(Cmd.LINK_CREATE, 'BPF_LINK_CREATE', a);
};

const u32s = (xs: readonly number[]): Buffer => {
  const b = Buffer.alloc(Math.max(4, xs.length * 4));
  xs.forEach((x, i) => b.writeUInt32LE(x, i * 4));
  return b;
};
const u64s = (xs: readonly bigint[]): Buffer => {
  const b = Buffer.alloc(Math.max(8, xs.length * 8));
  xs.forEach((x, i) => b.writeBigUInt64LE(x, i * 8));
  return b;
};

/** tracing multi-link: ids@16, cookies@24, cnt@32 (buffers must stay referenced by the caller) */
const linkTracingMulti = (
  progFd: number,
  attachType: number,
  ids: Buffer,
  cnt: number,
  cookies?: Buffer,
): number =>
  linkCreate(progFd, attachType, (a) => {
    a.writeBigUInt64LE(addr(ids), 16);
    if (cookies) a.writeBigUInt64LE(addr(cookies), 24);
    a.writeUInt32LE(cnt, 32);
  });

/** fentry/fexit link of a program loaded against one function: tracing.cookie@24 */
const linkTracing = (progFd: number, attachType: number, cookie: bigint): number =>
  linkCreate(progFd, attachType, (a) => a.writeBigUInt64LE(cookie, 24));

/** kprobe.multi: flags@16, cnt@20, syms@24, addrs@32, cookies@40 */
const linkKprobeMulti = (progFd: number, syms: readonly string[], cookies?: Buffer) => {
  const strings = syms.map((s) => Buffer.from(`${s}\0`));
  const ptrs = u64s(strings.map(addr));
  const fd = linkCreate(progFd, Attach.TRACE_KPROBE_MULTI, (a) => {
    a.writeUInt32LE(syms.length, 20);
    a.writeBigUInt64LE(addr(ptrs), 24);
    if (cookies) a.writeBigUInt64LE(addr(cookies), 40);
  });
  // keep the strings referenced until the call returned
  void strings.length;
  return fd;
};

const testRun = (progFd: number): number => {
  const a = Buffer.alloc(ATTR_SIZE);
  a.writeUInt32LE(progFd, 0);
  bpf(Cmd.PROG_TEST_RUN, 'BPF_PROG_TEST_RUN', a);
  return a.readUInt32LE(4);
};

/** bpf_link_info: type@0, id@4, prog_id@8 */
const linkInfo = (fd: number): { type: number; id: number; progId: number } => {
  const info = Buffer.alloc(128);
  const a = Buffer.alloc(ATTR_SIZE);
  a.writeUInt32LE(fd, 0);
  a.writeUInt32LE(info.length, 4);
  a.writeBigUInt64LE(addr(info), 8);
  bpf(Cmd.OBJ_GET_INFO_BY_FD, 'BPF_OBJ_GET_INFO_BY_FD', a);
  return { type: info.readUInt32LE(0), id: info.readUInt32LE(4), progId: info.readUInt32LE(8) };
};

/** fdinfo through an explicit read loop (readFileSync returns '' on these files) */
const fdinfo = (fd: number): string => {
  const f = openSync(`/proc/${process.pid}/fdinfo/${fd}`, 'r');
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(65536);
    for (let n = readSync(f, buf); n > 0; n = readSync(f, buf)) {
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(f);
  }
};

const attempt = <T>(
  f: () => T,
): { ok: true; value: T } | { ok: false; errno: string; error: string } => {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof BpfError) return { ok: false, errno: errName(e.errno), error: e.message };
    throw e;
  }
};

// ---- the kernel's BTF ----------------------------------------------------------------------

interface KernelBtf {
  readonly space: BtfSpace;
  readonly funcs: ReadonlyMap<string, number[]>;
  readonly parseMs: number;
}

/** BTF_KIND_FUNC in a record's info word (bits 24..28) */
const KIND_FUNC = 12;

/**
 * The running kernel's BTF: scanned (records decoded on demand; the FUNC names read straight
 * from the type words), or parsed whole when the scanner declines the blob.
 */
const readKernelBtf = (): KernelBtf => {
  const t0 = performance.now();
  const bytes = readFileSync('/sys/kernel/btf/vmlinux');
  const funcs = new Map<string, number[]>();
  const add = (name: string, id: number) => {
    const list = funcs.get(name);
    if (list) list.push(id);
    else funcs.set(name, [id]);
  };
  const scanned = scanBtf(bytes, { name: 'vmlinux', kind: 'vmlinux' });
  if (scanned !== undefined) {
    const { words, offsets, strings } = scanned;
    for (let i = 0; i < offsets.length; i++) {
      const w = offsets[i]!;
      if (((words[w + 1]! >>> 24) & 0x1f) === KIND_FUNC) add(strings.at(words[w]!) ?? '', i + 1);
    }
    return { space: scanned, funcs, parseMs: performance.now() - t0 };
  }
  const r = parseBtf(bytes, { name: 'vmlinux', kind: 'vmlinux' });
  if (!r.ok) throw new Error(`/sys/kernel/btf/vmlinux: ${r.error.message}`);
  const { types, firstTypeId } = r.value.object;
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    if (t.kind === 'func') add(t.name, firstTypeId + i);
  }
  return { space: r.value, funcs, parseMs: performance.now() - t0 };
};

/** bpf_fentry_test1..10 that this kernel's BTF has, with their ids */
const testFunctions = (btf: KernelBtf): { name: string; id: number }[] => {
  const out: { name: string; id: number }[] = [];
  for (let i = 1; i <= 10; i++) {
    const id = btf.funcs.get(`bpf_fentry_test${i}`)?.[0];
    if (id !== undefined) out.push({ name: `bpf_fentry_test${i}`, id });
  }
  return out;
};

// the kernel's btf_id_deny and the functions the trampoline itself calls; ___migrate_enable
// was found refused (EINVAL) on Debian 7.3.4 by the `refused` mode
const DENY = new Set([
  'migrate_disable',
  'migrate_enable',
  '___migrate_enable',
  'rcu_read_unlock_strict',
  'preempt_count_add',
  'preempt_count_sub',
  '__rcu_read_lock',
  '__rcu_read_unlock',
  'bpf_multi_func',
]);

const readText = (path: string): string => {
  const f = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(1 << 20);
    for (let n = readSync(f, buf); n > 0; n = readSync(f, buf)) {
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(f);
  }
};

/**
 * Functions every path can attach to: in available_filter_functions and in BTF once, unique in
 * kallsyms, not deny-listed, at most 6 arguments, no varargs, no struct return, no struct
 * argument over 16 bytes. Sorted by name.
 */
const usableFunctions = (btf: KernelBtf): { name: string; id: number }[] => {
  const filter = new Set<string>();
  for (const line of readText('/sys/kernel/tracing/available_filter_functions').split('\n')) {
    const name = line.split(' ')[0];
    if (name) filter.add(name);
  }
  const kallsyms = new Map<string, number>();
  for (const line of readText('/proc/kallsyms').split('\n')) {
    const name = line.split(' ')[2];
    if (name) kallsyms.set(name, (kallsyms.get(name) ?? 0) + 1);
  }
  const isAggregate = (id: number, maxSize: number): boolean => {
    const t = typeAt(btf.space, skipModifiers(btf.space, id));
    return t !== undefined && (t.kind === 'struct' || t.kind === 'union') && t.size > maxSize;
  };
  const out: { name: string; id: number }[] = [];
  for (const [name, ids] of btf.funcs) {
    if (ids.length !== 1 || DENY.has(name) || !filter.has(name) || kallsyms.get(name) !== 1) {
      continue;
    }
    const fn = typeAt(btf.space, ids[0]!);
    if (fn?.kind !== 'func') continue;
    const proto = typeAt(btf.space, fn.type);
    if (proto?.kind !== 'func_proto' || proto.params.length > 6) continue;
    if (proto.params.some((p) => p.type === 0)) continue;
    if (proto.ret !== 0 && isAggregate(proto.ret, -1)) continue;
    if (proto.params.some((p) => isAggregate(p.type, 16))) continue;
    out.push({ name, id: ids[0]! });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
};

/** n functions spread evenly over the list (deterministic) */
const sample = <T>(xs: readonly T[], n: number): T[] => {
  if (n >= xs.length) return [...xs];
  return Array.from({ length: n }, (_v, i) => xs[Math.floor((i * xs.length) / n)]!);
};

// ---- checks --------------------------------------------------------------------------------

type Path = 'tracing_multi' | 'fentry' | 'kprobe_multi';

interface PathResult {
  readonly path: Path;
  readonly functions: number;
  readonly attached: number;
  /** calls counted by the program, per cookie (cookie i+1 for the i-th function) */
  readonly counts: number[];
  readonly fired: number;
  readonly errno: string | null;
  readonly error?: string;
  readonly linkTypes?: number[];
  readonly fdinfo?: string;
}

/**
 * Attaches the counting program to `fns` on one path, cookie i+1 for fns[i], fires them once
 * with BPF_PROG_TEST_RUN of a plain fentry program (which calls bpf_fentry_test1..N), reads the
 * counts, releases everything.
 */
const tryPath = (path: Path, fns: readonly { name: string; id: number }[], attachType?: number) => {
  const fds: number[] = [];
  const mapFd = mapCreate();
  fds.push(mapFd);
  const cookies = u64s(fns.map((_f, i) => BigInt(i + 1)));
  const base = { path, functions: fns.length };
  try {
    const linkFds: number[] = [];
    const r = attempt(() => {
      if (path === 'tracing_multi') {
        const type = attachType ?? Attach.TRACE_FENTRY_MULTI;
        const prog = progLoad({
          type: ProgType.TRACING,
          attachType: type,
          insns: countingProg(mapFd),
        });
        fds.push(prog);
        const ids = u32s(fns.map((f) => f.id));
        linkFds.push(linkTracingMulti(prog, type, ids, fns.length, cookies));
      } else if (path === 'fentry') {
        fns.forEach((f, i) => {
          const prog = progLoad({
            type: ProgType.TRACING,
            attachType: Attach.TRACE_FENTRY,
            insns: countingProg(mapFd),
            attachBtfId: f.id,
          });
          fds.push(prog);
          linkFds.push(linkTracing(prog, Attach.TRACE_FENTRY, BigInt(i + 1)));
        });
      } else {
        const prog = progLoad({
          type: ProgType.KPROBE,
          attachType: Attach.TRACE_KPROBE_MULTI,
          insns: countingProg(mapFd),
        });
        fds.push(prog);
        linkFds.push(
          linkKprobeMulti(
            prog,
            fns.map((f) => f.name),
            cookies,
          ),
        );
      }
    });
    fds.push(...linkFds);
    if (!r.ok) {
      return {
        ...base,
        attached: linkFds.length === 0 ? 0 : linkFds.length,
        counts: [],
        fired: 0,
        errno: r.errno,
        error: r.error,
      } satisfies PathResult;
    }
    const attached = path === 'fentry' ? linkFds.length : fns.length;
    const fdText = linkFds.length > 0 ? fdinfo(linkFds[0]!) : '';
    const linkTypes = linkFds.map((fd) => linkInfo(fd).type);
    // the trigger: a plain fentry program on bpf_fentry_test1, run through BPF_PROG_TEST_RUN
    const trigger = progLoad({
      type: ProgType.TRACING,
      attachType: Attach.TRACE_FENTRY,
      insns: NOP_PROG,
      attachBtfId: fns[0]!.id,
    });
    fds.push(trigger);
    testRun(trigger);
    const counts = mapCounts(mapFd)
      .slice(1, fns.length + 1)
      .map(Number);
    return {
      ...base,
      attached,
      counts,
      fired: counts.reduce((s, c) => s + c, 0),
      errno: null,
      linkTypes,
      fdinfo: fdText,
    } satisfies PathResult;
  } finally {
    for (const fd of fds.reverse()) close(fd);
  }
};

/** N programs, each with its own link over bpf_fentry_test1, until one fails */
const budget = (id: number, attachType: number, max: number) => {
  const fds: number[] = [];
  try {
    for (let i = 0; i < max; i++) {
      const r = attempt(() => {
        const prog = progLoad({ type: ProgType.TRACING, attachType, insns: NOP_PROG });
        fds.push(prog);
        fds.push(linkTracingMulti(prog, attachType, u32s([id]), 1));
      });
      if (!r.ok) return { links: i, failedAt: i + 1, errno: r.errno };
    }
    return { links: max, failedAt: null, errno: null };
  } finally {
    for (const fd of fds.reverse()) close(fd);
  }
};

const checks = (): void => {
  const btf = readKernelBtf();
  const fns = testFunctions(btf);
  const release = readText('/proc/sys/kernel/osrelease').trim();
  emit({ kind: 'kernel', release, btfParseMs: Math.round(btf.parseMs), testFunctions: fns });
  if (fns.length === 0) return;
  // the ladder, as the driver will walk it: the first path that attaches
  const ladder: PathResult[] = [];
  for (const path of ['tracing_multi', 'fentry', 'kprobe_multi'] as const) {
    const r = tryPath(path, fns);
    ladder.push(r);
    emit({ kind: 'path', ...r });
  }
  const chosen = ladder.find((r) => r.errno === null);
  emit({
    kind: 'ladder',
    path: chosen?.path ?? 'none',
    steps: ladder.map((r) => ({ path: r.path, errno: r.errno })),
  });
  if (ladder[0]!.errno !== null) return;
  // the multi-link's own facts (7.2+)
  emit({ kind: 'fexit_multi', ...tryPath('tracing_multi', fns, Attach.TRACE_FEXIT_MULTI) });
  const dup = attempt(() => {
    const prog = progLoad({
      type: ProgType.TRACING,
      attachType: Attach.TRACE_FENTRY_MULTI,
      insns: NOP_PROG,
    });
    try {
      const ids = u32s([fns[0]!.id, fns[1]!.id, fns[0]!.id]);
      close(linkTracingMulti(prog, Attach.TRACE_FENTRY_MULTI, ids, 3));
    } finally {
      close(prog);
    }
  });
  emit({ kind: 'duplicate_ids', ok: dup.ok, errno: dup.ok ? null : dup.errno });
  emit({ kind: 'budget', ...budget(fns[0]!.id, Attach.TRACE_FENTRY_MULTI, 40) });
};

// ---- bench ---------------------------------------------------------------------------------

const ms = (t0: number): number => Math.round((performance.now() - t0) * 100) / 100;

interface Timed {
  readonly attachMs: number;
  readonly releaseMs: number;
  readonly errno: string | null;
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** attach with `attach`, release with `release`, both timed; a refusal is timed too */
const timed = <T>(attach: () => T, release: (v: T) => void): Timed => {
  const a = performance.now();
  const r = attempt(attach);
  const attachMs = ms(a);
  const d = performance.now();
  if (r.ok) release(r.value);
  return { attachMs, releaseMs: ms(d), errno: r.ok ? null : r.errno };
};

const summary = (runs: readonly Timed[]) => ({
  attachMs: median(runs.map((r) => r.attachMs)),
  releaseMs: median(runs.map((r) => r.releaseMs)),
  errno: runs.find((r) => r.errno !== null)?.errno ?? null,
  runs: runs.length,
});

/**
 * Per N: the raw multi-link (ids in hand), this loader's whole multi-link path, kprobe.multi by
 * name (each `rounds` times, in rotating order, medians) and N fentry links (once, N <= 1000).
 */
const bench = (sizes: readonly number[], rounds: number): void => {
  const btf = readKernelBtf();
  const t0 = performance.now();
  const usable = usableFunctions(btf);
  emit({
    kind: 'usable',
    functions: usable.length,
    btfParseMs: Math.round(btf.parseMs),
    selectMs: ms(t0),
  });
  const names = new Map(usable.map((f) => [f.name, f.id]));
  const nopTracing = () =>
    progLoad({ type: ProgType.TRACING, attachType: Attach.TRACE_FENTRY_MULTI, insns: NOP_PROG });
  for (const n of sizes) {
    const fns = sample(usable, n);
    const ids = u32s(fns.map((f) => f.id));
    const rawProg = nopTracing();
    const kprobeProg = progLoad({
      type: ProgType.KPROBE,
      attachType: Attach.TRACE_KPROBE_MULTI,
      insns: NOP_PROG,
    });
    const measure = {
      raw: () =>
        timed(() => linkTracingMulti(rawProg, Attach.TRACE_FENTRY_MULTI, ids, fns.length), close),
      // names resolved to ids, program loaded, cookies built, link created; link and program
      // released
      multi: () =>
        timed(
          () => {
            const own = u32s(fns.map((f) => names.get(f.name)!));
            const cookies = u64s(fns.map((_f, i) => BigInt(i + 1)));
            const prog = nopTracing();
            try {
              return {
                prog,
                link: linkTracingMulti(prog, Attach.TRACE_FENTRY_MULTI, own, fns.length, cookies),
              };
            } catch (e) {
              close(prog);
              throw e;
            }
          },
          ({ prog, link }) => {
            close(link);
            close(prog);
          },
        ),
      kprobeMulti: () =>
        timed(
          () =>
            linkKprobeMulti(
              kprobeProg,
              fns.map((f) => f.name),
            ),
          close,
        ),
    };
    const runs: Record<keyof typeof measure, Timed[]> = { raw: [], multi: [], kprobeMulti: [] };
    const order = Object.keys(measure) as (keyof typeof measure)[];
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < order.length; k++) {
        const which = order[(k + round) % order.length]!;
        runs[which].push(measure[which]());
      }
    }
    close(rawProg);
    close(kprobeProg);
    let perFunction: Timed | null = null;
    if (fns.length <= 1000) {
      const fds: number[] = [];
      perFunction = timed(
        () => {
          for (const f of fns) {
            const prog = progLoad({
              type: ProgType.TRACING,
              attachType: Attach.TRACE_FENTRY,
              insns: NOP_PROG,
              attachBtfId: f.id,
            });
            fds.push(prog);
            fds.push(linkTracing(prog, Attach.TRACE_FENTRY, 0n));
          }
        },
        () => undefined,
      );
      const d = performance.now();
      for (const fd of fds.reverse()) close(fd);
      perFunction = { ...perFunction, releaseMs: ms(d) };
    }
    emit({
      kind: 'scaling',
      n: fns.length,
      raw: summary(runs.raw),
      multi: summary(runs.multi),
      kprobeMulti: summary(runs.kprobeMulti),
      perFunction: perFunction === null ? null : { ...perFunction, runs: 1 },
    });
  }
};

/**
 * The usable functions one tracing multi-link refuses: chunks of the list are tried, a refused
 * chunk is split until single functions remain (diagnostic: what the usable filter misses).
 */
const refusedFunctions = (): void => {
  const btf = readKernelBtf();
  const usable = usableFunctions(btf);
  const prog = progLoad({
    type: ProgType.TRACING,
    attachType: Attach.TRACE_FENTRY_MULTI,
    insns: NOP_PROG,
  });
  const refused: { name: string; errno: string }[] = [];
  let tries = 0;
  const visit = (fns: readonly { name: string; id: number }[]): void => {
    tries++;
    const r = attempt(() =>
      linkTracingMulti(prog, Attach.TRACE_FENTRY_MULTI, u32s(fns.map((f) => f.id)), fns.length),
    );
    if (r.ok) {
      close(r.value);
      return;
    }
    if (fns.length === 1) {
      refused.push({ name: fns[0]!.name, errno: r.errno });
      emit({ kind: 'refused_function', name: fns[0]!.name, id: fns[0]!.id, errno: r.errno });
      return;
    }
    const half = Math.ceil(fns.length / 2);
    visit(fns.slice(0, half));
    visit(fns.slice(half));
  };
  const t0 = performance.now();
  for (let i = 0; i < usable.length; i += 2000) {
    visit(usable.slice(i, i + 2000));
    emit({ kind: 'refused_progress', done: Math.min(i + 2000, usable.length), tries, ms: ms(t0) });
  }
  close(prog);
  emit({ kind: 'refused', usable: usable.length, tries, ms: ms(t0), refused });
};

const main = (): void => {
  const mode = process.argv[2];
  try {
    if (mode === 'checks') checks();
    else if (mode === 'refused') refusedFunctions();
    else if (mode === 'bench') {
      // `all`: every usable function (the largest N that one link takes)
      const sizes = (process.argv[3] ?? '10,100,1000').split(',').map((s) => {
        const n = s === 'all' ? 1 << 20 : Number(s);
        if (!Number.isInteger(n) || n < 1 || n > 1 << 20) throw new Error(`bad size ${s}`);
        return n;
      });
      const rounds = Number(process.argv[4] ?? '3');
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20)
        throw new Error(`bad rounds ${process.argv[4]}`);
      bench(sizes, rounds);
    } else throw new Error(`usage: bpf-guest checks | bench N1,N2,... (got ${mode})`);
  } catch (e) {
    emit({ kind: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exitCode = 1;
  }
};

main();
