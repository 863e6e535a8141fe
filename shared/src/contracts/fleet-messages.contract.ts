/**
 * Zod schemas of every message between agents and the coordinator (docs/fleet-protocol.md,
 * "Subjects and messages"), validated at the receiving edge with `decodeMessage`. Policies and
 * policy specs are checked by the domain's own validation (`validatePolicy`), so a message
 * accepts exactly the policies an operator's file would.
 */
import { z } from 'zod';
import type { Assignment, Policy, PolicySpec } from '../domain/policy/policy.types.js';
import { validatePolicy, validatePolicySpec } from '../domain/policy/policy.validate.js';
import type { NodePlan, RecordedPlan } from '../domain/plan/node-plan.types.js';
import {
  DECIMAL_PATTERN,
  PLANNED_TARGET_FIELDS,
  isU64,
  recordedPlanFields,
} from './fleet-events.contract.js';
import { formatPath } from './fleet-event-codec.js';

const nodeId = z
  .string()
  .regex(
    /^(?!__proto__$)[A-Za-z0-9_:@-]+$/,
    'a node id: letters, digits and _:@- only (one subject token), not __proto__',
  );
const nonNegativeInt = z.int().nonnegative();
const isoInstant = z.iso.datetime({ offset: true });
const u64String = z.string().regex(DECIMAL_PATTERN, 'a decimal u64').refine(isU64, 'above 2^64-1');
const policyName = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a policy name: [a-z0-9]([-a-z0-9]*[a-z0-9])?');

/** Runs a domain validator inside zod, reporting each of its problems at its own path. */
const viaDomain = <T>(
  validate: (
    input: unknown,
  ) => { ok: true; value: T } | { ok: false; error: readonly { path: string; message: string }[] },
) =>
  z.unknown().transform((input, ctx): T => {
    const result = validate(input);
    if (result.ok) return result.value;
    for (const problem of result.error)
      ctx.addIssue({
        code: 'custom',
        message: problem.message,
        params: { domainPath: problem.path },
      });
    return z.NEVER;
  });

export const POLICY_SCHEMA: z.ZodType<Policy, unknown> = viaDomain(validatePolicy);
export const POLICY_SPEC_SCHEMA: z.ZodType<PolicySpec, unknown> = viaDomain((input) =>
  validatePolicySpec(input, ''),
);

const eventMetadata = z.object({
  occurredAt: isoInstant,
  actor: z.string().min(1),
  correlationId: z.string().min(1).exactOptional(),
  causationId: z.string().min(1).exactOptional(),
});

/**
 * One event of a `FactBatch`: the `NewEvent` envelope. Its `data` is checked against the fleet
 * event's own versioned schema by `decodeFleetEvent` when the coordinator records it.
 */
export const NEW_EVENT_SCHEMA = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  schemaVersion: z.int().positive(),
  data: z.unknown(),
  metadata: eventMetadata,
});

/** `tramway.facts.<nodeId>` */
export const FACT_BATCH_SCHEMA = z.object({
  nodeId,
  bootId: z.string().min(1),
  events: z.array(NEW_EVENT_SCHEMA),
});

/**
 * The coordinator's reply to a `FactBatch` sent as a request: `held`, the ids of the batch the
 * log now holds (appended now or already there); `refused`, ids the log will never take as
 * sent (the id is taken by an event with other content), each with why. The agent stops
 * resending both.
 */
export const FACT_ACK_SCHEMA = z.object({
  held: z.array(z.string().min(1)),
  refused: z
    .array(z.object({ id: z.string().min(1), reason: z.string() }))
    .optional()
    .default([]),
});

/** `tramway.hb.<nodeId>` */
export const HEARTBEAT_SCHEMA = z.object({
  nodeId,
  bootId: z.string().min(1),
  observedGeneration: nonNegativeInt,
  at: isoInstant,
});

/** `tramway.agent.<nodeId>.plan` request */
export const PLAN_REQUEST_SCHEMA = z.object({
  policy: POLICY_SCHEMA,
  policyVersion: z.int().positive(),
});

const plannedTarget = z.object(PLANNED_TARGET_FIELDS);
const planFields = recordedPlanFields(
  plannedTarget,
  z.object({ pattern: z.string(), reason: z.string() }),
);

/** A node's recorded plan as the assignment carries it (`AssignedPolicy.plan`). */
export const RECORDED_PLAN_SCHEMA = z.object(planFields) satisfies z.ZodType<RecordedPlan, unknown>;

/** `tramway.agent.<nodeId>.plan` reply */
export const NODE_PLAN_SCHEMA = z.object({
  nodeId,
  policy: policyName,
  policyVersion: z.int().positive(),
  ...planFields,
  counts: z.object({
    attach: nonNegativeInt,
    pending: nonNegativeInt,
    rejected: nonNegativeInt,
    trampolineFull: nonNegativeInt,
  }),
}) satisfies z.ZodType<NodePlan, unknown>;

/** `tramway.agent.<nodeId>.assign` request, and the reply of `tramway.coord.assignment.<nodeId>` */
export const ASSIGNMENT_SCHEMA = z.object({
  nodeId,
  generation: nonNegativeInt,
  policies: z
    .array(
      z.object({
        name: policyName,
        version: z.int().positive(),
        spec: POLICY_SPEC_SCHEMA,
        plan: RECORDED_PLAN_SCHEMA.optional(),
      }),
    )
    .refine(
      (list) => new Set(list.map((p) => p.name)).size === list.length,
      'a policy may appear once per assignment',
    ),
  cause: z
    .object({
      initiatedBy: z.string().min(1),
      correlationId: z.string().min(1).optional(),
      eventId: z.string().min(1),
    })
    .optional(),
}) satisfies z.ZodType<Assignment, unknown>;

/** `tramway.agent.<nodeId>.assign` reply (`accepted: false` for a generation older than the node's) */
export const ASSIGN_REPLY_SCHEMA = z.object({
  accepted: z.boolean(),
  generation: nonNegativeInt,
  reason: z.string().exactOptional(),
});

/** `tramway.agent.<nodeId>.module` request (sim nodes) */
export const MODULE_REQUEST_SCHEMA = z.object({
  action: z.enum(['load', 'unload']),
  module: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a module name'),
});

/** `tramway.agent.<nodeId>.module` reply */
export const MODULE_REPLY_SCHEMA = z.object({
  ok: z.boolean(),
  errno: z.string().min(1).exactOptional(),
  reason: z.string().exactOptional(),
});

/** `tramway.agent.<nodeId>.state` request */
export const STATE_REQUEST_SCHEMA = z.object({});

const heldConnection = z.object({
  function: z.string().min(1),
  module: z.string().min(1).exactOptional(),
  objId: nonNegativeInt,
  btfId: nonNegativeInt,
  cookie: u64String,
});

/** `tramway.agent.<nodeId>.state` reply: what the node's kernel holds, for drift detection. */
export const NODE_ACTUAL_STATE_SCHEMA = z.looseObject({
  nodeId,
  bootId: z.string().min(1),
  observedGeneration: nonNegativeInt,
  links: z.array(
    z.object({
      linkId: nonNegativeInt,
      /** null: a link no policy of this agent owns */
      policy: policyName.nullable(),
      policyVersion: z.int().positive().nullable(),
      program: z.string().min(1),
      connections: z.array(heldConnection),
    }),
  ),
  modules: z.array(
    z.object({ name: z.string().min(1), state: z.enum(['live', 'going', 'unloaded']) }),
  ),
});

/** `tramway.coord.assignment.<nodeId>` request (agent start-up); the reply is an `Assignment` or null */
export const ASSIGNMENT_REQUEST_SCHEMA = z.object({ nodeId });
export const ASSIGNMENT_REPLY_SCHEMA = ASSIGNMENT_SCHEMA.nullable();

export type FactBatch = z.output<typeof FACT_BATCH_SCHEMA>;
export type FactAck = z.output<typeof FACT_ACK_SCHEMA>;
export type Heartbeat = z.output<typeof HEARTBEAT_SCHEMA>;
export type PlanRequest = z.output<typeof PLAN_REQUEST_SCHEMA>;
export type AssignReply = z.output<typeof ASSIGN_REPLY_SCHEMA>;
export type ModuleRequest = z.output<typeof MODULE_REQUEST_SCHEMA>;
export type ModuleReply = z.output<typeof MODULE_REPLY_SCHEMA>;
export type StateRequest = z.output<typeof STATE_REQUEST_SCHEMA>;
export type NodeActualState = z.output<typeof NODE_ACTUAL_STATE_SCHEMA>;
export type AssignmentRequest = z.output<typeof ASSIGNMENT_REQUEST_SCHEMA>;

/** Every message schema by its name in docs/fleet-protocol.md (the name errors report). */
export const FLEET_MESSAGES = {
  FactBatch: FACT_BATCH_SCHEMA,
  FactAck: FACT_ACK_SCHEMA,
  Heartbeat: HEARTBEAT_SCHEMA,
  PlanRequest: PLAN_REQUEST_SCHEMA,
  NodePlan: NODE_PLAN_SCHEMA,
  Assignment: ASSIGNMENT_SCHEMA,
  AssignReply: ASSIGN_REPLY_SCHEMA,
  ModuleRequest: MODULE_REQUEST_SCHEMA,
  ModuleReply: MODULE_REPLY_SCHEMA,
  StateRequest: STATE_REQUEST_SCHEMA,
  NodeActualState: NODE_ACTUAL_STATE_SCHEMA,
  AssignmentRequest: ASSIGNMENT_REQUEST_SCHEMA,
  AssignmentReply: ASSIGNMENT_REPLY_SCHEMA,
} as const;
export type FleetMessageName = keyof typeof FLEET_MESSAGES;
export type FleetMessage<N extends FleetMessageName> = z.output<(typeof FLEET_MESSAGES)[N]>;

/** One problem of a malformed message: the field path (`policy.spec.targets[0].pattern`) and what. */
export interface MessageProblem {
  readonly path: string;
  readonly problem: string;
}

/**
 * A message that does not match its schema. Not retryable: the same bytes fail the same way.
 * The message names the message type and every problem with its path.
 */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
  /** AppError shape (contracts may not import infra): `isAppError(e, 'InvalidMessage')` holds */
  readonly code = 'InvalidMessage';
  readonly retryable = false;
  readonly messageName: string;
  readonly problems: readonly MessageProblem[];

  constructor(messageName: string, problems: readonly MessageProblem[]) {
    super(`invalid ${messageName}: ${problems.map((p) => `${p.path}: ${p.problem}`).join('; ')}`);
    this.messageName = messageName;
    this.problems = problems;
  }
}

const problemsOf = (error: z.ZodError): readonly MessageProblem[] =>
  error.issues.flatMap((issue): MessageProblem[] => {
    const base = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        problem: 'unknown field',
      }));
    const domainPath: unknown = issue.code === 'custom' ? issue.params?.domainPath : undefined;
    if (typeof domainPath === 'string') {
      // a domain problem: its own path is relative to the validated value
      const inner = domainPath === '(policy)' ? '' : domainPath;
      const path = base === '' ? inner : inner === '' ? base : `${base}.${inner}`;
      return [{ path: path === '' ? '(message)' : path, problem: issue.message }];
    }
    return [{ path: base === '' ? '(message)' : base, problem: issue.message }];
  });

/**
 * Validates a received payload against a fleet message schema: resolves to the typed message,
 * or an `InvalidMessageError` naming the message and every problem's field path. Pass the
 * schema's name (`'Heartbeat'`) or the schema itself with a name.
 */
export const decodeMessage = <N extends FleetMessageName>(
  name: N,
  payload: unknown,
): { ok: true; value: FleetMessage<N> } | { ok: false; error: InvalidMessageError } => {
  const parsed = (FLEET_MESSAGES[name] as z.ZodType<unknown, unknown>).safeParse(payload);
  return parsed.success
    ? { ok: true, value: parsed.data as FleetMessage<N> }
    : { ok: false, error: new InvalidMessageError(name, problemsOf(parsed.error)) };
};

/** `decodeMessage`, throwing the `InvalidMessageError` (for handlers that reply with errors). */
export const decodeMessageOrThrow = <N extends FleetMessageName>(
  name: N,
  payload: unknown,
): FleetMessage<N> => {
  const decoded = decodeMessage(name, payload);
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};
