/**
 * Subjects and message schemas the coordinator speaks (docs/fleet-protocol.md, "Subjects and
 * messages"). Every inbound message (and every reply) is validated here, at the edge, and a bad
 * one is named by field path. Stands in for shared/src/contracts/fleet-subjects.ts and
 * fleet-messages.contract.ts until they land.
 */
import { z } from 'zod';
import { AppError } from '@tramway/shared/infra';
import type { PolicySpec } from './policy/policy-document.js';
import { listIssues } from './policy/policy-document.js';

export const CoordSubjects = {
  factsAll: (): string => 'tramway.facts.*',
  heartbeatsAll: (): string => 'tramway.hb.*',
  plan: (nodeId: string): string => `tramway.agent.${nodeId}.plan`,
  assign: (nodeId: string): string => `tramway.agent.${nodeId}.assign`,
  module: (nodeId: string): string => `tramway.agent.${nodeId}.module`,
  state: (nodeId: string): string => `tramway.agent.${nodeId}.state`,
  coordAssignment: (): string => 'tramway.coord.assignment',
} as const;

/** The node id token of `tramway.facts.<id>` / `tramway.hb.<id>`. */
export const nodeIdOfSubject = (subject: string): string => subject.split('.').slice(2).join('.');

const nodeId = z.string().regex(/^[A-Za-z0-9._:@-]+$/, 'a node id');

export const FACT_BATCH_SCHEMA = z.strictObject({
  nodeId,
  bootId: z.string(),
  events: z.array(
    z.looseObject({
      id: z.string().min(1).max(200),
      type: z.string().min(1),
      schemaVersion: z.int().positive(),
      data: z.record(z.string(), z.unknown()),
      metadata: z.looseObject({
        occurredAt: z.iso.datetime({ offset: true }),
        actor: z.string().min(1),
        correlationId: z.string().optional(),
        causationId: z.string().optional(),
      }),
    }),
  ),
});
export type FactBatch = z.infer<typeof FACT_BATCH_SCHEMA>;

export const HEARTBEAT_SCHEMA = z.looseObject({
  nodeId,
  bootId: z.string(),
  observedGeneration: z.int().nonnegative(),
  at: z.string(),
});
export type Heartbeat = z.infer<typeof HEARTBEAT_SCHEMA>;

const plannedTarget = z.looseObject({
  function: z.string(),
  module: z.string().optional(),
  objId: z.int().optional(),
  btfId: z.int().optional(),
  cookie: z.string(),
  status: z.enum(['attach', 'pending', 'rejected', 'trampoline-full']),
  errno: z.string().optional(),
  reason: z.string().optional(),
  headroom: z.int().optional(),
});

export const NODE_PLAN_SCHEMA = z.looseObject({
  nodeId,
  policy: z.string(),
  policyVersion: z.int(),
  path: z.enum(['tracing-multi', 'fentry-per-function', 'kprobe-multi', 'none']),
  targets: z.array(plannedTarget),
  unmatched: z.array(z.looseObject({ pattern: z.string(), reason: z.string() })),
  counts: z.looseObject({
    attach: z.int(),
    pending: z.int(),
    rejected: z.int(),
    trampolineFull: z.int(),
  }),
});
export type NodePlan = z.infer<typeof NODE_PLAN_SCHEMA>;

export const NODE_ACTUAL_STATE_SCHEMA = z.looseObject({
  nodeId,
  bootId: z.string(),
  observedGeneration: z.int().nonnegative(),
  links: z.array(
    z.looseObject({
      linkId: z.int(),
      policy: z.string().nullable(),
      policyVersion: z.int().nullable(),
      program: z.string(),
      connections: z.array(z.unknown()),
    }),
  ),
  modules: z.array(z.unknown()),
});
export type NodeActualState = z.infer<typeof NODE_ACTUAL_STATE_SCHEMA>;

export const ASSIGN_REPLY_SCHEMA = z.looseObject({
  accepted: z.boolean(),
  generation: z.int().nonnegative(),
});

export const MODULE_REPLY_SCHEMA = z.looseObject({
  ok: z.boolean(),
  errno: z.string().optional(),
  reason: z.string().optional(),
});
export type ModuleReply = z.infer<typeof MODULE_REPLY_SCHEMA>;

export const ASSIGNMENT_REQUEST_SCHEMA = z.looseObject({ nodeId });

/** What a node must run (docs/fleet-protocol.md, "Assignment"). */
export interface Assignment {
  readonly nodeId: string;
  readonly generation: number;
  readonly policies: readonly { name: string; version: number; spec: PolicySpec }[];
}

/** A message that does not match its schema. Not retryable: the same bytes fail again. */
export class InvalidMessageError extends AppError {
  override readonly name = 'InvalidMessageError';
  readonly subject: string;
  readonly problems: readonly string[];
  constructor(subject: string, problems: readonly string[]) {
    super(`malformed message on ${subject}: ${problems.join('; ')}`, {
      code: 'InvalidMessage',
      retryable: false,
    });
    this.subject = subject;
    this.problems = problems;
  }
}

/** Validates `payload`; throws `InvalidMessageError` listing every problem with its path. */
export const decodeMessage = <T>(schema: z.ZodType<T>, subject: string, payload: unknown): T => {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  throw new InvalidMessageError(subject, listIssues(parsed.error));
};
