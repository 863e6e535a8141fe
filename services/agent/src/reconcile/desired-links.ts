/**
 * Pure decisions that turn one assigned policy version and this node's kernel facts into the
 * links the node must hold: which path (multi or per function), which attach name, which origin,
 * which targets attach now, which wait for their module, which the kernel refuses, and how the
 * attachable ones group into program loads and links.
 */
import type { AttachType, Errno, KernelProfile } from '@tramway/shared/lib';
import { attachTypeOf as uapiAttachType } from '@tramway/shared/lib';
import { choosePath as chooseDomainPath } from '@tramway/shared/domain';
import type {
  AgentPolicySpec,
  AssignedPolicy,
  LinkGroup,
  LinkPath,
  LinkTarget,
} from './agent-policy.js';

/** What the node's kernel offers, from its driver description. */
export interface NodeKernel {
  readonly profile: KernelProfile;
  /** the kernel has tracing multi-link (spec §1.1) */
  readonly multi: boolean;
  /**
   * the kernel has BTF trampolines (fentry); false when its best path is kprobe-multi, which
   * the kernel model does not simulate. Default true.
   */
  readonly trampolines?: boolean;
}

export type PathChoice =
  { readonly ok: true; readonly path: LinkPath } | { readonly ok: false; readonly reason: string };

/**
 * The path for a policy on this node. `multi` needs tracing multi-link; `per-function` always
 * uses one fentry/fexit/fmod_ret link per function; `auto` takes multi where the node has it and
 * the attach type exists there (V26 has no MODIFY_RETURN_MULTI, spec §1.1), else per function.
 */
export const choosePath = (spec: AgentPolicySpec, node: NodeKernel): PathChoice => {
  if (node.trampolines === false)
    return {
      ok: false,
      reason:
        "this node's best attach path is kprobe-multi, which the kernel model does not simulate",
    };
  const strategy = spec.strategy ?? 'auto';
  // one ladder for plans and for the agent: the domain's (shared/src/domain/plan)
  const path = chooseDomainPath(node.multi ? node.profile : 'none', strategy, spec.program.attach);
  if (path !== 'none') return { ok: true, path };
  return {
    ok: false,
    reason: node.multi
      ? `${spec.program.attach} has no multi attach type on a ${node.profile} kernel (spec §1.1)`
      : 'the kernel has no tracing multi-link',
  };
};

/** The kernel model's attach name (as in SEC()): `fentry.multi.s`, `fexit`, ... */
export const kernelAttachName = (spec: AgentPolicySpec, path: LinkPath): string =>
  `${spec.program.attach}${path === 'tracing-multi' ? '.multi' : ''}${spec.program.sleepable ? '.s' : ''}`;

/**
 * The uapi attach type of a kernel attach name (the sleepable `.s` suffix does not change it);
 * BPF_TRACE_FENTRY for a name that has none.
 */
export const attachTypeOf = (attach: string): AttachType =>
  uapiAttachType(attach) ?? 'BPF_TRACE_FENTRY';

/** A function a pattern matched, with the kernel's verdict for this program. */
export interface TargetVerdictLike {
  readonly pattern: string;
  readonly object: string;
  readonly name: string;
  readonly btfId: number;
  readonly ok: boolean;
  readonly errno?: Errno;
  readonly reason?: string;
}

/** Where each declared module is; objects not listed are always there (vmlinux). */
export type ModuleStates = ReadonlyMap<string, 'live' | 'going' | 'unloaded'>;

/** A module whose functions cannot be used now: not loaded, going away, or being drained. */
const unavailable = (
  object: string,
  modules: ModuleStates,
  draining: ReadonlySet<string>,
): boolean => {
  const state = modules.get(object);
  return draining.has(object) || (state !== undefined && state !== 'live');
};

/**
 * The V24 load-time origin (spec §2.1.1; libbpf picks the first symbol, §5.1): the policy's
 * `origin` when it names a matched function in an available object, else the first matched
 * function in an available object. `undefined` when nothing is available.
 */
export const chooseOrigin = (
  matches: readonly TargetVerdictLike[],
  requested: string | undefined,
  modules: ModuleStates,
  draining: ReadonlySet<string>,
): string | undefined => {
  const usable = matches.filter((m) => !unavailable(m.object, modules, draining));
  if (requested !== undefined) {
    const colon = requested.indexOf(':');
    const object = colon < 0 ? undefined : requested.slice(0, colon);
    const name = colon < 0 ? requested : requested.slice(colon + 1);
    const hit = usable.find(
      (m) => m.name === name && (object === undefined || m.object === object),
    );
    if (hit) return `${hit.object}:${hit.name}`;
  }
  const first = usable[0];
  return first ? `${first.object}:${first.name}` : undefined;
};

export interface RejectedTarget {
  readonly object: string;
  readonly function: string;
  readonly btfId: number;
  readonly errno: Errno;
  readonly reason: string;
}

export interface ClassifiedTargets {
  readonly attachable: readonly LinkTarget[];
  /** in a module that is not loaded (or is being drained): attached when it loads */
  readonly pending: readonly { readonly object: string; readonly function: string }[];
  readonly rejected: readonly RejectedTarget[];
}

/** u64 cookie of a pattern (number or decimal string); 0 when the pattern has none. */
export const cookieOf = (cookie: number | string | undefined): bigint =>
  cookie === undefined ? 0n : BigInt(cookie);

/**
 * Splits a resolution into what attaches now, what waits for its module and what the kernel
 * refuses (with errno and reason). A target of an unavailable module is pending whatever the
 * verdict says: the verdict about an unloaded module is only "not there yet".
 */
export const classifyTargets = (
  spec: AgentPolicySpec,
  verdicts: readonly TargetVerdictLike[],
  modules: ModuleStates,
  draining: ReadonlySet<string> = new Set(),
): ClassifiedTargets => {
  const cookies = new Map(spec.targets.map((t) => [t.pattern, cookieOf(t.cookie)]));
  const attachable: LinkTarget[] = [];
  const pending: { object: string; function: string }[] = [];
  const rejected: RejectedTarget[] = [];
  for (const v of verdicts) {
    if (unavailable(v.object, modules, draining))
      pending.push({ object: v.object, function: v.name });
    else if (v.ok)
      attachable.push({
        object: v.object,
        function: v.name,
        btfId: v.btfId,
        cookie: cookies.get(v.pattern) ?? 0n,
      });
    else
      rejected.push({
        object: v.object,
        function: v.name,
        btfId: v.btfId,
        errno: v.errno ?? 'EINVAL',
        reason: v.reason ?? 'refused',
      });
  }
  return { attachable, pending, rejected };
};

const parseRef = (text: string): { object: string; name: string } => {
  const colon = text.indexOf(':');
  return colon < 0
    ? { object: 'vmlinux', name: text }
    : { object: text.slice(0, colon), name: text.slice(colon + 1) };
};

/**
 * The program loads and links a policy version needs for its attachable targets:
 * - tracing-multi on V24: one program loaded against the origin, one multi link (spec §2.1, §3.2);
 * - tracing-multi on V26: one program per BTF object, ids interpreted in it (spec §2.2, §3.11);
 * - per function: one program and one single link per target (spec §3.12).
 * No target, no group.
 */
export const groupLinks = (input: {
  readonly policy: AssignedPolicy;
  readonly path: LinkPath;
  readonly profile: KernelProfile;
  readonly attachable: readonly LinkTarget[];
  /** V24 multi: `object:function` chosen by `chooseOrigin` */
  readonly origin?: string;
}): readonly LinkGroup[] => {
  const { policy, path, profile, attachable } = input;
  if (attachable.length === 0) return [];
  const spec = policy.spec;
  const attach = kernelAttachName(spec, path);
  const base = {
    policy: policy.name,
    policyVersion: policy.version,
    program: spec.program.name,
    attach,
    attachType: attachTypeOf(attach),
  };
  const reads = spec.program.reads ?? [];
  const returns =
    spec.program.returns === undefined ? {} : { returns: BigInt(spec.program.returns) };
  if (path === 'fentry-per-function')
    return attachable.map((t) => ({
      ...base,
      key: `${t.object}:${t.function}`,
      load: {
        origin: { object: t.object, btfId: t.btfId, function: t.function },
        reads,
        ...returns,
      },
      targets: [t],
    }));
  if (profile === 'v26') {
    const byObject = new Map<string, LinkTarget[]>();
    for (const t of attachable) {
      const list = byObject.get(t.object);
      if (list) list.push(t);
      else byObject.set(t.object, [t]);
    }
    return [...byObject].map(([object, targets]) => ({
      ...base,
      key: object,
      load: { ...(object === 'vmlinux' ? {} : { object }), reads, ...returns },
      targets,
    }));
  }
  const wanted = input.origin === undefined ? undefined : parseRef(input.origin);
  const origin =
    attachable.find((t) => wanted && t.object === wanted.object && t.function === wanted.name) ??
    attachable[0]!;
  return [
    {
      ...base,
      key: 'all',
      load: {
        origin: { object: origin.object, btfId: origin.btfId, function: origin.function },
        reads,
        ...returns,
      },
      targets: attachable,
    },
  ];
};
