/**
 * The attach-path probe, by trying (as libbpf's feature probes do): for each rung of the
 * fallback ladder (ARCHITECTURE.md) a trivial program (`r0 = 0; exit`) is loaded, attached to
 * one kernel function and released; the first rung whose every step the kernel accepts is the
 * node's path. Every step's real errno (and the verifier log's last lines) is kept, so the
 * agent reports why a rung was refused. IMPURE.
 *
 * Which rungs each kernel gives (real-kernels.md): 7.3.4 all three; 6.12 fentry per function and
 * kprobe.multi; 6.1 fentry per function only; this build host's 6.18 microVM none, measured:
 * tracing multi EINVAL at load (its UAPI has no type 59: "Tracing programs must provide
 * btf_id"), fentry EPERM at load (lockdown, empty log), kprobe.multi EOPNOTSUPP at link create.
 * The rungs that succeed can only be proven inside the VM tier (7.3 multi, 6.12 kprobe.multi,
 * 6.1 fentry).
 */
import type { AttachPath } from '@tramway/shared/lib';
import type { SysError } from './bpf-syscall.js';
import { BpfAttachType, BpfCmd, BpfProgType, closeFd } from './bpf-syscall.js';
import {
  TRIVIAL_PROGRAM,
  getFdById,
  linkCreateKprobeMulti,
  linkCreateTracing,
  linkCreateTracingMulti,
  progLoad,
} from './bpf-commands.js';

/** One step of one rung, as the kernel answered it. */
export interface ProbeStep {
  readonly path: AttachPath;
  readonly step: 'prog_load' | 'link_create';
  readonly ok: boolean;
  /** the errno's name (`EPERM`, `EOPNOTSUPP`, ...) when refused */
  readonly errno?: string;
  readonly errnoNumber?: number;
  /** the verifier log's last lines of a refused load (often empty: EPERM leaves none) */
  readonly log?: readonly string[];
}

export interface ProbeResult {
  /** the first rung the kernel accepted, `none` when it refused all three */
  readonly path: AttachPath | 'none';
  readonly steps: readonly ProbeStep[];
}

/** The function the probes attach to: its vmlinux BTF id (for BTF-based rungs) and its name. */
export interface ProbeTarget {
  readonly name: string;
  /** 0 when vmlinux has no such function: the BTF-based rungs are then refused with ENOENT */
  readonly btfId: number;
  /** the kernel id of the BTF object `btfId` is in (0: vmlinux, the default) */
  readonly btfObjId?: number;
}

const refused = (
  path: AttachPath,
  step: ProbeStep['step'],
  e: SysError & { readonly log?: readonly string[] },
): ProbeStep => ({
  path,
  step,
  ok: false,
  errno: e.name,
  errnoNumber: e.errno,
  ...(e.log === undefined ? {} : { log: e.log }),
});

/** Loads, links, releases; the steps as the kernel answered. */
const tryRung = (
  path: AttachPath,
  load: () => ReturnType<typeof progLoad>,
  link: (progFd: number) => ReturnType<typeof linkCreateTracing>,
): ProbeStep[] => {
  const prog = load();
  if (!prog.ok) return [refused(path, 'prog_load', prog)];
  try {
    const l = link(prog.value);
    if (!l.ok) return [{ path, step: 'prog_load', ok: true }, refused(path, 'link_create', l)];
    closeFd(l.value);
    return [
      { path, step: 'prog_load', ok: true },
      { path, step: 'link_create', ok: true },
    ];
  } finally {
    closeFd(prog.value);
  }
};

/** Runs the ladder against `target` (vmlinux's `bpf_fentry_test1` in every Debian kernel). */
export const probeAttachPaths = (target: ProbeTarget): ProbeResult => {
  const steps: ProbeStep[] = [];
  const enoent = (path: AttachPath): ProbeStep => ({
    path,
    step: 'link_create',
    ok: false,
    errno: 'ENOENT',
    errnoNumber: 2,
  });
  const rungs: readonly [AttachPath, () => ProbeStep[]][] = [
    [
      'tracing-multi',
      () =>
        tryRung(
          'tracing-multi',
          () =>
            progLoad({
              progType: BpfProgType.TRACING,
              expectedAttachType: BpfAttachType.TRACE_FENTRY_MULTI,
              insns: TRIVIAL_PROGRAM,
              name: 'tw_probe_multi',
            }),
          (fd) =>
            target.btfId === 0
              ? { ok: false, errno: 2, name: 'ENOENT' }
              : linkCreateTracingMulti({
                  progFd: fd,
                  attachType: BpfAttachType.TRACE_FENTRY_MULTI,
                  ids: [target.btfId],
                  cookies: [1n],
                }),
        ),
    ],
    [
      'fentry-per-function',
      () =>
        target.btfId === 0
          ? [enoent('fentry-per-function')]
          : tryRung(
              'fentry-per-function',
              () =>
                progLoad({
                  progType: BpfProgType.TRACING,
                  expectedAttachType: BpfAttachType.TRACE_FENTRY,
                  attachBtfId: target.btfId,
                  insns: TRIVIAL_PROGRAM,
                  name: 'tw_probe_fentry',
                }),
              (fd) =>
                linkCreateTracing({
                  progFd: fd,
                  attachType: BpfAttachType.TRACE_FENTRY,
                  cookie: 1n,
                }),
            ),
    ],
    [
      'kprobe-multi',
      () =>
        tryRung(
          'kprobe-multi',
          () =>
            progLoad({
              progType: BpfProgType.KPROBE,
              expectedAttachType: BpfAttachType.TRACE_KPROBE_MULTI,
              insns: TRIVIAL_PROGRAM,
              name: 'tw_probe_kpm',
            }),
          (fd) => linkCreateKprobeMulti({ progFd: fd, symbols: [target.name], cookies: [1n] }),
        ),
    ],
  ];
  for (const [path, run] of rungs) {
    const got = run();
    steps.push(...got);
    if (got.every((s) => s.ok)) return { path, steps };
  }
  return { path: 'none', steps };
};

/** Links tried at most when measuring the trampoline budget (the kernel's constant is 38 or less). */
const BUDGET_CEILING = 64;

/**
 * The trampoline budget of this kernel (BPF_MAX_TRAMP_LINKS as built: 38 upstream on x86, 36 on
 * Debian's 7.3.4, real-kernels.md), measured: distinct trivial fentry programs are linked to
 * `target` until the kernel answers E2BIG; the count that fitted is the budget, minus nothing:
 * links other tools already hold on `target` are counted in (`held`). Everything is released
 * again. Undefined when no fentry link can be made at all (the rung is refused) or when the
 * ceiling is reached without E2BIG.
 */
export const probeTrampolineBudget = (
  target: ProbeTarget,
  held = 0,
): { readonly budget: number | undefined; readonly errno?: string } => {
  if (target.btfId === 0) return { budget: undefined, errno: 'ENOENT' };
  const fds: number[] = [];
  try {
    for (let i = 0; i < BUDGET_CEILING; i++) {
      const prog = progLoad({
        progType: BpfProgType.TRACING,
        expectedAttachType: BpfAttachType.TRACE_FENTRY,
        attachBtfId: target.btfId,
        insns: TRIVIAL_PROGRAM,
        name: `tw_budget_${i}`,
      });
      if (!prog.ok) return { budget: undefined, errno: prog.name };
      fds.push(prog.value);
      const link = linkCreateTracing({
        progFd: prog.value,
        attachType: BpfAttachType.TRACE_FENTRY,
      });
      if (!link.ok)
        return link.name === 'E2BIG' && i > 0
          ? { budget: i + held }
          : { budget: undefined, errno: link.name };
      fds.push(link.value);
    }
    return { budget: undefined };
  } finally {
    for (const fd of fds.reverse()) closeFd(fd);
  }
};

/** The vmlinux BTF of an open BTF object id, as an fd (module targets load against it). */
export const btfFdOf = (objId: number): ReturnType<typeof getFdById> =>
  getFdById(BpfCmd.BTF_GET_FD_BY_ID, objId);
