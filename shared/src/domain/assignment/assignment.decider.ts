/**
 * What one node is told to run, as the decider that owns the stream `assignment-<nodeId>`: the
 * plan the node made for each policy version (PlanRecorded, when the policy is applied) and each
 * generation of its assignment (AssignmentIssued, strictly increasing). The assignment the node is
 * sent (`assignmentMessage`) is this state: every policy version with its spec and exactly the
 * plan recorded for it.
 */
import type { Decider, Decision } from '../decider.js';
import { accept, nothing } from '../decider.js';
import { MULTI_ATTACH_TYPES, SINGLE_ATTACH_TYPES } from '../../lib/kernel-vocabulary.js';
import type {
  AssignmentIssued,
  DesiredLink,
  FleetRecordedEvent,
  PlanRecorded,
} from '../fleet.events.js';
import type { RecordedPlan } from '../plan/node-plan.types.js';
import type { Assignment, AssignmentCause, PolicySpec } from '../policy/policy.types.js';

export type AssignmentEvent = PlanRecorded | AssignmentIssued;

export interface AssignmentState {
  readonly nodeId: string;
  /** 0: never assigned */
  readonly generation: number;
  readonly links: readonly DesiredLink[];
  /**
   * the plan recorded for each `policy@version` still of use: the versions the node holds and
   * held before its latest generation, and the newest recorded of each policy (`keptPlans`)
   */
  readonly plans: Readonly<Record<string, RecordedPlan>>;
  /** who and what the latest generation was issued for */
  readonly cause: AssignmentCause | undefined;
}

export type RecordPlan = Readonly<{
  type: 'RecordPlan';
  data: Readonly<{
    nodeId: string;
    policy: string;
    policyVersion: number;
    rolloutId?: string;
    plan: RecordedPlan;
  }>;
}>;

/** Give the node `version` of the policy (null: take the policy away from it). */
export type AssignPolicy = Readonly<{
  type: 'AssignPolicy';
  data: Readonly<{
    nodeId: string;
    policy: string;
    version: number | null;
    /** the spec of `version` (null when removing) */
    spec: PolicySpec | null;
    /** the rollout this is part of (also the events' correlation id) */
    rolloutId?: string;
    /** the person or decision this generation is on behalf of */
    initiatedBy: string;
  }>;
}>;

/** The same links as a new generation, so the node reconciles again (drift repair). */
export type ReissueAssignment = Readonly<{
  type: 'ReissueAssignment';
  data: Readonly<{ nodeId: string; reason: string; initiatedBy: string }>;
}>;

export type AssignmentCommand = RecordPlan | AssignPolicy | ReissueAssignment;

export const initialAssignmentState = (): AssignmentState => ({
  nodeId: '',
  generation: 0,
  links: [],
  plans: {},
  cause: undefined,
});

const planKey = (policy: string, version: number): string => `${policy}@${version}`;

/** The plan recorded for a policy version on this node, if any. */
export const recordedPlanOf = (
  state: AssignmentState,
  policy: string,
  version: number,
): RecordedPlan | undefined => {
  const key = planKey(policy, version);
  return Object.hasOwn(state.plans, key) ? state.plans[key] : undefined;
};

/**
 * The link a node is asked to hold for one policy version: the functions its plan found
 * (attachable or pending), or the patterns when no plan was recorded.
 */
export const desiredLinkOf = (
  name: string,
  version: number,
  spec: PolicySpec,
  plan: RecordedPlan | undefined,
): DesiredLink => {
  const path =
    plan?.path ?? (spec.strategy === 'per-function' ? 'fentry-per-function' : 'tracing-multi');
  const attachType =
    path === 'kprobe-multi'
      ? 'BPF_TRACE_KPROBE_MULTI'
      : path === 'fentry-per-function'
        ? SINGLE_ATTACH_TYPES[spec.program.attach]
        : MULTI_ATTACH_TYPES[spec.program.attach];
  const planned = (plan?.targets ?? [])
    .filter((t) => t.status === 'attach' || t.status === 'pending')
    .map((t) => (t.module ? `${t.module}:${t.function}` : t.function));
  return {
    policy: name,
    policyVersion: version,
    program: spec.program.name,
    attachType,
    functions: planned.length > 0 ? planned : spec.targets.map((t) => t.pattern),
  };
};

/** A node's links with one policy set to `link` (added or replaced), in policy-name order. */
export const withPolicy = (links: readonly DesiredLink[], link: DesiredLink): DesiredLink[] =>
  [...links.filter((l) => l.policy !== link.policy), link].sort((a, b) =>
    a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0,
  );

const issued = (
  state: AssignmentState,
  nodeId: string,
  links: readonly DesiredLink[],
  reason: string,
  initiatedBy: string,
): Decision<AssignmentEvent> => {
  const generation = state.generation + 1;
  return accept([
    {
      id: `assignment:${nodeId}:g${generation}`,
      event: {
        type: 'AssignmentIssued',
        data: { nodeId, generation, links, reason, initiatedBy },
      },
    },
  ]);
};

const onRecordPlan = (command: RecordPlan, state: AssignmentState): Decision<AssignmentEvent> => {
  const { nodeId, policy, policyVersion } = command.data;
  if (recordedPlanOf(state, policy, policyVersion) !== undefined) return nothing();
  return accept([
    {
      id: `plan:${nodeId}:${policy}:v${policyVersion}`,
      event: { type: 'PlanRecorded', data: command.data },
    },
  ]);
};

const onAssign = (command: AssignPolicy, state: AssignmentState): Decision<AssignmentEvent> => {
  const { nodeId, policy, version, spec, rolloutId, initiatedBy } = command.data;
  const held = state.links.find((l) => l.policy === policy)?.policyVersion;
  const during = rolloutId === undefined ? '' : `rollout ${rolloutId}: `;
  if (version === null || spec === null) {
    if (held === undefined) return nothing();
    return issued(
      state,
      nodeId,
      state.links.filter((l) => l.policy !== policy),
      `${during}policy ${policy} removed (v${held} rolled back, no previous version)`,
      initiatedBy,
    );
  }
  if (held === version) return nothing();
  const link = desiredLinkOf(policy, version, spec, recordedPlanOf(state, policy, version));
  return issued(
    state,
    nodeId,
    withPolicy(state.links, link),
    held === undefined
      ? `${during}policy ${policy} v${version}`
      : `${during}policy ${policy} v${held} -> v${version}`,
    initiatedBy,
  );
};

export const decideAssignment = (
  command: AssignmentCommand,
  state: AssignmentState,
): Decision<AssignmentEvent> => {
  switch (command.type) {
    case 'RecordPlan':
      return onRecordPlan(command, state);
    case 'AssignPolicy':
      return onAssign(command, state);
    case 'ReissueAssignment':
      if (state.generation === 0) return nothing();
      return issued(
        state,
        command.data.nodeId,
        state.links,
        command.data.reason,
        command.data.initiatedBy,
      );
  }
};

/**
 * The plans worth keeping (memory stays bounded however many versions a policy had): those of
 * the versions in `links` and `before` (the links the node held until now: a rollback goes back
 * to them), and the newest recorded version of each policy (a rollout on its way to the node).
 * An older version's plan is in the log, never needed again by an assignment.
 */
const keptPlans = (
  plans: Readonly<Record<string, RecordedPlan>>,
  links: readonly DesiredLink[],
  before: readonly DesiredLink[],
): Record<string, RecordedPlan> => {
  const keep = new Set([...links, ...before].map((l) => planKey(l.policy, l.policyVersion)));
  const newest = new Map<string, number>();
  for (const key of Object.keys(plans)) {
    const at = key.lastIndexOf('@');
    const policy = key.slice(0, at);
    newest.set(policy, Math.max(newest.get(policy) ?? 0, Number(key.slice(at + 1))));
  }
  for (const [policy, version] of newest) keep.add(planKey(policy, version));
  const out: Record<string, RecordedPlan> = {};
  for (const key of Object.keys(plans))
    if (keep.has(key))
      Object.defineProperty(out, key, {
        value: plans[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
  return out;
};

export const evolveAssignment = (
  state: AssignmentState,
  event: FleetRecordedEvent,
): AssignmentState => {
  switch (event.type) {
    case 'PlanRecorded':
      return {
        ...state,
        nodeId: event.data.nodeId,
        plans: keptPlans(
          {
            ...state.plans,
            [planKey(event.data.policy, event.data.policyVersion)]: event.data.plan,
          },
          state.links,
          [],
        ),
      };
    case 'AssignmentIssued': {
      const correlationId = event.metadata.correlationId;
      return {
        ...state,
        nodeId: event.data.nodeId,
        generation: event.data.generation,
        links: event.data.links,
        plans: keptPlans(state.plans, event.data.links, state.links),
        cause: {
          initiatedBy: event.data.initiatedBy ?? event.metadata.actor,
          ...(correlationId === undefined ? {} : { correlationId }),
          eventId: event.id,
        },
      };
    }
    default:
      return state;
  }
};

/**
 * The assignment the node is sent: every policy version of its links with its spec and the plan
 * recorded for it. A link whose spec is not known (a policy version not in the log) is left out.
 */
export const assignmentMessage = (
  state: AssignmentState,
  specOf: (policy: string, version: number) => PolicySpec | undefined,
): Assignment | null => {
  if (state.generation === 0) return null;
  return {
    nodeId: state.nodeId,
    generation: state.generation,
    policies: state.links.flatMap((l) => {
      const spec = specOf(l.policy, l.policyVersion);
      if (!spec) return [];
      const plan = recordedPlanOf(state, l.policy, l.policyVersion);
      return [{ name: l.policy, version: l.policyVersion, spec, ...(plan ? { plan } : {}) }];
    }),
    ...(state.cause ? { cause: state.cause } : {}),
  };
};

export const assignmentDecider: Decider<AssignmentState, AssignmentCommand, AssignmentEvent> = {
  initialState: initialAssignmentState,
  decide: decideAssignment,
  evolve: evolveAssignment,
};
