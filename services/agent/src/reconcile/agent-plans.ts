/**
 * Which plan the agent reconciles each assigned policy version to (docs/fleet-protocol.md, "The
 * plan is a fact"): the plan the assignment carries, as long as the kernel has not changed under
 * it; the agent's own plan (the domain's `planNode`, the same planner the coordinator asked at
 * plan time) when it has: a module loaded or unloaded, a BTF object id or BTF id that no longer
 * matches, a different BTF after a reboot, or no plan in the assignment at all. Each plan made
 * here is returned with its reason, once: the next pass finds it holding. Pure.
 */
import type { KernelState, StateDump } from '@tramway/shared/kernel';
import type { PlanPath, Policy, RecordedPlan } from '@tramway/shared/domain';
import {
  DEFAULT_ROLLOUT,
  POLICY_API_VERSION,
  POLICY_KIND,
  planChanges,
  planNode,
} from '@tramway/shared/domain';
import { digest } from '../facts/node-facts.js';
import type { KernelDescription } from '../kernel-driver/index.js';
import type { AgentAssignment, AssignedPolicy } from './agent-policy.js';

/** The plan the agent holds for one assigned policy version, and what it was last found to hold on. */
export interface HeldPlan {
  readonly policy: string;
  readonly version: number;
  readonly plan: RecordedPlan;
  /** `assigned`: the plan the assignment carried; `replanned`: the agent's own */
  readonly source: 'assigned' | 'replanned';
  /** digest of the assignment's plan this one stands for ('' when the assignment carried none) */
  readonly assigned: string;
  /** the boot and the BTF fingerprint the plan was last checked on */
  readonly bootId: string;
  readonly btfFingerprint: string;
}

/** A plan the agent made on its own, and why (the `NodeReplanned` fact). */
export interface Replanned {
  readonly policy: string;
  readonly version: number;
  readonly reason: string;
  readonly plan: RecordedPlan;
}

export interface PlanInput {
  readonly nodeId: string;
  readonly assignment: AgentAssignment;
  /** the plans held after the previous pass */
  readonly held: readonly HeldPlan[];
  /** the kernel model; undefined for a driver without one (the assigned plans are used as sent) */
  readonly kernel: KernelState | undefined;
  readonly bootId: string;
  readonly btfFingerprint: string;
  /** the node's probed attach path for `planNode` (undefined: the model's profile decides) */
  readonly planPath: PlanPath | undefined;
  /** links on each function the model does not know (`occupancyOf`) */
  readonly occupied?: ReadonlyMap<string, number>;
}

/**
 * The links the kernel's `dump` shows on each trampoline that the model `state` does not hold,
 * by `<object>:<BTF id>`: none for the model drivers (their dump is their state); for the `bpf`
 * driver, every link on the node, this agent's and other tools', since its model holds none.
 */
export const occupancyOf = (
  dump: StateDump,
  state: KernelState | undefined,
): ReadonlyMap<string, number> => {
  const known = new Set(state === undefined ? [] : [...state.links.keys()]);
  const out = new Map<string, number>();
  for (const t of dump.trampolines) {
    const slots = new Set(
      [...t.fentry, ...t.fexit, ...t.fmodRet].filter((s) => !known.has(s.link)).map((s) => s.link),
    );
    if (slots.size > 0) out.set(`${t.object}:${t.btfId}`, slots.size);
  }
  return out;
};

/** The assigned policy as the domain's `Policy` (defaults of `validatePolicy` filled in). */
export const policyOf = (assigned: AssignedPolicy): Policy => {
  const { program, targets, strategy } = assigned.spec;
  return {
    apiVersion: POLICY_API_VERSION,
    kind: POLICY_KIND,
    metadata: { name: assigned.name },
    spec: {
      program: {
        name: program.name,
        attach: program.attach,
        sleepable: program.sleepable ?? false,
        reads: program.reads ?? [],
        ...(program.origin === undefined ? {} : { origin: program.origin }),
        ...(program.returns === undefined ? {} : { returns: program.returns }),
      },
      targets: targets.map((t) => ({
        pattern: t.pattern,
        ...(t.cookie === undefined ? {} : { cookie: String(t.cookie) }),
      })),
      strategy: strategy ?? 'auto',
      rollout: DEFAULT_ROLLOUT,
    },
  };
};

/**
 * The node's probed attach path as `planNode` takes it: undefined on a sim node with multi-link
 * (the model's profile decides) and on a node with no path at all.
 */
export const planPathFor = (d: KernelDescription): PlanPath | undefined =>
  (d.mode === 'sim' && d.probedProfile !== 'none') || d.attachPath === 'none'
    ? undefined
    : d.attachPath;

const shortFingerprint = (f: string): string => f.slice(0, 'sha256:'.length + 12);

/**
 * The plan of every assigned policy version, and the ones made in this pass with their reason.
 * A held plan is kept while it stands for the same assignment plan and still holds; the
 * assignment's plan is taken when it changes (a new version, a plan recorded again).
 */
export const decidePlans = (
  input: PlanInput,
): { readonly plans: readonly HeldPlan[]; readonly replanned: readonly Replanned[] } => {
  const { kernel, bootId, btfFingerprint } = input;
  const plans: HeldPlan[] = [];
  const replanned: Replanned[] = [];
  const ctx = {
    ...(input.planPath === undefined ? {} : { path: input.planPath }),
    ...(input.occupied === undefined ? {} : { occupied: input.occupied }),
  };
  for (const assigned of input.assignment.policies) {
    const sent = assigned.plan === undefined ? '' : digest(assigned.plan);
    const base: HeldPlan | undefined =
      input.held.find(
        (h) => h.policy === assigned.name && h.version === assigned.version && h.assigned === sent,
      ) ??
      (assigned.plan === undefined
        ? undefined
        : {
            policy: assigned.name,
            version: assigned.version,
            plan: assigned.plan,
            source: 'assigned',
            assigned: sent,
            bootId,
            btfFingerprint,
          });
    if (kernel === undefined) {
      if (base !== undefined) plans.push(base);
      continue;
    }
    const policy = policyOf(assigned);
    let reason: string | undefined;
    if (base === undefined) reason = 'no plan in the assignment';
    else {
      const changes = [...planChanges(kernel, policy, base.plan, ctx)];
      if (changes.length === 0 && base.btfFingerprint !== btfFingerprint)
        changes.push(
          `BTF changed (${shortFingerprint(base.btfFingerprint)} -> ${shortFingerprint(btfFingerprint)})`,
        );
      if (changes.length > 0)
        reason = `${changes.join('; ')}${base.bootId === bootId ? '' : ' after reboot'}`;
    }
    if (reason === undefined && base !== undefined) {
      plans.push({ ...base, bootId, btfFingerprint });
      continue;
    }
    const made = planNode(kernel, policy, {
      nodeId: input.nodeId,
      policyVersion: assigned.version,
      ...ctx,
    });
    const plan: RecordedPlan = {
      path: made.path,
      targets: made.targets,
      unmatched: made.unmatched,
    };
    plans.push({
      policy: assigned.name,
      version: assigned.version,
      plan,
      source: 'replanned',
      assigned: sent,
      bootId,
      btfFingerprint,
    });
    replanned.push({
      policy: assigned.name,
      version: assigned.version,
      reason: reason ?? 'no plan',
      plan,
    });
  }
  return { plans, replanned };
};
