/**
 * The links an assignment asks this node to hold, from the plan of each assigned policy version
 * (docs/fleet-protocol.md, "The plan is a fact"): the plan's `attach` targets, grouped into
 * program loads and links by the plan's path; its `pending`, `rejected` and `trampoline-full`
 * targets are reported, not attached. Which function is which is the plan's (the domain's
 * `planNode`) to say: nothing here matches a pattern or asks the kernel for a verdict. Pure.
 */
import type { RecordedPlan } from '@tramway/shared/domain';
import type { AttachType, Errno, KernelProfile } from '@tramway/shared/lib';
import { attachTypeOf as uapiAttachType, formatAttachName } from '@tramway/shared/lib';
import type {
  AgentAssignment,
  AgentPolicySpec,
  AssignedPolicy,
  LinkGroup,
  LinkPath,
  LinkTarget,
} from './agent-policy.js';

/** The kernel model's attach name (as in SEC()): `fentry.multi.s`, `fexit`, ... */
export const kernelAttachName = (spec: AgentPolicySpec, path: LinkPath): string =>
  formatAttachName({
    kind: spec.program.attach,
    multi: path === 'tracing-multi',
    sleepable: spec.program.sleepable === true,
  });

/**
 * The uapi attach type of a kernel attach name (the sleepable `.s` suffix does not change it);
 * BPF_TRACE_FENTRY for a name that has none.
 */
export const attachTypeOf = (attach: string): AttachType =>
  uapiAttachType(attach) ?? 'BPF_TRACE_FENTRY';

export interface RejectedTarget {
  readonly object: string;
  readonly function: string;
  readonly btfId: number;
  readonly errno: Errno;
  readonly reason: string;
}

/** What one policy looks like on this node: its plan, as the reconciler acts on it. */
export interface PolicyStatus {
  readonly policy: string;
  readonly policyVersion: number;
  readonly program: string;
  readonly attachType: AttachType;
  /** in a module that is not loaded, or is being drained: attached when it loads */
  readonly pending: readonly { readonly object: string; readonly function: string }[];
  /** refused by the kernel at plan time (`rejected`, `trampoline-full`) */
  readonly rejected: readonly RejectedTarget[];
  /** patterns that matched nothing on this node, with why */
  readonly unmatched: readonly { readonly pattern: string; readonly reason: string }[];
  readonly path: LinkPath | 'none';
  /** the targets to attach now, in plan order */
  readonly attachable: readonly LinkTarget[];
}

const linkPathOf = (plan: RecordedPlan | undefined): LinkPath | 'none' =>
  plan?.path === 'tracing-multi' || plan?.path === 'fentry-per-function' ? plan.path : 'none';

/**
 * A policy's plan split into what attaches now, what waits for its module and what the kernel
 * refuses. A target of `drainModule` (about to unload) waits like a target of an unloaded one.
 * No plan (none sent and none could be made): nothing to attach.
 */
export const policyStatusOf = (
  policy: AssignedPolicy,
  plan: RecordedPlan | undefined,
  drainModule?: string,
): PolicyStatus => {
  const spec = policy.spec;
  const path = linkPathOf(plan);
  const attachable: LinkTarget[] = [];
  const pending: { object: string; function: string }[] = [];
  const rejected: RejectedTarget[] = [];
  for (const t of plan?.targets ?? []) {
    const object = t.module ?? 'vmlinux';
    const draining = drainModule !== undefined && t.module === drainModule;
    if (t.status === 'pending' || (t.status === 'attach' && draining))
      pending.push({ object, function: t.function });
    else if (t.status === 'attach')
      attachable.push({
        object,
        function: t.function,
        btfId: t.btfId ?? 0,
        cookie: BigInt(t.cookie),
      });
    else
      rejected.push({
        object,
        function: t.function,
        btfId: t.btfId ?? 0,
        errno: (t.errno ?? (t.status === 'trampoline-full' ? 'E2BIG' : 'EINVAL')) as Errno,
        reason: t.reason ?? t.status,
      });
  }
  return {
    policy: policy.name,
    policyVersion: policy.version,
    program: spec.program.name,
    attachType: attachTypeOf(path === 'none' ? spec.program.attach : kernelAttachName(spec, path)),
    path,
    attachable: path === 'none' ? [] : attachable,
    pending,
    rejected,
    unmatched: plan?.unmatched ?? [],
  };
};

/** The V24 origin a policy names (`name` or `object:name`) among the targets, else the first. */
const originOf = (attachable: readonly LinkTarget[], requested: string | undefined): LinkTarget => {
  if (requested !== undefined) {
    const colon = requested.indexOf(':');
    const object = colon < 0 ? undefined : requested.slice(0, colon);
    const name = colon < 0 ? requested : requested.slice(colon + 1);
    const hit = attachable.find(
      (t) => t.function === name && (object === undefined || t.object === object),
    );
    if (hit !== undefined) return hit;
  }
  return attachable[0]!;
};

/**
 * The program loads and links a policy version needs for its attachable targets:
 * - tracing-multi on V24: one program loaded against the origin (the policy's `origin` when it
 *   is among the targets, else the first: the plan's own origin, `planNode`), one multi link
 *   (spec §2.1, §3.2);
 * - tracing-multi on V26: one program per BTF object, ids interpreted in it (spec §2.2, §3.11);
 * - per function: one program and one single link per target (spec §3.12).
 * No target, no group.
 */
export const groupLinks = (input: {
  readonly policy: AssignedPolicy;
  readonly path: LinkPath;
  readonly profile: KernelProfile;
  readonly attachable: readonly LinkTarget[];
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
  const origin = originOf(attachable, spec.program.origin);
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

/** The links the assignment asks for, from each policy's plan, and each policy's status. */
export const desiredLinks = (input: {
  readonly assignment: AgentAssignment;
  /** the plan of each assigned policy, by policy name */
  readonly plans: ReadonlyMap<string, RecordedPlan>;
  readonly profile: KernelProfile;
  readonly drainModule?: string | undefined;
}): { readonly groups: readonly LinkGroup[]; readonly policies: readonly PolicyStatus[] } => {
  const groups: LinkGroup[] = [];
  const policies: PolicyStatus[] = [];
  for (const policy of input.assignment.policies) {
    const status = policyStatusOf(policy, input.plans.get(policy.name), input.drainModule);
    policies.push(status);
    if (status.path !== 'none')
      groups.push(
        ...groupLinks({
          policy,
          path: status.path,
          profile: input.profile,
          attachable: status.attachable,
        }),
      );
  }
  return { groups, policies };
};
