/**
 * Wire schemas of every fleet event, per schema version (STYLE.md §4 "Versioning").
 * The current version of each event must parse to exactly the shape of the matching
 * `FleetEvent` in `domain/fleet.events.ts`; older versions are lifted by `upcasters.ts`.
 */
import { z } from 'zod';
import { ATTACH_PATHS, ATTACH_TYPES, MULTI_LINK_PROFILES } from '../lib/kernel-vocabulary.js';
import type { FleetEventType } from '../domain/fleet.events.js';
import { PLAN_PATHS, TARGET_STATUSES } from '../domain/plan/node-plan.types.js';
import { ACCESS_ROLES, TOKEN_HASH, TOKEN_NAME } from '../domain/access/access-role.js';

const U64_MAX = 18_446_744_073_709_551_615n;

// `__proto__` is refused wherever a value becomes a key of the projection's records.
export const NAME_PATTERN = /^(?!__proto__$)[A-Za-z0-9._:@-]+$/;
export const FUNCTION_NAME_PATTERN = /^(?!__proto__$)[A-Za-z_][A-Za-z0-9_.]*$/;
export const DECIMAL_PATTERN = /^(0|[1-9][0-9]*)$/;
/** A decimal string (DECIMAL_PATTERN) that fits in 64 bits unsigned; never throws. */
export const isU64 = (s: string): boolean =>
  DECIMAL_PATTERN.test(s) && s.length <= 20 && BigInt(s) <= U64_MAX;

const id = z.string().min(1);
const nodeId = z.string().regex(NAME_PATTERN, 'node id: letters, digits and ._:@- only');
const name = z.string().regex(NAME_PATTERN, 'name: letters, digits and ._:@- only');
const kernelId = z.int().nonnegative();
const functionName = z.string().regex(FUNCTION_NAME_PATTERN, 'a kernel function name');
const profile = z.enum(MULTI_LINK_PROFILES);
const attachType = z.enum(ATTACH_TYPES);
/** u64 as a decimal string (kernel-multilink-spec.md §1.1 "Cookie"). */
const cookie = z
  .string()
  .regex(DECIMAL_PATTERN, 'a decimal u64')
  .refine(isU64, 'a decimal u64 (at most 2^64-1)');

const connectionV1 = z.strictObject({
  function: functionName,
  module: name.optional(),
  objId: kernelId,
  btfId: kernelId,
});
const connectionV2 = connectionV1.extend({ cookie });

/**
 * The fields of one planned target (`PlannedTarget`): one definition for the NodePlan reply, the
 * assignment's plan (fleet-messages.contract.ts) and the plans recorded in the log.
 */
export const PLANNED_TARGET_FIELDS = {
  function: functionName,
  module: z.string().min(1).exactOptional(),
  objId: kernelId.exactOptional(),
  btfId: kernelId.exactOptional(),
  cookie,
  status: z.enum(TARGET_STATUSES),
  errno: z.string().min(1).exactOptional(),
  reason: z.string().exactOptional(),
  headroom: z.int().exactOptional(),
};
/** The fields of a `RecordedPlan`, given the schema of one target and of one unmatched pattern. */
export const recordedPlanFields = <T extends z.ZodType, U extends z.ZodType>(
  target: T,
  unmatched: U,
) => ({ path: z.enum(PLAN_PATHS), targets: z.array(target), unmatched: z.array(unmatched) });
const UNMATCHED_FIELDS = { pattern: z.string(), reason: z.string() };
/** A `RecordedPlan` in an event: every object strict, as the rest of the log. */
const recordedPlanV1 = z.strictObject(
  recordedPlanFields(z.strictObject(PLANNED_TARGET_FIELDS), z.strictObject(UNMATCHED_FIELDS)),
);

const linkCreatedV1 = z.strictObject({
  nodeId,
  linkId: kernelId,
  programId: kernelId,
  programName: z.string().min(1),
  policy: name.optional(),
  attachType,
  connections: z.array(connectionV1).min(1),
  observedGeneration: z.int().nonnegative().optional(),
});
const linkCreatedV2 = linkCreatedV1.extend({ connections: z.array(connectionV2).min(1) });
/** v3: why a link is reported other than as just created (adopted after an agent restart) */
const linkCreatedV3 = linkCreatedV2.extend({ reason: z.string().min(1).optional() });

/** Schemas by event type, then by schema version. The highest version is the current one. */
export const FLEET_EVENT_SCHEMAS = {
  NodeRegistered: {
    1: z.strictObject({
      nodeId,
      labels: z.record(z.string().regex(/^(?!__proto__$)./, 'a label key'), z.string()),
      bootId: id,
      kernelRelease: z.string().min(1),
      profile,
      btfFingerprint: z.string().min(1),
    }),
  },
  NodeBooted: { 1: z.strictObject({ nodeId, bootId: id }) },
  KernelProfileDetected: {
    1: z.strictObject({
      nodeId,
      profile,
      attachPath: z.enum(ATTACH_PATHS),
      btfFingerprint: z.string().min(1),
    }),
  },
  ModuleLoaded: { 1: z.strictObject({ nodeId, module: name, btfObjId: kernelId }) },
  ModuleUnloaded: { 1: z.strictObject({ nodeId, module: name }) },
  ProgramLoaded: {
    1: z.strictObject({ nodeId, programId: kernelId, name: z.string().min(1), attachType }),
  },
  ProgramUnloaded: {
    1: z.strictObject({ nodeId, programId: kernelId, name: z.string().min(1) }),
  },
  LinkCreated: { 1: linkCreatedV1, 2: linkCreatedV2, 3: linkCreatedV3 },
  LinkCreateFailed: {
    1: z.strictObject({
      nodeId,
      programId: kernelId,
      programName: z.string().min(1),
      policy: name.optional(),
      attachType,
      errno: z.int().positive(),
      failingTarget: z.strictObject({
        function: functionName,
        module: name.optional(),
        objId: kernelId.optional(),
        btfId: kernelId.optional(),
      }),
      reason: z.string().min(1),
      observedGeneration: z.int().nonnegative().optional(),
    }),
  },
  LinkReleased: {
    1: z.strictObject({
      nodeId,
      linkId: kernelId,
      reason: z.string().min(1),
      observedGeneration: z.int().nonnegative().optional(),
    }),
  },
  DriftFound: {
    1: z.strictObject({
      nodeId,
      observedGeneration: z.int().nonnegative(),
      items: z.array(
        z.strictObject({
          kind: z.enum(['missing-link', 'unexpected-link', 'connection-mismatch']),
          linkId: kernelId.optional(),
          function: functionName.optional(),
          detail: z.string(),
        }),
      ),
    }),
  },
  NodeReconciled: {
    1: z.strictObject({
      nodeId,
      observedGeneration: z.int().nonnegative(),
      policies: z.array(
        z.strictObject({
          policy: name,
          version: z.int().positive(),
          attached: z.int().nonnegative(),
          pending: z.array(z.strictObject({ function: functionName, module: name })),
          rejected: z.array(
            z.strictObject({
              function: functionName,
              module: name.optional(),
              errno: z.int().positive(),
              reason: z.string().min(1),
            }),
          ),
        }),
      ),
    }),
  },
  NodeReplanned: {
    1: z.strictObject({
      nodeId,
      generation: z.int().nonnegative(),
      policy: name,
      policyVersion: z.int().positive(),
      reason: z.string().min(1),
      plan: recordedPlanV1,
    }),
  },
  PolicyApplied: {
    1: z.strictObject({
      name,
      version: z.int().positive(),
      spec: z.record(z.string(), z.json()),
      reason: z.string().min(1).optional(),
    }),
  },
  PolicyRemoved: {
    1: z.strictObject({ name, version: z.int().positive(), reason: z.string().min(1).optional() }),
  },
  PolicyDeleted: {
    1: z.strictObject({ name, version: z.int().positive(), reason: z.string().min(1).optional() }),
  },
  RolloutStarted: {
    1: z.strictObject({
      rolloutId: name,
      policy: name,
      policyVersion: z.int().positive(),
      waves: z.int().positive(),
      waveNodes: z.array(z.array(nodeId)).optional(),
      previousVersion: z.int().positive().nullable().optional(),
      kind: z.enum(['apply', 'rollback', 'release']).optional(),
      rollsBack: name.optional(),
    }),
  },
  WaveStarted: {
    1: z.strictObject({ rolloutId: name, wave: z.int().nonnegative(), nodes: z.array(nodeId) }),
  },
  WaveHeld: {
    1: z.strictObject({
      rolloutId: name,
      wave: z.int().nonnegative(),
      reason: z.string().min(1),
      failureRatio: z.number().min(0).max(1),
    }),
  },
  WaveCompleted: {
    1: z.strictObject({
      rolloutId: name,
      wave: z.int().nonnegative(),
      succeeded: z.int().nonnegative(),
      failed: z.int().nonnegative(),
      reason: z.string().min(1).optional(),
    }),
  },
  RolloutCompleted: { 1: z.strictObject({ rolloutId: name }) },
  RolloutRolledBack: { 1: z.strictObject({ rolloutId: name, reason: z.string().min(1) }) },
  AssignmentIssued: {
    1: z.strictObject({
      nodeId,
      generation: z.int().nonnegative(),
      links: z.array(
        z.strictObject({
          policy: name,
          policyVersion: z.int().positive(),
          program: z.string().min(1),
          attachType,
          functions: z.array(z.string().min(1)).min(1),
        }),
      ),
      reason: z.string().min(1).optional(),
      initiatedBy: z.string().min(1).optional(),
      epoch: z.int().nonnegative().optional(),
    }),
  },
  NodeTakenBack: {
    1: z.strictObject({
      nodeId,
      epoch: z.int().positive(),
      reason: z.string().min(1),
      claimedGeneration: z.int().nonnegative().optional(),
    }),
  },
  NodeAdmissionPending: { 1: z.strictObject({ nodeId, reason: z.string().min(1) }) },
  NodeApproved: { 1: z.strictObject({ nodeId, reason: z.string().min(1) }) },
  PlanRecorded: {
    1: z.strictObject({
      nodeId,
      policy: name,
      policyVersion: z.int().positive(),
      rolloutId: name.optional(),
      plan: recordedPlanV1,
    }),
  },
  NodeMarkedStale: {
    1: z.strictObject({
      nodeId,
      lastSeen: z.iso.datetime({ offset: true }).nullable(),
      silentMs: z.int().nonnegative(),
    }),
  },
  NodeMarkedAlive: {
    1: z.strictObject({ nodeId, lastSeen: z.iso.datetime({ offset: true }) }),
  },
  AccessTokenIssued: {
    1: z.strictObject({
      name: z.string().regex(TOKEN_NAME, 'token name: 1-64 letters, digits and ._@-'),
      role: z.enum(ACCESS_ROLES),
      tokenHash: z.string().regex(TOKEN_HASH, 'a SHA-256 in lowercase hex'),
      issuedBy: z.string().min(1),
    }),
  },
  ModuleActionRequested: {
    1: z.strictObject({
      nodeId,
      module: name,
      action: z.enum(['load', 'unload']),
      ok: z.boolean(),
      errno: z.string().min(1).optional(),
      reason: z.string().min(1).optional(),
    }),
  },
  AccessTokenRevoked: {
    1: z.strictObject({
      name: z.string().regex(TOKEN_NAME, 'token name: 1-64 letters, digits and ._@-'),
      revokedBy: z.string().min(1),
      reason: z.string().min(1),
    }),
  },
} as const satisfies Record<FleetEventType, Record<number, z.ZodType>>;

/** The envelope around `data`, as `RecordedEvent` in lib/event-envelope.ts. */
export const RECORDED_ENVELOPE_SCHEMA = z.object({
  id,
  type: z.string().min(1),
  schemaVersion: z.int().positive(),
  streamId: z.string().min(1),
  streamVersion: z.int().positive(),
  globalPosition: z.int().positive(),
  recordedAt: z.iso.datetime({ offset: true }),
  metadata: z.strictObject({
    occurredAt: z.iso.datetime({ offset: true }),
    actor: z.string().min(1),
    correlationId: z.string().min(1).optional(),
    causationId: z.string().min(1).optional(),
    onBehalfOf: z.string().min(1).optional(),
  }),
});

/** The current schema version of each event type. */
export const CURRENT_SCHEMA_VERSION: Readonly<Record<FleetEventType, number>> = Object.fromEntries(
  Object.entries(FLEET_EVENT_SCHEMAS).map(([type, versions]) => [
    type,
    Math.max(...Object.keys(versions).map(Number)),
  ]),
) as Record<FleetEventType, number>;

export const isFleetEventType = (type: string): type is FleetEventType =>
  Object.hasOwn(FLEET_EVENT_SCHEMAS, type);
