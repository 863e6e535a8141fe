/**
 * The shell around the pure reconciliation decision: asks the kernel (driver) what the policies
 * resolve to, lets `desired-links` and `planReconcile` decide, runs the kernel operations, and
 * returns the facts to report. Every step's outcome is data; only bugs throw.
 */
import type { AttachType } from '@tramway/shared/domain';
import type { Errno } from '@tramway/shared/kernel';
import type { KernelDriver } from '../kernel-driver/index.js';
import type { IdentifiedFact, FactScope } from '../facts/node-facts.js';
import {
  linkCreated,
  linkCreateFailed,
  linkReleased,
  programLoaded,
  programUnloaded,
} from '../facts/node-facts.js';
import type { AgentAssignment, HeldLink, LinkGroup, LinkPath, LinkTarget } from './agent-policy.js';
import type { ModuleStates, NodeKernel, RejectedTarget } from './desired-links.js';
import {
  attachTypeOf,
  chooseOrigin,
  choosePath,
  classifyTargets,
  groupLinks,
  kernelAttachName,
} from './desired-links.js';
import type { ReconcileStep } from './reconcile.plan.js';
import { groupId, planReconcile } from './reconcile.plan.js';

/** What one policy looks like on this node after a pass. */
export interface PolicyStatus {
  readonly policy: string;
  readonly policyVersion: number;
  readonly program: string;
  readonly attachType: AttachType;
  readonly pending: readonly { readonly object: string; readonly function: string }[];
  readonly rejected: readonly RejectedTarget[];
  /** patterns that matched nothing on this node, with why */
  readonly unmatched: readonly { readonly pattern: string; readonly reason: string }[];
  readonly path: LinkPath | 'none';
  /** attachable targets, in pattern order */
  readonly attachable: readonly LinkTarget[];
}

export interface PassResult {
  readonly held: readonly HeldLink[];
  readonly facts: readonly IdentifiedFact[];
  readonly policies: readonly PolicyStatus[];
  readonly steps: readonly ReconcileStep[];
  /** attaches that failed, by `groupId` */
  readonly failed: readonly string[];
  /** the groups whose attach failed, with the kernel's errno and reason */
  readonly attachFailures: readonly AttachFailure[];
}

export interface AttachFailure {
  readonly group: LinkGroup;
  readonly errno: Errno;
  readonly reason: string;
}

export interface PassInput {
  readonly driver: KernelDriver;
  readonly node: NodeKernel;
  readonly scope: FactScope;
  readonly assignment: AgentAssignment;
  readonly held: readonly HeldLink[];
  /** a module about to unload: its functions are left out (drain before unload) */
  readonly drainModule?: string;
  /** called after each kernel step with the links held at that point (persist the pin mapping) */
  readonly onHeldChanged?: (held: readonly HeldLink[]) => void;
}

export const moduleStatesOf = async (driver: KernelDriver): Promise<ModuleStates> =>
  new Map((await driver.dump()).modules.map((m) => [m.name, m.state]));

/** The links the assignment asks for on this node, and the targets that wait or are refused. */
export const desiredLinks = async (
  input: Pick<PassInput, 'driver' | 'node' | 'assignment' | 'drainModule'>,
): Promise<{
  readonly groups: readonly LinkGroup[];
  readonly policies: readonly PolicyStatus[];
  readonly problems: readonly string[];
}> => {
  const { driver, node, assignment } = input;
  const modules = await moduleStatesOf(driver);
  const draining = new Set(input.drainModule === undefined ? [] : [input.drainModule]);
  const groups: LinkGroup[] = [];
  const policies: PolicyStatus[] = [];
  const problems: string[] = [];
  for (const policy of assignment.policies) {
    const spec = policy.spec;
    const patterns = spec.targets.map((t) => t.pattern);
    const reads = spec.program.reads ?? [];
    const path = choosePath(spec, node);
    if (!path.ok) {
      const matched = await driver.resolve(patterns, { attach: spec.program.attach, reads });
      policies.push({
        policy: policy.name,
        policyVersion: policy.version,
        program: spec.program.name,
        attachType: attachTypeOf(spec.program.attach),
        path: 'none',
        attachable: [],
        unmatched: matched.ok ? matched.value.unmatched : [],
        pending: [],
        rejected: matched.ok
          ? matched.value.targets.map((t) => ({
              object: t.object,
              function: t.name,
              btfId: t.btfId,
              errno: 'EOPNOTSUPP' as Errno,
              reason: path.reason,
            }))
          : [],
      });
      continue;
    }
    const attach = kernelAttachName(spec, path.path);
    let resolved = await driver.resolve(patterns, { attach, reads });
    let origin: string | undefined;
    if (resolved.ok && path.path === 'tracing-multi' && node.profile === 'v24') {
      origin = chooseOrigin(resolved.value.targets, spec.program.origin, modules, draining);
      const first = resolved.value.targets[0];
      // the first resolution already loaded against the first match: no need to do it again
      if (origin !== undefined && origin !== (first && `${first.object}:${first.name}`))
        resolved = await driver.resolve(patterns, { attach, origin, reads });
      // the origin itself cannot be loaded against: as the planner does, take the first target
      // that passes the single-target checks (planNode, shared/src/domain/plan)
      if (
        resolved.ok &&
        resolved.value.loads[0]?.ok === false &&
        spec.program.origin === undefined
      ) {
        const single = await driver.resolve(patterns, {
          attach: attach.replace('.multi', ''),
          reads,
        });
        const first = single.ok
          ? chooseOrigin(
              single.value.targets.filter((t) => t.ok),
              undefined,
              modules,
              draining,
            )
          : undefined;
        if (first !== undefined) {
          origin = first;
          resolved = await driver.resolve(patterns, { attach, origin, reads });
        }
      }
    }
    if (!resolved.ok) {
      problems.push(`policy ${policy.name} v${policy.version}: ${resolved.error}`);
      continue;
    }
    const classified = classifyTargets(spec, resolved.value.targets, modules, draining);
    groups.push(
      ...groupLinks({
        policy,
        path: path.path,
        profile: node.profile,
        attachable: classified.attachable,
        ...(origin === undefined ? {} : { origin }),
      }),
    );
    policies.push({
      policy: policy.name,
      policyVersion: policy.version,
      program: spec.program.name,
      attachType: attachTypeOf(attach),
      path: path.path,
      attachable: classified.attachable,
      unmatched: resolved.value.unmatched,
      pending: classified.pending,
      rejected: classified.rejected,
    });
  }
  return { groups, policies, problems };
};

/** The target a link_create refusal names (the kernel's failed target index), else the first. */
export const failingTargetOf = (
  group: LinkGroup,
  failed: { readonly index: number } | undefined,
): { object: string; function: string; btfId?: number } => {
  const t = (failed === undefined ? undefined : group.targets[failed.index]) ?? group.targets[0]!;
  return { object: t.object, function: t.function, btfId: t.btfId };
};

/** Runs one reconciliation pass: resolve, decide, attach (make), release (break). */
export const runPass = async (input: PassInput): Promise<PassResult> => {
  const { driver, scope, assignment } = input;
  const generation = assignment.generation;
  const facts: IdentifiedFact[] = [];
  const desired = await desiredLinks(input);
  for (const p of desired.policies)
    for (const r of p.rejected)
      facts.push(
        linkCreateFailed(scope, {
          group: { ...p, key: 'resolve' },
          programId: 0,
          errno: r.errno,
          failing: r,
          reason: `not attached: ${r.reason}`,
          generation,
        }),
      );
  const assigned = new Map(assignment.policies.map((p) => [p.name, p.version]));
  const steps = planReconcile(desired.groups, input.held, {
    assigned,
    ...(input.drainModule === undefined ? {} : { drainModule: input.drainModule }),
  });
  let held = [...input.held];
  const failed = new Set<string>();
  const attachFailures: AttachFailure[] = [];
  const changed = (): void => input.onHeldChanged?.(held);

  for (const step of steps) {
    if (step.kind !== 'attach') continue;
    const group = step.group;
    const outcome = await attachGroup(driver, group);
    if (!outcome.ok) {
      failed.add(groupId(group));
      attachFailures.push({ group, errno: outcome.errno, reason: outcome.reason });
      if (outcome.programId !== 0) facts.push(programLoaded(scope, outcome.programId, group));
      facts.push(
        linkCreateFailed(scope, {
          group,
          programId: outcome.programId,
          errno: outcome.errno,
          failing: outcome.failing,
          reason: outcome.reason,
          generation,
        }),
      );
      if (outcome.programId !== 0)
        facts.push(programUnloaded(scope, outcome.programId, group.program));
      continue;
    }
    held.push(outcome.link);
    changed();
    facts.push(programLoaded(scope, outcome.link.programId, group));
    facts.push(linkCreated(scope, outcome.link, generation));
  }

  for (const step of steps) {
    if (step.kind !== 'release') continue;
    if (step.unless.some((id) => failed.has(id))) continue;
    const link = step.link;
    const released = await releaseLink(driver, link);
    held = held.filter((h) => h.linkId !== link.linkId);
    changed();
    facts.push(linkReleased(scope, link.linkId, step.reason, generation));
    // each program has exactly one link and no loader fd: it is freed with its link
    if (released) facts.push(programUnloaded(scope, link.programId, link.program));
  }
  return {
    held,
    facts,
    policies: desired.policies,
    steps,
    failed: [...failed],
    attachFailures,
  };
};

type AttachOutcome =
  | { readonly ok: true; readonly link: HeldLink }
  | {
      readonly ok: false;
      readonly programId: number;
      readonly errno: Errno;
      readonly reason: string;
      readonly failing: { object: string; function: string; btfId?: number };
    };

/**
 * prog_load, link_create, link_pin, then the loader's program fd is closed: the pinned link
 * holds the program (spec §1.3), and an agent restart keeps both. A refused link_create frees
 * the program again.
 */
const attachGroup = async (driver: KernelDriver, group: LinkGroup): Promise<AttachOutcome> => {
  const { origin, object, reads, returns } = group.load;
  const loaded = await driver.apply({
    op: 'prog_load',
    name: group.program,
    attach: group.attach,
    ...(origin === undefined ? {} : { origin: { object: origin.object, btfId: origin.btfId } }),
    ...(object === undefined ? {} : { object }),
    reads,
    ...(returns === undefined ? {} : { returns }),
  });
  if (!loaded.ok) {
    const t = origin ?? group.targets[0]!;
    return {
      ok: false,
      programId: 0,
      errno: loaded.errno,
      reason: `program load: ${loaded.reason}`,
      failing: { object: t.object, function: t.function, btfId: t.btfId },
    };
  }
  const programId = loaded.value !== null && 'progId' in loaded.value ? loaded.value.progId : 0;
  const linked = await driver.apply({
    op: 'link_create',
    prog: programId,
    targets: group.targets.map((t) => ({ object: t.object, btfId: t.btfId })),
    cookies: group.targets.map((t) => t.cookie),
  });
  if (!linked.ok || linked.value === null || !('linkId' in linked.value)) {
    await driver.apply({ op: 'prog_release', prog: programId });
    return {
      ok: false,
      programId,
      errno: linked.ok ? 'EINVAL' : linked.errno,
      reason: linked.ok ? 'link_create returned no link' : linked.reason,
      failing: failingTargetOf(group, linked.ok ? undefined : linked.failedTarget),
    };
  }
  const { linkId, connections } = linked.value;
  await driver.apply({ op: 'link_pin', link: linkId });
  await driver.apply({ op: 'prog_release', prog: programId });
  const objects = new Map(group.targets.map((t) => [`${t.function}\0${t.btfId}`, t.object]));
  const objectOf = (fn: string, btfId: number): string =>
    objects.get(`${fn}\0${btfId}`) ?? 'vmlinux';
  return {
    ok: true,
    link: {
      linkId,
      programId,
      policy: group.policy,
      policyVersion: group.policyVersion,
      program: group.program,
      attachType: group.attachType,
      groupKey: group.key,
      targets: group.targets.map((t) => ({ ...t, cookie: t.cookie.toString() })),
      connections: connections.map((c) => {
        const module = objectOf(c.function, c.btfId);
        return {
          function: c.function,
          ...(module === 'vmlinux' ? {} : { module }),
          objId: c.objId,
          btfId: c.btfId,
          cookie: c.cookie.toString(),
        };
      }),
      fdOpen: true,
    },
  };
};

/**
 * Drops the pin, then the agent's fd if it still has one (after an agent restart only the pin
 * held the link): the link is destroyed and its connections leave their trampolines (spec §4.1).
 * True when the kernel accepted the last step (the link is gone).
 */
export const releaseLink = async (
  driver: KernelDriver,
  link: Pick<HeldLink, 'linkId' | 'fdOpen'>,
): Promise<boolean> => {
  const unpinned = await driver.apply({ op: 'link_unpin', link: link.linkId });
  if (!link.fdOpen) return unpinned.ok;
  const released = await driver.apply({ op: 'link_release', link: link.linkId });
  return released.ok;
};
