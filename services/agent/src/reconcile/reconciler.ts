/**
 * The shell around the pure reconciliation decision: takes the plan of each assigned policy
 * (`agent-plans`), lets `desired-links` and `planReconcile` decide, runs the kernel operations,
 * and returns the facts to report. Every step's outcome is data; only bugs throw.
 */
import type { Errno } from '@tramway/shared/kernel';
import type { VerifiedProgramObject } from '@tramway/shared/infra';
import type { RecordedPlan } from '@tramway/shared/domain';
import type { KernelDriver } from '../kernel-driver/index.js';
import type { IdentifiedFact, FactScope } from '../facts/node-facts.js';
import {
  linkCreated,
  linkCreateFailed,
  linkReleased,
  programLoaded,
  programUnloaded,
} from '../facts/node-facts.js';
import type { AgentAssignment, HeldLink, LinkGroup } from './agent-policy.js';
import type { PolicyStatus } from './desired-links.js';
import type { ProgramSource } from './program-objects.js';
import { fetchProgramObjects } from './program-objects.js';
import { desiredLinks } from './desired-links.js';
import type { ReconcileStep } from './reconcile.plan.js';
import { groupId, planReconcile } from './reconcile.plan.js';

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
  /** the multi-link flavour the kernel model runs (how multi links group, spec §2) */
  readonly profile: 'v24' | 'v26';
  readonly scope: FactScope;
  readonly assignment: AgentAssignment;
  /** the plan of each assigned policy, by policy name (`decidePlans`) */
  readonly plans: ReadonlyMap<string, RecordedPlan>;
  readonly held: readonly HeldLink[];
  /** a module about to unload: its functions are left out (drain before unload) */
  readonly drainModule?: string;
  /** called after each kernel step with the links held at that point (persist the pin mapping) */
  readonly onHeldChanged?: (held: readonly HeldLink[]) => void;
  /**
   * called with the groups about to be attached, before the first link_create: the caller
   * records the intents durably (a link a crash leaves behind is then explained)
   */
  readonly onIntents?: (groups: readonly LinkGroup[]) => void;
  /**
   * called after each attach of a group with the seconds its driver calls took (prog_load to
   * link_pin) and the errno when the kernel refused it (the agent's metrics)
   */
  readonly onAttached?: (group: LinkGroup, seconds: number, failure?: Errno) => void;
  /**
   * where the program objects policies name are fetched from (by digest); each is verified
   * (sha256, a BPF ELF holding the program) before any load, and a policy whose object is
   * missing or does not verify attaches nothing (LinkCreateFailed with the reason)
   */
  readonly programs?: ProgramSource;
}

/** The target a link_create refusal names (the kernel's failed target index), else the first. */
export const failingTargetOf = (
  group: LinkGroup,
  failed: { readonly index: number } | undefined,
): { object: string; function: string; btfId?: number } => {
  const t = (failed === undefined ? undefined : group.targets[failed.index]) ?? group.targets[0]!;
  return { object: t.object, function: t.function, btfId: t.btfId };
};

/** Runs one reconciliation pass: decide from the plans, attach (make), release (break). */
export const runPass = async (input: PassInput): Promise<PassResult> => {
  const { driver, scope, assignment } = input;
  const generation = assignment.generation;
  const facts: IdentifiedFact[] = [];
  const desired = desiredLinks(input);
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
  // the program objects of the policies about to attach: fetched and verified before any load
  const objects = await fetchProgramObjects(
    input.programs,
    assignment,
    steps.flatMap((s) => (s.kind === 'attach' ? [s.group] : [])),
  );
  for (const step of steps) {
    if (step.kind !== 'attach') continue;
    const refused = objects.refused.get(`${step.group.policy}@${step.group.policyVersion}`);
    if (refused === undefined) continue;
    failed.add(groupId(step.group));
    attachFailures.push({ group: step.group, errno: refused.errno, reason: refused.reason });
    facts.push(
      linkCreateFailed(scope, {
        group: step.group,
        programId: 0,
        errno: refused.errno,
        failing: failingTargetOf(step.group, undefined),
        reason: refused.reason,
        generation,
      }),
    );
  }
  const attaching = steps.flatMap((s) =>
    s.kind === 'attach' && !failed.has(groupId(s.group)) ? [s.group] : [],
  );
  if (attaching.length > 0) input.onIntents?.(attaching);

  for (const group of attaching) {
    const started = performance.now();
    const outcome = await attachGroup(
      driver,
      group,
      objects.verified.get(`${group.policy}@${group.policyVersion}`),
    );
    input.onAttached?.(
      group,
      (performance.now() - started) / 1000,
      outcome.ok ? undefined : outcome.errno,
    );
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
const attachGroup = async (
  driver: KernelDriver,
  group: LinkGroup,
  programObject: VerifiedProgramObject | undefined,
): Promise<AttachOutcome> => {
  const { origin, object, reads, returns } = group.load;
  const loaded = await driver.apply(
    {
      op: 'prog_load',
      name: group.program,
      attach: group.attach,
      ...(origin === undefined ? {} : { origin: { object: origin.object, btfId: origin.btfId } }),
      ...(object === undefined ? {} : { object }),
      reads,
      ...(returns === undefined ? {} : { returns }),
    },
    programObject === undefined ? undefined : { programObject },
  );
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
