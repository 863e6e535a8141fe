/**
 * `bpf`: the KernelDriver over the real kernel (ARCHITECTURE.md, "The kernel driver on each
 * node"; real-kernels.md). IMPURE.
 *
 * - Patterns resolve, and plans are made, on the host's real BTF (the `host` model: vmlinux and
 *   module split BTF, kallsyms, ftrace lists); `state()` is that model, with the trampoline
 *   budget this kernel was measured to have. The model is never told what the kernel did: the
 *   kernel is the truth, read back by `dump()`.
 * - `apply` issues the real bpf() calls on the attach path the probe chose (tracing multi-link,
 *   one fentry link per function, or kprobe.multi), with a cookie per target on every path.
 *   Program ids and link ids are the kernel's; connections are keyed by the kernel's (BTF object
 *   id, BTF id). Every refusal carries the real errno and, for a load, the verifier log's last
 *   lines.
 * - Links are pinned in bpffs (`bpf-fs.ts` layout, mounted when absent) and found again after a
 *   restart (`outlivesProcess`: the agent does not replay its op log against this driver).
 * - `dump()` reads every link on the node back from the kernel: this node's own (held or pinned)
 *   are its `links`; every tracing link, any tool's, fills `trampolines`, so what others hold on
 *   a function is seen.
 *
 * Which paths this file can prove where: on the build host (6.18 microVM) only the refusals, the
 * BTF object ids, bpffs and pinning (of programs the kernel allows). Proven only inside the VM
 * tier: tracing multi-link attach (Debian 7.3), kprobe.multi (6.12), one fentry link per
 * function (6.1), module targets, the trampoline budget measurement, libbpf loading of tracing
 * objects.
 */
import type { ResolveProgram } from '@tramway/shared/domain';
import type {
  ConnectionValue,
  Errno,
  KernelObjectInput,
  KernelOp,
  StateDump,
  TargetRef,
} from '@tramway/shared/kernel';
import { createKernel } from '@tramway/shared/kernel';
import { hostKernelObjects, parseHostBtf, readHostKernel } from '@tramway/shared/infra';
import type { HostUnreadable } from '@tramway/shared/infra';
import type { AttachName } from '@tramway/shared/lib';
import { isErrno, parseAttachName } from '@tramway/shared/lib';
import type {
  DriverModule,
  ApplyContext,
  DriverOutcome,
  KernelDescription,
  KernelDriver,
} from '../kernel-driver.port.js';
import { createModelKernelDriver } from '../sim-kernel.driver.js';
import type { SysError } from './bpf-syscall.js';
import {
  BpfAttachType,
  BpfCmd,
  BpfLinkType,
  BpfProgType,
  bpf,
  closeFd,
  newAttr,
} from './bpf-syscall.js';
import type { LinkInfo } from './bpf-commands.js';
import {
  KPROBE_MULTI_RETURN,
  TRIVIAL_PROGRAM,
  getFdById,
  linkCreateKprobeMulti,
  linkCreateTracing,
  linkCreateTracingMulti,
  linkInfo,
  progInfo,
  progLoad,
  readFdinfo,
} from './bpf-commands.js';
import type { PinLayout } from './bpf-fs.js';
import {
  DEFAULT_BPFFS,
  ensureBpffs,
  makePinDirs,
  openPins,
  pinAs,
  pinLayout,
  unpin,
} from './bpf-fs.js';
import type { KernelLink } from './bpf-introspect.js';
import { kernelBtfObjects, kernelLinks } from './bpf-introspect.js';
import type { ProbeResult } from './bpf-probe.js';
import { probeAttachPaths, probeTrampolineBudget } from './bpf-probe.js';
import { loadObjectProgram } from './bpf-libbpf.js';

/**
 * The code of a program to load: the trivial `r0 = 0; exit` (no source: probes, tests, a
 * policy without an object), raw instructions, or a compiled ELF object loaded by libbpf (the
 * program-objects store hands its verified bytes here).
 */
export type ProgramCode =
  | { readonly kind: 'trivial' }
  | { readonly kind: 'insns'; readonly insns: Buffer }
  | { readonly kind: 'object'; readonly bytes: Buffer; readonly program: string };

/** Finds the code of a `prog_load` (by the op's program name); undefined: the trivial program. */
export type ProgramSource = (op: Extract<KernelOp, { op: 'prog_load' }>) => ProgramCode | undefined;

export interface BpfKernelDriverOptions {
  /** the node's id: its pin directory (`<bpffs>/tramway/<node>/`) */
  readonly nodeId: string;
  /** where bpffs is (mounted there when absent); default `/sys/fs/bpf` */
  readonly bpffs?: string;
  /** file-system root of the host facts the model is built from (default `/`) */
  readonly root?: string;
  /** the function the probes attach to; default `bpf_fentry_test1` (in every Debian kernel) */
  readonly probeFunction?: string;
  /** measure the trampoline budget when a tracing rung works (default true) */
  readonly measureBudget?: boolean;
  /** the code of each program; default: the trivial program */
  readonly programs?: ProgramSource;
  /**
   * After a refused multi link, find the target the kernel refuses by trying halves (each
   * accepted half is released at once, so the program runs briefly on some of the requested
   * functions); default true. False: the refusal names no target.
   */
  readonly diagnoseRefusals?: boolean;
}

/** The bpf driver's extra reads, beyond the port (tests, `tramway kernel`, the VM tier). */
export interface BpfKernelDriver extends KernelDriver {
  /** the probe as run at creation */
  readonly probe: ProbeResult;
  /** the pin directories of this node */
  readonly layout: PinLayout;
  /** every link on the node, any tool's, with `own` set for this node's */
  nodeLinks(): Promise<
    | { readonly ok: true; readonly value: readonly (KernelLink & { readonly own: boolean })[] }
    | { readonly ok: false; readonly errno: string; readonly reason: string }
  >;
}

const SLEEPABLE = 1 << 4;

/** How a program is attached: the kernel mechanism behind an attach name on a path. */
type Mechanism = 'tracing-multi' | 'fentry-per-function' | 'kprobe-multi';

interface HeldProg {
  readonly fd: number;
  readonly name: string;
  readonly attach: AttachName;
  readonly mechanism: Mechanism;
  readonly attachType: number;
  /** the BTF object the program was loaded against (multi: its ids are interpreted in it) */
  readonly object: string;
}

const MULTI_TYPES = {
  fentry: BpfAttachType.TRACE_FENTRY_MULTI,
  fexit: BpfAttachType.TRACE_FEXIT_MULTI,
  fsession: BpfAttachType.TRACE_FSESSION_MULTI,
} as const;
const SINGLE_TYPES = {
  fentry: BpfAttachType.TRACE_FENTRY,
  fexit: BpfAttachType.TRACE_FEXIT,
  fmod_ret: BpfAttachType.MODIFY_RETURN,
} as const;

const errnoOf = (e: { readonly name: string }): Errno => (isErrno(e.name) ? e.name : 'EIO');

const refusal = (
  what: string,
  e: SysError & { readonly log?: readonly string[] },
): DriverOutcome => ({
  ok: false,
  errno: errnoOf(e),
  reason:
    `${what}: ${e.name} (${e.errno})` +
    (e.log !== undefined && e.log.length > 0 ? `; verifier: ${e.log.join(' | ')}` : ''),
});

const refuse = (errno: Errno, reason: string): DriverOutcome => ({ ok: false, errno, reason });

/** Attempts at most made to find the refused target of a multi link (about 2 log2 n). */
const MAX_DIAGNOSIS_ATTEMPTS = 64;

/**
 * The first target that the kernel refuses on its own, by halving: `attempt(from, to)` tries a
 * link over targets [from, to) (an accepted one is closed here at once). Undefined when no
 * single target is refused (the refusal came from the whole: duplicates, the count, the budget
 * of a trampoline shared by several) or the attempts run out.
 */
export const findFailingTarget = (
  n: number,
  attempt: (from: number, to: number) => { ok: true; value: number } | SysError,
): { readonly index: number; readonly error: SysError } | undefined => {
  let lo = 0;
  let hi = n;
  let tries = 0;
  while (hi - lo > 1 && tries < MAX_DIAGNOSIS_ATTEMPTS) {
    const mid = (lo + hi) >> 1;
    const r = attempt(lo, mid);
    tries++;
    if (r.ok) {
      closeFd(r.value);
      lo = mid;
    } else hi = mid;
  }
  if (hi - lo !== 1) return undefined;
  const alone = attempt(lo, hi);
  if (alone.ok) {
    closeFd(alone.value);
    return undefined;
  }
  return { index: lo, error: alone };
};

/**
 * Builds the `bpf` driver: reads the host's BTF and symbols (the model for resolve and plans),
 * probes the attach paths by trying, measures the trampoline budget, finds this node's pins.
 * Fails (as data) when the vmlinux BTF cannot be read, or libc/bpf() cannot be reached.
 */
export const createBpfKernelDriver = async (
  options: BpfKernelDriverOptions,
): Promise<
  | { readonly ok: true; readonly value: BpfKernelDriver }
  | { readonly ok: false; readonly error: readonly string[] }
> => {
  const facts = await readHostKernel(options.root === undefined ? {} : { root: options.root });
  const btf = parseHostBtf(facts);
  const unreadable: HostUnreadable[] = [...facts.unreadable, ...btf.unreadable];
  if (!btf.vmlinux) return { ok: false, error: unreadable.map((u) => `${u.path}: ${u.reason}`) };
  const objects: readonly KernelObjectInput[] = hostKernelObjects(btf, facts);
  const byName = new Map(objects.map((o) => [o.btf.name, o.btf]));
  const funcName = (object: string, btfId: number): string | undefined => {
    const b = byName.get(object);
    const t = b?.types[btfId - b.firstTypeId];
    return t?.kind === 'func' ? t.name : undefined;
  };
  const funcId = (object: string, name: string): number | undefined => {
    const b = byName.get(object);
    if (b === undefined) return undefined;
    const i = b.types.findIndex((t) => t.kind === 'func' && t.name === name);
    return i < 0 ? undefined : b.firstTypeId + i;
  };

  const probeName = options.probeFunction ?? 'bpf_fentry_test1';
  let probe: ProbeResult;
  try {
    probe = probeAttachPaths({ name: probeName, btfId: funcId('vmlinux', probeName) ?? 0 });
  } catch (error) {
    return { ok: false, error: [`bpf(): cannot be called: ${String(error)}`] };
  }
  const tracingRung = probe.steps.some(
    (s) => s.ok && s.step === 'link_create' && s.path !== 'kprobe-multi',
  );
  // links other tools already hold on the probe function count in: they use the same budget
  const probeId = funcId('vmlinux', probeName) ?? 0;
  const heldOnProbe = (): number => {
    const all = kernelLinks(
      (l) => l.type === BpfLinkType.TRACING || l.type === BpfLinkType.TRACING_MULTI,
      { fdinfo: false },
    );
    const vmlinuxId = kernelBtfObjects();
    const objId = vmlinuxId.ok ? vmlinuxId.value.find((o) => o.name === 'vmlinux')?.id : undefined;
    if (!all.ok) return 0;
    return all.value.filter((l) =>
      l.info.targets.some((t) => t.btfId === probeId && t.btfObjId === objId),
    ).length;
  };
  const budget =
    tracingRung && options.measureBudget !== false
      ? probeTrampolineBudget({ name: probeName, btfId: probeId }, heldOnProbe()).budget
      : undefined;

  // the model: resolve and plans on the node's real functions, with the measured budget
  const model = createModelKernelDriver({
    state: createKernel({
      profile: 'v26',
      objects,
      ...(budget === undefined ? {} : { limits: { maxTrampLinks: budget } }),
    }),
    objects,
    facts: {
      mode: 'bpf',
      ...(facts.release === undefined ? {} : { release: facts.release }),
      ...(facts.bootId === undefined ? {} : { bootId: facts.bootId }),
      probedProfile: probe.path === 'tracing-multi' ? 'v26' : 'none',
      attachPath: probe.path,
      unreadable,
    },
  });
  const modelDescription = await model.describe();
  const description: KernelDescription = {
    ...modelDescription,
    probe: { steps: probe.steps },
    ...(budget === undefined ? {} : { trampolineBudget: budget }),
  };

  const layout = pinLayout(options.bpffs ?? DEFAULT_BPFFS, options.nodeId);
  let pinDirsReady = false;
  const preparePins = (): SysError | undefined => {
    if (pinDirsReady) return undefined;
    const fs = ensureBpffs(layout.root);
    if (!fs.ok) return fs;
    const dirs = makePinDirs(layout);
    if (!dirs.ok) return dirs;
    pinDirsReady = true;
    return undefined;
  };
  // a pinned layout from before a restart is found only when bpffs is already mounted
  const pinnedIds = (dir: string): Set<number> => {
    const ids = new Set<number>();
    for (const p of openPins(dir)) {
      if (!p.fd.ok) continue;
      const info = dir === layout.links ? linkInfo(p.fd.value) : progInfo(p.fd.value);
      closeFd(p.fd.value);
      if (info.ok) ids.add(info.value.id);
    }
    return ids;
  };

  const progs = new Map<number, HeldProg>();
  const links = new Map<number, number>();
  /** what each link this process created connects (kprobe.multi links report no BTF ids back) */
  const made = new Map<number, readonly ConnectionValue[]>();
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error('kernel driver is closed');
  };

  const btfObjIds = (): Map<string, number> => {
    const list = kernelBtfObjects();
    return new Map(list.ok ? list.value.map((o) => [o.name, o.id]) : []);
  };
  /** an fd of the named kernel BTF object (a module's, for targets in it) */
  const btfFd = (object: string): SysError | { ok: true; value: number } => {
    const id = btfObjIds().get(object);
    if (id === undefined) return { ok: false, errno: 2, name: 'ENOENT' };
    return getFdById(BpfCmd.BTF_GET_FD_BY_ID, id);
  };

  const targetOf = (
    t: TargetRef,
  ): { object: string; btfId: number; function: string } | { error: string } => {
    if ('btfId' in t) {
      const fn = funcName(t.object, t.btfId);
      return fn === undefined
        ? { error: `${t.object} has no FUNC with BTF id ${t.btfId}` }
        : { object: t.object, btfId: t.btfId, function: fn };
    }
    if ('name' in t) {
      const object = t.object ?? 'vmlinux';
      const id = funcId(object, t.name);
      return id === undefined
        ? { error: `${object} has no FUNC ${t.name}` }
        : { object, btfId: id, function: t.name };
    }
    return { error: `a type reference (${t.type}) is not a function` };
  };

  const progLoadOp = (
    op: Extract<KernelOp, { op: 'prog_load' }>,
    context?: ApplyContext,
  ): DriverOutcome => {
    const attach = parseAttachName(op.attach);
    if (attach === null) return refuse('EINVAL', `'${op.attach}' is not an attach name`);
    const mechanism: Mechanism = !attach.multi
      ? 'fentry-per-function'
      : probe.path === 'kprobe-multi'
        ? 'kprobe-multi'
        : 'tracing-multi';
    let progType: number = BpfProgType.TRACING;
    let attachType: number;
    let attachBtfId = 0;
    let object = op.object ?? 'vmlinux';
    if (mechanism === 'kprobe-multi') {
      if (attach.kind !== 'fentry' && attach.kind !== 'fexit')
        return refuse(
          'EOPNOTSUPP',
          `${op.attach} has no kprobe.multi equivalent (fentry, fexit only)`,
        );
      progType = BpfProgType.KPROBE;
      attachType = BpfAttachType.TRACE_KPROBE_MULTI;
    } else if (mechanism === 'tracing-multi') {
      if (attach.kind === 'fmod_ret')
        return refuse('EINVAL', 'the merged tracing multi-link has no fmod_ret.multi (spec §2.2)');
      attachType = MULTI_TYPES[attach.kind];
    } else {
      if (attach.kind === 'fsession')
        return refuse('EINVAL', 'fsession exists only as fsession.multi');
      attachType = SINGLE_TYPES[attach.kind];
      if (op.origin === undefined)
        return refuse('EINVAL', `${op.attach}: a single tracing program needs its target at load`);
      const target = targetOf(op.origin);
      if ('error' in target) return refuse('ESRCH', target.error);
      attachBtfId = target.btfId;
      object = target.object;
    }
    let objFd: number | undefined;
    if (object !== 'vmlinux' && mechanism !== 'kprobe-multi') {
      // PROVEN ONLY IN A VM: module targets (this host has no modules)
      const fd = btfFd(object);
      if (!fd.ok) return refusal(`BTF object ${object}`, fd);
      objFd = fd.value;
    }
    try {
      // the policy's verified object (the agent fetched it and checked its sha256), else the
      // configured source, else the trivial program
      const verified = context?.programObject;
      const code: ProgramCode =
        verified !== undefined
          ? {
              kind: 'object',
              bytes: Buffer.from(
                verified.bytes.buffer,
                verified.bytes.byteOffset,
                verified.bytes.byteLength,
              ),
              program: verified.program.name,
            }
          : (options.programs?.(op) ?? { kind: 'trivial' as const });
      let loaded: { ok: true; value: number } | (SysError & { log?: readonly string[] });
      if (code.kind === 'object') {
        const origin = mechanism === 'fentry-per-function' ? targetOf(op.origin!) : undefined;
        loaded = loadObjectProgram({
          bytes: code.bytes,
          program: code.program,
          progType,
          expectedAttachType: attachType,
          ...(origin === undefined || 'error' in origin ? {} : { attachTo: origin.function }),
        });
      } else
        loaded = progLoad({
          progType,
          insns: code.kind === 'insns' ? code.insns : TRIVIAL_PROGRAM,
          expectedAttachType: attachType,
          attachBtfId,
          ...(objFd === undefined ? {} : { attachBtfObjFd: objFd }),
          name: op.name,
          flags: attach.sleepable ? SLEEPABLE : 0,
        });
      if (!loaded.ok)
        return refusal(
          `BPF_PROG_LOAD ${op.attach} (${mechanism}, attach type ${attachType})`,
          loaded,
        );
      const info = progInfo(loaded.value);
      if (!info.ok) {
        closeFd(loaded.value);
        return refusal('BPF_OBJ_GET_INFO_BY_FD (prog)', info);
      }
      progs.set(info.value.id, {
        fd: loaded.value,
        name: op.name,
        attach,
        mechanism,
        attachType,
        object,
      });
      return { ok: true, value: { progId: info.value.id } };
    } finally {
      if (objFd !== undefined) closeFd(objFd);
    }
  };

  const connectionsOf = (
    info: LinkInfo,
    requested: readonly { object: string; btfId: number; function: string; cookie: bigint }[],
  ): ConnectionValue[] => {
    const objIds = btfObjIds();
    const objectById = new Map([...objIds].map(([name, id]) => [id, name]));
    if (info.type === BpfLinkType.TRACING_MULTI || info.type === BpfLinkType.TRACING)
      return info.targets.map((t) => ({
        function: funcName(objectById.get(t.btfObjId) ?? 'vmlinux', t.btfId) ?? `btf#${t.btfId}`,
        objId: t.btfObjId,
        btfId: t.btfId,
        cookie: t.cookie,
      }));
    // kprobe.multi knows addresses, not BTF: the request's keys, with the kernel's real BTF object ids
    return requested.map((r) => ({
      function: r.function,
      objId: objIds.get(r.object) ?? 0,
      btfId: r.btfId,
      cookie: r.cookie,
    }));
  };

  const linkCreateOp = (op: Extract<KernelOp, { op: 'link_create' }>): DriverOutcome => {
    const p = progs.get(op.prog);
    if (p === undefined) return refuse('EBADF', `program ${op.prog} is not held by this agent`);
    const targets: { object: string; btfId: number; function: string; cookie: bigint }[] = [];
    for (const [index, t] of op.targets.entries()) {
      const r = targetOf(t);
      if ('error' in r)
        return {
          ok: false,
          errno: 'ESRCH',
          reason: `target ${index}: ${r.error}`,
          failedTarget: { index, errno: 'ESRCH', reason: r.error },
        };
      targets.push({ ...r, cookie: op.cookies?.[index] ?? 0n });
    }
    if (targets.length === 0) return refuse('EINVAL', 'no targets');
    let created: ReturnType<typeof linkCreateTracing>;
    const what = `BPF_LINK_CREATE ${p.mechanism} (${targets.length} target${targets.length === 1 ? '' : 's'}, attach type ${p.attachType})`;
    if (p.mechanism === 'tracing-multi') {
      // PROVEN ONLY IN A VM: Debian 7.3.4 (this host's kernel has no tracing multi-link)
      const foreign = targets.findIndex((t) => t.object !== p.object);
      if (foreign >= 0)
        return refuse(
          'EINVAL',
          `target ${foreign}: ${targets[foreign]!.object}:${targets[foreign]!.function} is not in ${p.object}, the program's BTF object (one link per object)`,
        );
      created = linkCreateTracingMulti({
        progFd: p.fd,
        attachType: p.attachType,
        ids: targets.map((t) => t.btfId),
        cookies: targets.map((t) => t.cookie),
      });
    } else if (p.mechanism === 'fentry-per-function') {
      // PROVEN ONLY IN A VM: Debian 6.1 and later (this host refuses the load with EPERM)
      if (targets.length !== 1)
        return refuse('E2BIG', `a single fentry link takes one target, not ${targets.length}`);
      created = linkCreateTracing({
        progFd: p.fd,
        attachType: p.attachType,
        cookie: targets[0]!.cookie,
      });
    } else {
      // PROVEN ONLY IN A VM: Debian 6.12 (CONFIG_FPROBE); this host answers EOPNOTSUPP
      created = linkCreateKprobeMulti({
        progFd: p.fd,
        symbols: targets.map((t) => t.function),
        cookies: targets.map((t) => t.cookie),
        flags: p.attach.kind === 'fexit' ? KPROBE_MULTI_RETURN : 0,
      });
    }
    if (!created.ok) {
      const base = refusal(what, created);
      // refusals of the whole mechanism or of the caller name no target
      const whole = ['EOPNOTSUPP', 'EPERM', 'ENOMEM', 'EFAULT', 'EBADF', 'ENOSYS'];
      if (targets.length < 2 || options.diagnoseRefusals === false || whole.includes(created.name))
        return base;
      // which target: the kernel does not say; halves are tried (each accepted one released at
      // once) until one target alone is refused. PROVEN ONLY IN A VM (multi links attach there)
      const attempt = (from: number, to: number): ReturnType<typeof linkCreateTracing> => {
        const part = targets.slice(from, to);
        return p.mechanism === 'tracing-multi'
          ? linkCreateTracingMulti({
              progFd: p.fd,
              attachType: p.attachType,
              ids: part.map((t) => t.btfId),
              cookies: part.map((t) => t.cookie),
            })
          : linkCreateKprobeMulti({
              progFd: p.fd,
              symbols: part.map((t) => t.function),
              cookies: part.map((t) => t.cookie),
              flags: p.attach.kind === 'fexit' ? KPROBE_MULTI_RETURN : 0,
            });
      };
      const failing = findFailingTarget(targets.length, attempt);
      if (failing === undefined || base.ok) return base;
      const t = targets[failing.index]!;
      const reason = `${t.object}:${t.function} (BTF id ${t.btfId}) alone is refused with ${failing.error.name} (${failing.error.errno})`;
      return {
        ...base,
        reason: `${base.reason}; ${reason}`,
        failedTarget: {
          index: failing.index,
          function: t.function,
          object: t.object,
          btfId: t.btfId,
          errno: errnoOf(failing.error),
          reason,
        },
      };
    }
    const info = linkInfo(created.value);
    if (!info.ok) {
      closeFd(created.value);
      return refusal('BPF_OBJ_GET_INFO_BY_FD (link)', info);
    }
    links.set(info.value.id, created.value);
    const connections = connectionsOf(info.value, targets);
    made.set(info.value.id, connections);
    return { ok: true, value: { linkId: info.value.id, connections } };
  };

  /** an fd of link `id`: the held one, else a fresh one by id (the caller closes fresh ones) */
  const linkFd = (id: number): { fd: number; fresh: boolean } | SysError => {
    const held = links.get(id);
    if (held !== undefined) return { fd: held, fresh: false };
    const fd = getFdById(BpfCmd.LINK_GET_FD_BY_ID, id);
    return fd.ok ? { fd: fd.value, fresh: true } : fd;
  };

  const applyOp = (op: KernelOp, context?: ApplyContext): DriverOutcome => {
    switch (op.op) {
      case 'prog_load':
        return progLoadOp(op, context);
      case 'prog_release': {
        const p = progs.get(op.prog);
        if (p === undefined) return refuse('EBADF', `program ${op.prog} is not held by this agent`);
        closeFd(p.fd);
        progs.delete(op.prog);
        return { ok: true, value: null };
      }
      case 'link_create':
        return linkCreateOp(op);
      case 'link_pin': {
        const fd = links.get(op.link);
        if (fd === undefined) return refuse('EBADF', `link ${op.link} is not held by this agent`);
        const failed = preparePins();
        if (failed !== undefined) return refusal(`bpffs at ${layout.root}`, failed);
        const pinned = pinAs(layout.links, op.link, fd);
        return pinned.ok
          ? { ok: true, value: null }
          : refusal(`BPF_OBJ_PIN ${layout.links}/${op.link}`, pinned);
      }
      case 'link_unpin': {
        const r = unpin(layout.links, op.link);
        return r.ok ? { ok: true, value: null } : refusal(`unpin ${layout.links}/${op.link}`, r);
      }
      case 'link_release': {
        const fd = links.get(op.link);
        if (fd === undefined) return refuse('EBADF', `link ${op.link} is not held by this agent`);
        closeFd(fd);
        links.delete(op.link);
        made.delete(op.link);
        return { ok: true, value: null };
      }
      case 'link_detach': {
        const l = linkFd(op.link);
        if ('ok' in l) return refusal(`link ${op.link}`, l);
        const attr = newAttr();
        attr.writeUInt32LE(l.fd, 0);
        const r = bpf(BpfCmd.LINK_DETACH, attr);
        if (l.fresh) closeFd(l.fd);
        return r.ok ? { ok: true, value: null } : refusal('BPF_LINK_DETACH', r);
      }
      case 'fdinfo': {
        const l = linkFd(op.link);
        if ('ok' in l) return refusal(`link ${op.link}`, l);
        const text = readFdinfo(l.fd);
        if (l.fresh) closeFd(l.fd);
        return text.ok ? { ok: true, value: { text: text.value } } : refusal('fdinfo', text);
      }
      case 'link_update':
        return refuse('EOPNOTSUPP', 'link_update: not issued by the bpf driver');
      case 'module_load':
      case 'module_unload':
      case 'module_set_state':
        return refuse(
          'EOPNOTSUPP',
          `${op.op}: the bpf driver does not load or unload modules (modprobe does)`,
        );
      case 'trigger':
        return refuse(
          'EOPNOTSUPP',
          'trigger: BPF_PROG_TEST_RUN triggers are not wired into the bpf driver yet',
        );
    }
  };

  const ownLinkIds = (): Set<number> => new Set([...links.keys(), ...pinnedIds(layout.links)]);

  const nodeLinks: BpfKernelDriver['nodeLinks'] = () => {
    const own = ownLinkIds();
    const all = kernelLinks();
    if (!all.ok)
      return Promise.resolve({
        ok: false,
        errno: all.name,
        reason: `BPF_LINK_GET_NEXT_ID: ${all.name}`,
      });
    return Promise.resolve({
      ok: true,
      value: all.value.map((l) => ({ ...l, own: own.has(l.info.id) })),
    });
  };

  const modules = async (): Promise<readonly DriverModule[]> => {
    const ids = btfObjIds();
    return (await model.modules()).map((m) => ({ ...m, btfObjId: ids.get(m.name) ?? 0 }));
  };

  const dump = async (): Promise<StateDump> => {
    const own = ownLinkIds();
    const all = kernelLinks(() => true, { fdinfo: false });
    const found = all.ok ? all.value : [];
    const objIds = btfObjIds();
    const objectById = new Map([...objIds].map(([name, id]) => [id, name]));
    const tramps = new Map<
      string,
      {
        function: string;
        object: string;
        btfId: number;
        fentry: TrampSlot[];
        fexit: TrampSlot[];
        fmodRet: TrampSlot[];
      }
    >();
    const dumpLinks: StateDump['links'][number][] = [];
    const ownProgs = new Map<number, { id: number; name: string; loaded: boolean }>();
    for (const [id, p] of progs) ownProgs.set(id, { id, name: p.name, loaded: true });
    for (const l of found) {
      const tracing =
        l.info.type === BpfLinkType.TRACING || l.info.type === BpfLinkType.TRACING_MULTI;
      const progName = l.prog?.name ?? `prog#${l.info.progId}`;
      if (tracing)
        for (const t of l.info.targets) {
          const object = objectById.get(t.btfObjId) ?? 'vmlinux';
          const key = `${t.btfObjId}:${t.btfId}`;
          let tr = tramps.get(key);
          if (tr === undefined) {
            tr = {
              function: funcName(object, t.btfId) ?? `btf#${t.btfId}`,
              object,
              btfId: t.btfId,
              fentry: [],
              fexit: [],
              fmodRet: [],
            };
            tramps.set(key, tr);
          }
          const slot = { link: l.info.id, prog: progName, cookie: t.cookie };
          const at = l.info.attachType;
          if (at === BpfAttachType.TRACE_FENTRY || at === BpfAttachType.TRACE_FENTRY_MULTI)
            tr.fentry.push(slot);
          else if (at === BpfAttachType.TRACE_FEXIT || at === BpfAttachType.TRACE_FEXIT_MULTI)
            tr.fexit.push(slot);
          else if (at === BpfAttachType.MODIFY_RETURN) tr.fmodRet.push(slot);
          else if (at === BpfAttachType.TRACE_FSESSION_MULTI) {
            tr.fentry.push(slot);
            tr.fexit.push(slot);
          }
        }
      if (!own.has(l.info.id)) continue;
      if (!ownProgs.has(l.info.progId))
        ownProgs.set(l.info.progId, { id: l.info.progId, name: progName, loaded: false });
      dumpLinks.push({
        id: l.info.id,
        prog: l.info.progId,
        type:
          l.info.type === BpfLinkType.TRACING
            ? 'tracing'
            : l.info.type === BpfLinkType.KPROBE_MULTI
              ? 'kprobe_multi'
              : 'tracing_multi',
        connections: tracing
          ? l.info.targets.map((t) => ({
              function:
                funcName(objectById.get(t.btfObjId) ?? 'vmlinux', t.btfId) ?? `btf#${t.btfId}`,
              objId: t.btfObjId,
              btfId: t.btfId,
              cookie: t.cookie,
            }))
          : (made.get(l.info.id) ?? []),
      });
    }
    return {
      trampolines: [...tramps.values()].sort((a, b) =>
        a.object === b.object
          ? a.btfId - b.btfId
          : (objIds.get(a.object) ?? 0) - (objIds.get(b.object) ?? 0),
      ),
      modules: (await model.dump()).modules,
      links: dumpLinks.sort((a, b) => a.id - b.id),
      progs: [...ownProgs.values()].sort((a, b) => a.id - b.id),
    };
  };

  const driver: BpfKernelDriver = {
    probe,
    layout,
    outlivesProcess: true,
    describe: () => Promise.resolve(description),
    // async: a closed driver's calls reject (they never throw synchronously)
    resolve: async (patterns: readonly string[], program: ResolveProgram) => {
      open();
      return model.resolve(patterns, program);
    },
    apply: async (op, context) => {
      open();
      return applyOp(op, context);
    },
    dump: async () => {
      open();
      return dump();
    },
    modules,
    nodeLinks,
    state: () => model.state(),
    close: () => {
      closed = true;
      for (const fd of links.values()) closeFd(fd);
      for (const p of progs.values()) closeFd(p.fd);
      links.clear();
      progs.clear();
      return Promise.resolve(undefined);
    },
  };
  return { ok: true, value: driver };
};

type TrampSlot = StateDump['trampolines'][number]['fentry'][number];
