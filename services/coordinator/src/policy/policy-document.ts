/**
 * The `TracingPolicy` document (docs/fleet-protocol.md, "Policy"), validated at the HTTP edge.
 * Every problem is listed with its path (`spec.targets[1].pattern: ...`). Stands in for the
 * shared Policy parse of shared/src/contracts until it lands.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Result } from '@tramway/shared/lib';
import { err, ok } from '@tramway/shared/lib';

const POLICY_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PERCENT = /^([1-9][0-9]?|100)%$/;
const U64_MAX = 18_446_744_073_709_551_615n;

const u64 = z.union([
  z.int().nonnegative(),
  z
    .string()
    .regex(/^(0|[1-9][0-9]*)$/, 'a decimal u64')
    .refine((s) => s.length <= 20 && BigInt(s) <= U64_MAX, 'a decimal u64 (at most 2^64-1)'),
]);

const wave = z.union([
  z.int().positive('a node count of at least 1'),
  z.string().regex(PERCENT, 'a percentage "1%".."100%"'),
]);

export const POLICY_SPEC_SCHEMA = z.strictObject({
  program: z.strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,14}$/, 'a BPF program name (at most 15 chars)'),
    attach: z.enum(['fentry', 'fexit', 'fmod_ret']),
    sleepable: z.boolean().optional(),
    origin: z.string().min(1).optional(),
    reads: z.array(z.union([z.int().min(0).max(11), z.literal('ret')])).optional(),
    returns: z.int().optional(),
  }),
  targets: z
    .array(
      z.strictObject({
        pattern: z
          .string()
          .regex(
            /^([A-Za-z0-9_.-]+:)?[A-Za-z0-9_.*?[\]!-]+$/,
            'a glob ([module:]pattern with *, ?, [...])',
          ),
        cookie: u64.optional(),
      }),
    )
    .min(1, 'at least one target'),
  nodeSelector: z
    .strictObject({ matchLabels: z.record(z.string().min(1), z.string()).optional() })
    .optional(),
  strategy: z.enum(['multi', 'per-function', 'auto']).optional(),
  rollout: z
    .strictObject({
      waves: z.array(wave).min(1, 'at least one wave').optional(),
      maxFailureRatio: z.number().min(0).max(1).optional(),
      pauseSeconds: z.number().min(0).max(86_400).optional(),
    })
    .optional(),
});

export const POLICY_SCHEMA = z.strictObject({
  apiVersion: z.literal('tramway.dev/v1alpha1'),
  kind: z.literal('TracingPolicy'),
  metadata: z.strictObject({
    name: z
      .string()
      .max(63, 'at most 63 chars')
      .regex(POLICY_NAME, 'a policy name: [a-z0-9]([-a-z0-9]*[a-z0-9])?'),
  }),
  spec: POLICY_SPEC_SCHEMA,
});

export type PolicySpec = z.infer<typeof POLICY_SPEC_SCHEMA>;
export type Policy = z.infer<typeof POLICY_SCHEMA>;
export type WaveSize = number | string;

/** `['spec', 'targets', 1, 'pattern']` -> `spec.targets[1].pattern` */
export const pathText = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, k) =>
      typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? String(k) : `${acc}.${String(k)}`,
    '',
  );

/** Every issue of a zod error as `path: message` (`(document)` for the root). */
export const listIssues = (error: z.ZodError, prefix = ''): string[] =>
  error.issues.flatMap((issue) => {
    const path = pathText(issue.path);
    const where = [prefix, path].filter((p) => p !== '').join('.') || '(document)';
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map(
        (k) => `${where === '(document)' ? k : `${where}.${k}`}: unknown field`,
      );
    }
    return [`${where}: ${issue.message}`];
  });

/** Waves must grow: counts strictly increasing among counts, percentages among percentages. */
const waveProblems = (waves: readonly WaveSize[] | undefined): string[] => {
  if (!waves) return [];
  const problems: string[] = [];
  let lastCount = 0;
  let lastPercent = 0;
  waves.forEach((w, i) => {
    if (typeof w === 'number') {
      if (w <= lastCount)
        problems.push(`spec.rollout.waves[${i}]: must be larger than ${lastCount}`);
      lastCount = w;
    } else {
      const p = Number(w.slice(0, -1));
      if (p <= lastPercent) {
        problems.push(`spec.rollout.waves[${i}]: must be larger than ${lastPercent}%`);
      }
      lastPercent = p;
    }
  });
  return problems;
};

/**
 * Parses a policy given as YAML text or as an already-parsed object. Returns the policy, or every
 * problem found (YAML syntax errors name line and column).
 */
export const parsePolicyDocument = (input: unknown): Result<Policy, string[]> => {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = parseYaml(input, { prettyErrors: true }) as unknown;
    } catch (error) {
      return err([
        `(document): not valid YAML: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return err(['(document): expected a TracingPolicy object']);
  }
  const parsed = POLICY_SCHEMA.safeParse(value);
  if (!parsed.success) {
    const problems = listIssues(parsed.error);
    const raw = (value as { spec?: { rollout?: { waves?: unknown } } }).spec?.rollout?.waves;
    if (Array.isArray(raw) && raw.every((w) => wave.safeParse(w).success)) {
      problems.push(...waveProblems(raw as WaveSize[]));
    }
    return err(problems);
  }
  const problems = waveProblems(parsed.data.spec.rollout?.waves);
  return problems.length > 0 ? err(problems) : ok(parsed.data);
};
