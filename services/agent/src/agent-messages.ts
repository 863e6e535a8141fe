/**
 * Subjects and message schemas the agent speaks (docs/fleet-protocol.md, "Subjects and
 * messages"). Every inbound message is validated here, at the edge, and a bad one is named by
 * field path. (Stands in for shared/src/contracts/fleet-subjects.ts and
 * fleet-messages.contract.ts until they land.)
 */
import { z } from 'zod';
import type { AgentAssignment } from './reconcile/agent-policy.js';

export const AgentSubjects = {
  facts: (nodeId: string): string => `tramway.facts.${nodeId}`,
  heartbeat: (nodeId: string): string => `tramway.hb.${nodeId}`,
  plan: (nodeId: string): string => `tramway.agent.${nodeId}.plan`,
  assign: (nodeId: string): string => `tramway.agent.${nodeId}.assign`,
  module: (nodeId: string): string => `tramway.agent.${nodeId}.module`,
  state: (nodeId: string): string => `tramway.agent.${nodeId}.state`,
  coordAssignment: (): string => 'tramway.coord.assignment',
} as const;

const policyName = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a policy name: [a-z0-9]([-a-z0-9]*[a-z0-9])?');
const u64 = z.union([
  z.int().nonnegative(),
  z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'a decimal u64'),
]);

/** The policy spec fields the agent acts on; other fields (nodeSelector, rollout) pass through. */
export const POLICY_SPEC_SCHEMA = z.looseObject({
  program: z.looseObject({
    name: z.string().min(1),
    attach: z.enum(['fentry', 'fexit', 'fmod_ret']),
    sleepable: z.boolean().optional(),
    origin: z.string().min(1).optional(),
    reads: z.array(z.union([z.int().nonnegative(), z.literal('ret')])).optional(),
    returns: z.int().optional(),
  }),
  targets: z.array(z.looseObject({ pattern: z.string().min(1), cookie: u64.optional() })).min(1),
  strategy: z.enum(['multi', 'per-function', 'auto']).optional(),
});

export const ASSIGNMENT_SCHEMA = z.looseObject({
  nodeId: z.string().min(1),
  generation: z.int().nonnegative(),
  policies: z.array(
    z.looseObject({ name: policyName, version: z.int().positive(), spec: POLICY_SPEC_SCHEMA }),
  ),
});

export const PLAN_REQUEST_SCHEMA = z.looseObject({
  policy: z.looseObject({
    metadata: z.looseObject({ name: policyName }),
    spec: POLICY_SPEC_SCHEMA,
  }),
  policyVersion: z.int().positive(),
});

export const MODULE_REQUEST_SCHEMA = z.strictObject({
  action: z.enum(['load', 'unload']),
  module: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a module name'),
});

export const STATE_REQUEST_SCHEMA = z.looseObject({});

const pathText = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, k) =>
      typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? String(k) : `${acc}.${String(k)}`,
    '',
  );

/** A message that does not match its schema (not retryable: sending it again gives the same bytes). */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
  readonly code = 'InvalidMessage';
  readonly retryable = false;
  readonly subject: string;
  readonly problems: readonly string[];
  constructor(subject: string, problems: readonly string[]) {
    super(`malformed message on ${subject}: ${problems.join('; ')}`);
    this.subject = subject;
    this.problems = problems;
  }
}

/** Validates `payload`; throws `InvalidMessageError` listing every problem with its path. */
export const decodeMessage = <T>(schema: z.ZodType<T>, subject: string, payload: unknown): T => {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  throw new InvalidMessageError(
    subject,
    parsed.error.issues.map((i) => `${pathText(i.path) || '(message)'}: ${i.message}`),
  );
};

export const decodeAssignment = (subject: string, payload: unknown): AgentAssignment =>
  decodeMessage(ASSIGNMENT_SCHEMA, subject, payload) as AgentAssignment;
