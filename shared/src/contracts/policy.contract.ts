import { LineCounter, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import type { Result } from '../lib/result.js';
import { err } from '../lib/result.js';
import { MAX_NESTING_DEPTH, nestingExceeds } from '../lib/nesting-depth.js';
import {
  INT32_MAX,
  INT32_MIN,
  LABEL_NAME,
  LABEL_PREFIX,
  LABEL_VALUE_MAX,
  MAX_ANNOTATION_VALUE,
  MAX_FUNC_ARGS,
  MAX_TARGETS,
  MAX_WAVES,
  ORIGIN,
  POLICY_NAME,
  POLICY_NAME_MAX,
  PROGRAM_NAME,
  PROGRAM_OBJECT_DIGEST,
  validatePolicy,
} from '../domain/policy/policy.validate.js';
import {
  ATTACH_STRATEGIES,
  POLICY_API_VERSION,
  POLICY_ATTACH_TYPES,
  POLICY_KIND,
} from '../domain/policy/policy.types.js';
import type { Policy, PolicyProblem } from '../domain/policy/policy.types.js';

/** A label key: an optional DNS-subdomain prefix and `/`, then a label name (as Kubernetes). */
const LABEL_KEY = new RegExp(
  `^(${LABEL_PREFIX.source.slice(1, -1)}/)?${LABEL_NAME.source.slice(1, -1)}$`,
);
/** A label value: empty, or a label name of at most LABEL_VALUE_MAX characters. */
const labelValue = z
  .string()
  .max(LABEL_VALUE_MAX)
  .regex(new RegExp(`^(${LABEL_NAME.source.slice(1, -1)})?$`));
const labels = z.record(z.string().regex(LABEL_KEY), labelValue);
const DECIMAL_U64 = /^(0|[1-9][0-9]{0,19})$/;

/**
 * The shape of a `TracingPolicy` as a person writes it (docs/fleet-protocol.md, "Policy"): every
 * object strict (an unknown key, such as a misspelt `nodeSelecter`, is refused), types, patterns
 * and bounds. The HTTP API's OpenAPI document is generated from it (coordinator
 * http/openapi.ts), and `parsePolicy` runs it on every policy after `validatePolicy`, so that the
 * document never accepts a shape the server refuses. What a JSON Schema cannot say is checked by
 * `validatePolicy` alone: cumulative waves ending at "100%", `ret` only for fexit and fmod_ret,
 * `returns` only for fmod_ret, duplicate reads and patterns, the glob syntax of a pattern, u64
 * bounds of a cookie, and the number of labels.
 */
export const TRACING_POLICY_SCHEMA = z
  .strictObject({
    apiVersion: z.literal(POLICY_API_VERSION),
    kind: z.literal(POLICY_KIND),
    metadata: z.strictObject({
      name: z.string().max(POLICY_NAME_MAX).regex(POLICY_NAME),
      labels: labels.optional(),
      annotations: z
        .record(z.string().regex(LABEL_KEY), z.string().max(MAX_ANNOTATION_VALUE))
        .optional(),
    }),
    spec: z.strictObject({
      program: z.strictObject({
        name: z.string().regex(PROGRAM_NAME),
        object: z
          .string()
          .regex(PROGRAM_OBJECT_DIGEST)
          .meta({
            description:
              'the compiled BPF object holding the program, by content digest (tramway program push)',
          })
          .optional(),
        attach: z.enum(POLICY_ATTACH_TYPES),
        sleepable: z.boolean().optional(),
        origin: z.string().regex(ORIGIN).optional(),
        reads: z
          .array(
            z.union([
              z
                .int()
                .min(0)
                .max(MAX_FUNC_ARGS - 1),
              z.literal('ret'),
            ]),
          )
          .max(MAX_FUNC_ARGS + 1)
          .optional(),
        returns: z.int().min(INT32_MIN).max(INT32_MAX).optional(),
      }),
      targets: z
        .array(
          z.strictObject({
            pattern: z.string().min(1),
            cookie: z.union([z.int().min(0), z.string().regex(DECIMAL_U64)]).optional(),
          }),
        )
        .min(1)
        .max(MAX_TARGETS),
      nodeSelector: z.strictObject({ matchLabels: labels.optional() }).optional(),
      strategy: z.enum(ATTACH_STRATEGIES).optional(),
      rollout: z
        .strictObject({
          waves: z
            .array(z.union([z.int().min(1), z.string().regex(/^([1-9][0-9]?|100)%$/)]))
            .min(1)
            .max(MAX_WAVES)
            .optional(),
          maxFailureRatio: z.number().min(0).max(1).optional(),
          pauseSeconds: z.number().min(0).optional(),
        })
        .optional(),
    }),
  })
  .meta({ description: 'a TracingPolicy (docs/fleet-protocol.md, "Policy")' });

/**
 * `validatePolicy`, then the shape of `TRACING_POLICY_SCHEMA`: the domain's messages for what it
 * refuses, the schema's issues for anything it alone refuses (kept in agreement by
 * test/unit/contracts/policy-schema.test.ts, so this second list is expected to stay empty).
 */
const checkPolicy = (input: unknown): Result<Policy, readonly PolicyProblem[]> => {
  const validated = validatePolicy(input);
  if (!validated.ok) return validated;
  const shaped = TRACING_POLICY_SCHEMA.safeParse(input);
  if (shaped.success) return validated;
  return err(
    shaped.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || '(policy)',
      message: issue.message,
    })),
  );
};

/** Most alias expansions a policy's YAML may make (an alias bomb grows exponentially). */
export const MAX_ALIAS_COUNT = 100;

/**
 * Parses a policy from YAML (or JSON) text, or takes an already decoded object, and validates it
 * (`validatePolicy`): every problem with its path. A YAML syntax error is one problem with its
 * line and column; several documents in one text are refused. Hostile text is a problem too:
 * flow nesting deeper than `MAX_NESTING_DEPTH`, more than `MAX_ALIAS_COUNT` alias expansions.
 */
export const parsePolicy = (input: unknown): Result<Policy, readonly PolicyProblem[]> => {
  if (typeof input !== 'string') return checkPolicy(input);
  if (nestingExceeds(input)) {
    return err([
      {
        path: '(yaml)',
        message: `nested deeper than ${MAX_NESTING_DEPTH} levels of [ and {`,
      },
    ]);
  }
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(input, { lineCounter, prettyErrors: false });
  if (!Array.isArray(docs))
    return err([{ path: '(policy)', message: 'empty document: expected a TracingPolicy' }]);
  if (docs.length === 0)
    return err([{ path: '(policy)', message: 'empty document: expected a TracingPolicy' }]);
  if (docs.length > 1)
    return err([
      {
        path: '(policy)',
        message: `${docs.length} YAML documents: one TracingPolicy per text`,
      },
    ]);
  const doc = docs[0]!;
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const at = lineCounter.linePos(syntax.pos[0]);
    return err([
      {
        path: '(yaml)',
        message: `line ${at.line}, column ${at.col}: ${syntax.message.split('\n')[0] ?? syntax.code}`,
      },
    ]);
  }
  let decoded: unknown;
  try {
    decoded = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws a ReferenceError for an alias bomb; anything else it throws is the text's fault too.
    return err([
      {
        path: '(yaml)',
        message:
          error instanceof ReferenceError
            ? `more alias expansions than the limit of ${MAX_ALIAS_COUNT}`
            : `cannot decode: ${error instanceof Error ? error.message : String(error)}`,
      },
    ]);
  }
  return checkPolicy(decoded);
};

/** Like `parsePolicy`, but problems as `path: message` lines. */
export const parsePolicyOrProblems = (
  input: unknown,
): { ok: true; policy: Policy } | { ok: false; problems: readonly string[] } => {
  const parsed = parsePolicy(input);
  return parsed.ok
    ? { ok: true, policy: parsed.value }
    : { ok: false, problems: parsed.error.map((p) => `${p.path}: ${p.message}`) };
};
