/**
 * The zod schemas of the coordinator's HTTP API (docs/fleet-protocol.md, "Coordinator HTTP API"):
 * what a request's query and body must be (the router validates them with these, http-api.ts),
 * and what the answers are. The OpenAPI document is generated from them (openapi.ts), so the
 * document and the server cannot disagree. Schemas registered in `API_SCHEMAS` become named
 * components (`#/components/schemas/<id>`).
 */
import { z } from 'zod';
import { ACCESS_ROLES, PROGRAM_OBJECT_DIGEST } from '@tramway/shared/domain';
import { BPF_SECTION_ATTACH } from '@tramway/shared/btf';
import {
  MODULE_REPLY_SCHEMA,
  NODE_PLAN_SCHEMA,
  TRACING_POLICY_SCHEMA,
} from '@tramway/shared/contracts';
import { ApiErrorCode, PROBLEM_TYPE_BASE } from './api-result.js';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, isIssuedCursor } from './pagination.js';

/** The named schemas of the document (`components.schemas`). */
export const API_SCHEMAS = z.registry<{ id: string; description?: string }>();

const named = <T extends z.ZodType>(id: string, schema: T, description?: string): T => {
  API_SCHEMAS.add(schema, description === undefined ? { id } : { id, description });
  return schema;
};

// ---- errors ----

export const PROBLEM_SCHEMA = named(
  'Problem',
  z.object({
    type: z.url().meta({ description: `${PROBLEM_TYPE_BASE}<code in kebab case>` }),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string().meta({ description: 'what went wrong, for a person' }),
    instance: z.string().optional().meta({ description: 'the request path' }),
    code: z.enum(Object.values(ApiErrorCode)),
    errors: z
      .array(z.string())
      .optional()
      .meta({ description: 'every problem found, `path: message`' }),
    details: z
      .unknown()
      .optional()
      .meta({ description: 'other facts of the error (e.g. allowed, needed, role)' }),
  }),
  'RFC 9457 problem details (application/problem+json)',
);

// ---- requests ----

const PAGE_LIMIT_PROBLEM = `an integer from 1 to ${MAX_PAGE_LIMIT}`;
const CURSOR_PROBLEM = 'not a cursor this API issued (use nextCursor of the page before)';

/**
 * `?limit=&cursor=` of every list. Query values arrive as text: the router turns a value of an
 * integer parameter written in decimal digits into a number before validating (http-api.ts).
 */
export const PAGE_QUERY = z.object({
  limit: z
    .int({ error: PAGE_LIMIT_PROBLEM })
    .min(1, { error: PAGE_LIMIT_PROBLEM })
    .max(MAX_PAGE_LIMIT, { error: PAGE_LIMIT_PROBLEM })
    .default(DEFAULT_PAGE_LIMIT)
    .meta({ description: 'items per page' }),
  cursor: z
    .string({ error: CURSOR_PROBLEM })
    .regex(/^[A-Za-z0-9_-]{1,1400}$/, { error: CURSOR_PROBLEM, abort: true })
    .refine(isIssuedCursor, { error: CURSOR_PROBLEM })
    .optional()
    .meta({ description: 'the nextCursor of the page before (opaque)' }),
});

/** `{ policy }`: a TracingPolicy as YAML text or as an object (plan, apply). */
export const POLICY_BODY = z.object({
  policy: z.union([
    z.string().meta({ description: 'the policy as YAML (or JSON) text' }),
    named('TracingPolicy', TRACING_POLICY_SCHEMA),
  ]),
});

/** A person's words for the log; not blank, bounded. */
const reason = z
  .string()
  .min(1)
  .max(500)
  .refine((s) => s.trim() !== '', { error: 'must not be blank' })
  .meta({ description: "a person's words for the log (1-500 characters, not blank)" });

/** `{ reason? }`: the optional body of rollback, approve, reset and revoke. */
export const REASON_BODY = named('ReasonBody', z.strictObject({ reason: reason.optional() }));

export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export const TOKEN_REQUEST = z.strictObject({
  name: z.string().regex(TOKEN_NAME, {
    error: '1-64 letters, digits and ._@- (starting with a letter or digit)',
  }),
  role: z.enum(ACCESS_ROLES, { error: `one of ${ACCESS_ROLES.join(', ')}` }),
});

// ---- answers ----

/** A page of a list: `items` in key order, `nextCursor` null on the last page. */
export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

const isoInstant = z.iso.datetime({ offset: true });

const ROLLOUT_STATE = z.enum(['running', 'held', 'completed', 'rolled-back']);
const ROLLOUT_KIND = z.enum(['apply', 'rollback', 'release']).meta({
  description: 'apply and rollback give the nodes `version`; release takes the policy away',
});

export const POLICY_SUMMARY = named(
  'PolicySummary',
  z.object({
    name: z.string(),
    version: z.int(),
    state: z.enum(['active', 'deleting']).meta({
      description: 'deleting: deleted, and some node has not released it yet',
    }),
    appliedAt: isoInstant,
    appliedBy: z.string(),
    rollout: z
      .object({ id: z.string(), kind: ROLLOUT_KIND, version: z.int(), state: ROLLOUT_STATE })
      .nullable()
      .meta({ description: "the policy's latest rollout" }),
  }),
);

export const POLICY_DETAIL = POLICY_SUMMARY.extend({
  latestVersion: z.int().meta({ description: 'the highest version ever recorded' }),
  deleting: z
    .object({ at: isoInstant, by: z.string(), rolloutId: z.string().nullable() })
    .optional(),
  history: z
    .array(
      z.object({
        change: z.enum(['applied', 'removed', 'deleted']),
        version: z.int(),
        at: isoInstant,
        by: z.string(),
        reason: z.string().optional(),
      }),
    )
    .meta({ description: 'the latest changes, newest first (at most 20)' }),
  spec: TRACING_POLICY_SCHEMA.shape.spec.meta({
    description: 'the spec in force, defaults filled in',
  }),
});

const FUNCTION_LIST = named(
  'FunctionList',
  z.object({
    count: z.int(),
    names: z.array(z.string()).meta({ description: 'the first 50, sorted' }),
  }),
);

export const PLAN_RESULT = named(
  'PlanResult',
  z.object({
    policy: z.string(),
    version: z.int().meta({
      description: 'the version apply would record (the one in force when unchanged)',
    }),
    unchanged: z.boolean().meta({ description: 'the spec is the one in force' }),
    current: z
      .object({ version: z.int() })
      .nullable()
      .meta({ description: 'the version in force (null: a new policy)' }),
    diff: z
      .array(
        z.object({
          nodeId: z.string(),
          selected: z.boolean(),
          added: FUNCTION_LIST,
          removed: FUNCTION_LIST,
          unchanged: FUNCTION_LIST,
        }),
      )
      .meta({
        description:
          'per node, the functions the plan would attach against those the node holds now for the policy',
      }),
    nodes: z.array(named('NodePlan', NODE_PLAN_SCHEMA)),
    unreachable: z.array(z.object({ nodeId: z.string(), reason: z.string() })).optional(),
    refused: z.object({ reasons: z.array(z.string()) }).optional(),
  }),
);

export const APPLY_RESULT = named(
  'Applied',
  z.object({
    policy: z.string(),
    version: z.int(),
    rolloutId: z.string(),
    unchanged: z.boolean().meta({
      description: 'the spec was the one in force: nothing recorded, nothing rolled out',
    }),
  }),
);

export const ROLLOUT_REF = named('RolloutRef', z.object({ rolloutId: z.string() }));

export const ROLLBACK_RESULT = named(
  'RolledBack',
  z.object({
    rolloutId: z.string().meta({ description: 'the rollback rollout' }),
    rolledBack: z.string().meta({ description: 'the rollout rolled back' }),
    fromVersion: z.int(),
    toVersion: z.int().nullable().meta({ description: 'null: the policy is removed' }),
  }),
);

export const DELETED = named(
  'PolicyDeleted',
  z.object({
    policy: z.string(),
    version: z.int().meta({ description: 'the version deleted' }),
    state: z.literal('deleting'),
    rolloutId: z.string().meta({ description: 'the release rollout' }),
    nodes: z.array(z.string()).meta({ description: 'the nodes releasing it' }),
  }),
);

export const POLICY_STATUS = named(
  'PolicyStatus',
  z.object({
    policy: z.string(),
    version: z.int().nullable().meta({ description: 'null: no version in force' }),
    state: z.enum(['active', 'deleting', 'deleted', 'removed']),
    now: isoInstant.optional().meta({ description: "the coordinator's clock when it answered" }),
    rollout: z
      .object({
        id: z.string(),
        state: ROLLOUT_STATE,
        kind: ROLLOUT_KIND,
        version: z.int(),
        fromVersion: z.int().nullable(),
        rollsBack: z.string().optional().meta({ description: 'the rollout a rollback undoes' }),
        startedAt: isoInstant,
        startedBy: z.string(),
        waveCount: z.int().optional(),
        currentWave: z.int().nullable().optional(),
        paused: z.boolean().optional(),
        pause: z
          .object({
            afterWave: z.int(),
            nextWave: z.int(),
            seconds: z.number(),
            endsAt: isoInstant,
          })
          .nullable()
          .optional()
          .meta({ description: 'the pause between two waves: the next one starts at endsAt' }),
        nextWaveAt: isoInstant.nullable().optional(),
        reason: z
          .string()
          .nullable()
          .optional()
          .meta({ description: 'the hold or rollback reason' }),
        waves: z.array(
          z.object({
            index: z.int(),
            nodes: z.array(z.string()),
            state: z.enum(['pending', 'running', 'held', 'completed']),
            succeeded: z.int(),
            failed: z.int(),
            reason: z.string().optional(),
            completedAt: z.string().optional(),
          }),
        ),
      })
      .nullable(),
    nodes: z.array(
      z.object({
        nodeId: z.string(),
        wave: z.int().nullable().optional(),
        generation: z.int(),
        observedGeneration: z.int(),
        state: z.enum(['converged', 'pending', 'failed', 'stale']),
        functions: z.object({ attached: z.int(), pending: z.int(), rejected: z.int() }),
      }),
    ),
  }),
);

export const NODE = named(
  'Node',
  z.object({
    nodeId: z.string(),
    admission: z.enum(['pending', 'approved']),
    labels: z.record(z.string(), z.string()),
    profile: z.string().optional(),
    attachPath: z.string().nullable().optional(),
    bootId: z.string().optional(),
    lastSeen: isoInstant.nullable(),
    stale: z.boolean(),
    generation: z.int(),
    observedGeneration: z.int(),
  }),
);

const FUNCTIONS_OF_POLICY = z.object({
  policy: z.string().nullable(),
  functions: z.array(z.string()),
});

export const MODULE_OUTCOME = named(
  'ModuleOutcome',
  MODULE_REPLY_SCHEMA.extend({
    waited: z
      .enum(['reported', 'timeout'])
      .optional()
      .meta({ description: "with ?wait: whether the log caught up with the agent's report" }),
    effect: z
      .object({
        module: z.string(),
        action: z.enum(['load', 'unload']),
        moduleLoaded: z.boolean(),
        attached: z.array(FUNCTIONS_OF_POLICY),
        released: z.array(FUNCTIONS_OF_POLICY),
        failed: z.array(
          z.object({
            policy: z.string(),
            function: z.string(),
            errno: z.int(),
            reason: z.string(),
          }),
        ),
        pending: z.array(
          z.object({ policy: z.string(), function: z.string(), module: z.string() }),
        ),
      })
      .optional()
      .meta({ description: 'with ?wait: what the load or unload changed on the node' }),
  }),
);

/** `?wait=MS` of a module request. */
export const MODULE_QUERY = z.object({
  wait: z
    .int({ error: 'milliseconds from 1 to 25000' })
    .min(1, { error: 'milliseconds from 1 to 25000' })
    .max(25_000, { error: 'milliseconds from 1 to 25000' })
    .optional()
    .meta({
      description:
        'wait (ms), once the agent answered, until the log holds what it reported; the answer then carries the effect',
    }),
});

// ---- the audit ----

const LOG_POINT = z.object({ position: z.int(), recordedAt: z.string() });

export const LOG_RANGE = named(
  'LogRange',
  z.object({
    first: LOG_POINT.nullable(),
    last: LOG_POINT.nullable(),
    events: z.int(),
  }),
  'the first and last fleet events of the log',
);

const AUDIT_INSTANT = z.string().meta({ description: 'an RFC 3339 instant' });
const AUDIT_NAME = z.string();

export const AUDIT_STATE_QUERY = z.object({
  at: AUDIT_INSTANT.optional(),
  position: z.int().min(0).optional().meta({ description: 'a global position of the log' }),
  node: AUDIT_NAME.optional().meta({ description: 'one node only' }),
});

export const AUDIT_STATE = z.object({
  position: z.int(),
  recordedAt: z.string().nullable(),
  state: z.looseObject({}).optional().meta({ description: 'the fleet then' }),
  node: z.looseObject({}).optional().meta({ description: 'the node then (with ?node)' }),
});

const MAX_QUERY = z
  .int()
  .min(0)
  .max(100_000)
  .optional()
  .meta({ description: 'the newest entries to list (default 1000), paged by limit and cursor' });

export const AUDIT_HISTORY_QUERY = PAGE_QUERY.extend({
  actor: AUDIT_NAME.optional().meta({ description: 'exactly one of actor, policy, program' }),
  policy: AUDIT_NAME.optional(),
  program: AUDIT_NAME.optional(),
  node: AUDIT_NAME.optional().meta({ description: 'events of this node only' }),
  type: AUDIT_NAME.optional().meta({ description: 'events of this type only (LinkCreated…)' }),
  since: AUDIT_INSTANT.optional().meta({ description: 'with actor: occurredAt at or after' }),
  until: AUDIT_INSTANT.optional().meta({ description: 'with actor: occurredAt at or before' }),
  max: MAX_QUERY,
});

export const AUDIT_FUNCTION_QUERY = PAGE_QUERY.extend({
  node: AUDIT_NAME.optional().meta({ description: 'the node (required)' }),
  max: MAX_QUERY,
});

export const AUDIT_PLANS_QUERY = z.object({
  policy: AUDIT_NAME.optional(),
  at: AUDIT_INSTANT.optional(),
  position: z.int().min(0).optional(),
});

export const AUDIT_EVENT = named(
  'AuditEvent',
  z.object({
    position: z.int(),
    type: z.string(),
    occurredAt: z.string(),
    recordedAt: z.string(),
    actor: z.string(),
    onBehalfOf: z.string().nullable().optional(),
    streamId: z.string(),
    nodeId: z.string().nullable(),
    summary: z.string(),
  }),
);

export const AUDIT_FUNCTION_ENTRY = named(
  'AuditFunctionEntry',
  z.looseObject({ position: z.int(), at: z.string(), action: z.string(), actor: z.string() }),
);

export const AUDIT_PLANS = z.looseObject({
  nodeId: z.string(),
  position: z.int(),
  versions: z.array(z.looseObject({})),
});

export const APPROVED = z.object({
  nodeId: z.string(),
  admission: z.literal('approved'),
  changed: z.boolean(),
});

export const TAKEN_BACK = z.object({ nodeId: z.string(), epoch: z.int(), generation: z.int() });

export const TOKEN = named(
  'Token',
  z.object({
    name: z.string(),
    role: z.enum(ACCESS_ROLES).nullable(),
    state: z.enum(['active', 'revoked']),
    issuedBy: z.string().nullable(),
    issuedAt: z.string().nullable(),
    revokedBy: z.string().optional(),
    revokedAt: z.string().optional(),
    reason: z.string().optional(),
  }),
);

export const TOKEN_ISSUED = z.object({
  name: z.string(),
  role: z.enum(ACCESS_ROLES),
  actor: z.string().meta({ description: 'token:<name>, the actor it acts as' }),
  token: z.string().meta({ description: 'the secret: store it now, it is never shown again' }),
});

export const TOKEN_REVOKED = z.object({ name: z.string(), state: z.literal('revoked') });

// ---- program objects ----

const SECTION_ATTACH = z.enum(BPF_SECTION_ATTACH);

export const PROGRAM_ENTRY = named(
  'ProgramEntry',
  z.object({
    name: z.string().meta({ description: "the program's function symbol (what a policy names)" }),
    section: z.string().meta({ description: 'its ELF section (SEC("...") in the source)' }),
    attach: SECTION_ATTACH.meta({
      description: 'the attach type the section implies (libbpf names; unknown otherwise)',
    }),
    sleepable: z.boolean(),
    target: z.string().optional().meta({ description: 'the target the section names, if any' }),
    instructions: z.int().nonnegative(),
  }),
  'a program of a BPF object',
);

export const PROGRAM_OBJECT = named(
  'ProgramObject',
  z.object({
    digest: z.string().regex(PROGRAM_OBJECT_DIGEST).meta({
      description: 'sha256:<64 hex> of the bytes: what spec.program.object names',
    }),
    size: z.int().nonnegative(),
    storedAt: isoInstant,
    license: z.string().nullable(),
    hasBtf: z.boolean(),
    hasBtfExt: z.boolean(),
    programs: z.array(PROGRAM_ENTRY),
  }),
  'a stored BPF object (compiled ELF), content addressed',
);

export const PROGRAM_PUSHED = PROGRAM_OBJECT.extend({
  created: z.boolean().meta({ description: 'false: the same bytes were stored already' }),
});

export const HEALTH = z.object({ status: z.literal('ok') });
export const READY = z.object({ status: z.literal('ready') });

/** The OpenAPI document itself (an object; its shape is OpenAPI 3.1's). */
export const OPENAPI_SELF = z.looseObject({ openapi: z.string() });
