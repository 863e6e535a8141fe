/**
 * The words for a node's kernel that the kernel model, the BTF feature probe, the fleet events
 * and the services share (kernel-multilink-spec.md §0, §1.1; ARCHITECTURE.md "The kernel
 * driver"): profiles, attach paths, attach names and uapi attach types. Defined once, here,
 * because both the kernel model and the BTF layer use them and both may import only lib.
 */

export const KERNEL_PROFILES = ['v24', 'v26'] as const;
/**
 * The tracing multi-link flavour the kernel model runs: `v24`, the 2024 Menglong Dong series
 * (spec §2.1, §3.2); `v26`, the merged Jiri Olsa series (§2.2, §3.11).
 */
export type KernelProfile = (typeof KERNEL_PROFILES)[number];

export const isKernelProfile = (text: string): text is KernelProfile =>
  (KERNEL_PROFILES as readonly string[]).includes(text);

export const MULTI_LINK_PROFILES = ['v24', 'v26', 'none'] as const;
/** Which tracing multi-link flavour a node's kernel offers; `none`: no tracing multi-link. */
export type MultiLinkProfile = (typeof MULTI_LINK_PROFILES)[number];

export const ATTACH_PATHS = ['tracing-multi', 'fentry-per-function', 'kprobe-multi'] as const;
/** A rung of the fallback ladder (ARCHITECTURE.md, "The kernel driver"), best first. */
export type AttachPath = (typeof ATTACH_PATHS)[number];

export const ATTACH_TYPES = [
  'BPF_TRACE_FENTRY_MULTI',
  'BPF_TRACE_FEXIT_MULTI',
  'BPF_MODIFY_RETURN_MULTI',
  'BPF_TRACE_FSESSION_MULTI',
  'BPF_TRACE_FENTRY',
  'BPF_TRACE_FEXIT',
  'BPF_MODIFY_RETURN',
  'BPF_TRACE_KPROBE_MULTI',
] as const;
/** Attach types of kernel-multilink-spec.md §1.1, plus the fallback single-link and kprobe types. */
export type AttachType = (typeof ATTACH_TYPES)[number];

/** The trampoline list kinds a tracing program attaches as; fsession (V26) sits on two lists. */
export type TracingKind = 'fentry' | 'fexit' | 'fmod_ret' | 'fsession';

/** The uapi attach type of a single (non-multi) tracing link, by kind. */
export const SINGLE_ATTACH_TYPES = {
  fentry: 'BPF_TRACE_FENTRY',
  fexit: 'BPF_TRACE_FEXIT',
  fmod_ret: 'BPF_MODIFY_RETURN',
} as const satisfies Readonly<Record<Exclude<TracingKind, 'fsession'>, AttachType>>;

/** The uapi attach type of a tracing multi-link, by kind (V26 has no MODIFY_RETURN_MULTI, V24 no FSESSION_MULTI). */
export const MULTI_ATTACH_TYPES = {
  fentry: 'BPF_TRACE_FENTRY_MULTI',
  fexit: 'BPF_TRACE_FEXIT_MULTI',
  fmod_ret: 'BPF_MODIFY_RETURN_MULTI',
  fsession: 'BPF_TRACE_FSESSION_MULTI',
} as const satisfies Readonly<Record<TracingKind, AttachType>>;

/** An attach name as in SEC(): `fentry|fexit|fmod_ret|fsession`, then `.multi`, then `.s`. */
export interface AttachName {
  readonly kind: TracingKind;
  readonly multi: boolean;
  readonly sleepable: boolean;
}

const ATTACH_NAME = /^(fentry|fexit|fmod_ret|fsession)(\.multi)?(\.s)?$/;

/**
 * Reads an attach name (`fentry.multi.s`, `fexit`, ...); null when the text is not one. Which
 * names a kernel profile has is the kernel model's rule, not checked here.
 */
export const parseAttachName = (text: string): AttachName | null => {
  const m = ATTACH_NAME.exec(text);
  if (m === null) return null;
  return { kind: m[1] as TracingKind, multi: m[2] !== undefined, sleepable: m[3] !== undefined };
};

/** The attach name of a kind: `fexit.multi.s`, `fentry`, ... */
export const formatAttachName = (a: AttachName): string =>
  `${a.kind}${a.multi ? '.multi' : ''}${a.sleepable ? '.s' : ''}`;

/**
 * The uapi attach type of an attach name (the sleepable `.s` suffix does not change it);
 * undefined for a text that is not an attach name and for single fsession, which has none here.
 */
export const attachTypeOf = (attach: string): AttachType | undefined => {
  const a = parseAttachName(attach);
  if (a === null) return undefined;
  if (a.multi) return MULTI_ATTACH_TYPES[a.kind];
  return a.kind === 'fsession' ? undefined : SINGLE_ATTACH_TYPES[a.kind];
};
