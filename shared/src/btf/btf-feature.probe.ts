import type { BtfEnumType, BtfObject } from '../lib/btf-model.js';
import { ATTACH_TYPES } from '../lib/kernel-vocabulary.js';
import type { AttachPath, MultiLinkProfile } from '../lib/kernel-vocabulary.js';

export interface LadderStep {
  readonly path: AttachPath;
  readonly available: boolean;
  /** the evidence, or what is missing */
  readonly why: string;
}

export interface FeatureProbe {
  /**
   * Which tracing multi-link flavour the kernel has, judged from its BTF (ARCHITECTURE.md, "The
   * kernel driver on each node"; kernel-multilink-spec.md §0, §1.1):
   * - `v26`: the merged series: `BPF_TRACE_FENTRY_MULTI` and `BPF_LINK_TYPE_TRACING_MULTI`;
   * - `v24`: the unmerged V24 series, recognised by `BPF_MODIFY_RETURN_MULTI`, which only V24/V25 have;
   * - `none`: no tracing multi-link.
   */
  readonly profile: MultiLinkProfile;
  /** the first available step of the ladder, or `none` */
  readonly path: AttachPath | 'none';
  readonly ladder: readonly LadderStep[];
  /** enumerators found, with their values (numbers differ between kernels, names do not) */
  readonly attachTypes: Readonly<Record<string, number>>;
  readonly linkTypes: Readonly<Record<string, number>>;
  /** where symbol presence came from: kallsyms, or BTF FUNCs when kallsyms is unreadable */
  readonly symbolSource: 'kallsyms' | 'btf';
}

export interface FeatureProbeInput {
  readonly vmlinux: BtfObject;
  /**
   * Whether the running kernel has a symbol of this name (kallsyms). Leave it out when kallsyms
   * cannot be read: FUNCs in the BTF are used instead, which is weaker evidence.
   */
  readonly hasSymbol?: (name: string) => boolean;
}

const INTERESTING_LINK = [
  'BPF_LINK_TYPE_TRACING',
  'BPF_LINK_TYPE_KPROBE_MULTI',
  'BPF_LINK_TYPE_TRACING_MULTI',
];

const findEnum = (object: BtfObject, name: string): BtfEnumType | undefined => {
  for (const t of object.types)
    if ((t.kind === 'enum' || t.kind === 'enum64') && t.name === name) return t;
  return undefined;
};

const pick = (e: BtfEnumType | undefined, names: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  if (!e) return out;
  for (const v of e.values) if (names.includes(v.name)) out[v.name] = Number(v.value);
  return out;
};

/**
 * Probes a node's multi-link support and picks the attach path from the fallback ladder:
 * tracing multi-link, then one fentry link per function, then kprobe.multi. Pure: the caller
 * passes the parsed vmlinux BTF and a symbol lookup.
 *
 * kprobe.multi needs both `bpf_kprobe_multi_link_attach` and fprobe (`register_fprobe_ips`):
 * without CONFIG_FPROBE the kernel still has `bpf_kprobe_multi_link_attach`, as a stub that
 * returns EOPNOTSUPP. One fentry link per function needs `BPF_TRACE_FENTRY`, BPF trampolines
 * (`bpf_trampoline_link_prog`) and direct ftrace calls (`register_ftrace_direct`).
 */
export const probeFeatures = (input: FeatureProbeInput): FeatureProbe => {
  const { vmlinux } = input;
  const attachTypes = pick(findEnum(vmlinux, 'bpf_attach_type'), ATTACH_TYPES);
  const linkTypes = pick(findEnum(vmlinux, 'bpf_link_type'), INTERESTING_LINK);
  let has = input.hasSymbol;
  if (!has) {
    const funcs = new Set<string>();
    for (const t of vmlinux.types) if (t.kind === 'func') funcs.add(t.name);
    has = (name) => funcs.has(name);
  }
  const present = (name: string): boolean => name in attachTypes || name in linkTypes;
  const missing = (names: readonly string[], test: (n: string) => boolean): string[] =>
    names.filter((n) => !test(n));

  const multiNames = ['BPF_TRACE_FENTRY_MULTI', 'BPF_LINK_TYPE_TRACING_MULTI'];
  const multiMissing = missing(multiNames, present);
  const profile: MultiLinkProfile =
    multiMissing.length > 0 ? 'none' : present('BPF_MODIFY_RETURN_MULTI') ? 'v24' : 'v26';
  const multiStep: LadderStep =
    profile === 'none'
      ? { path: 'tracing-multi', available: false, why: `BTF lacks ${multiMissing.join(', ')}` }
      : {
          path: 'tracing-multi',
          available: true,
          why: `BTF has ${multiNames.map((n) => `${n}=${attachTypes[n] ?? linkTypes[n]}`).join(', ')} (profile ${profile})`,
        };

  const fentryEnum = missing(['BPF_TRACE_FENTRY', 'BPF_LINK_TYPE_TRACING'], present);
  const fentrySyms = missing(['bpf_trampoline_link_prog', 'register_ftrace_direct'], has);
  const fentryStep: LadderStep =
    fentryEnum.length + fentrySyms.length === 0
      ? {
          path: 'fentry-per-function',
          available: true,
          why: 'BTF has BPF_TRACE_FENTRY; kernel has bpf_trampoline_link_prog and register_ftrace_direct',
        }
      : {
          path: 'fentry-per-function',
          available: false,
          why: `missing ${[...fentryEnum, ...fentrySyms].join(', ')}`,
        };

  const kprobeEnum = missing(['BPF_TRACE_KPROBE_MULTI', 'BPF_LINK_TYPE_KPROBE_MULTI'], present);
  const kprobeSyms = missing(['bpf_kprobe_multi_link_attach'], has);
  const fprobe = has('register_fprobe_ips');
  const kprobeStep: LadderStep =
    kprobeEnum.length + kprobeSyms.length > 0
      ? {
          path: 'kprobe-multi',
          available: false,
          why: `missing ${[...kprobeEnum, ...kprobeSyms].join(', ')}`,
        }
      : fprobe
        ? {
            path: 'kprobe-multi',
            available: true,
            why: 'kernel has bpf_kprobe_multi_link_attach and fprobe (register_fprobe_ips)',
          }
        : {
            path: 'kprobe-multi',
            available: false,
            why: 'bpf_kprobe_multi_link_attach is present but fprobe (register_fprobe_ips) is not: the EOPNOTSUPP stub of a kernel without CONFIG_FPROBE',
          };

  const ladder = [multiStep, fentryStep, kprobeStep];
  const chosen = ladder.find((s) => s.available);
  return {
    profile,
    path: chosen ? chosen.path : 'none',
    ladder,
    attachTypes,
    linkTypes,
    symbolSource: input.hasSymbol ? 'kallsyms' : 'btf',
  };
};
