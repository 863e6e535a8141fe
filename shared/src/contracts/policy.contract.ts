import { LineCounter, parseAllDocuments } from 'yaml';
import type { Result } from '../lib/result.js';
import { err } from '../lib/result.js';
import { MAX_NESTING_DEPTH, nestingExceeds } from '../lib/nesting-depth.js';
import { validatePolicy } from '../domain/policy/policy.validate.js';
import type { Policy, PolicyProblem } from '../domain/policy/policy.types.js';

/** Most alias expansions a policy's YAML may make (an alias bomb grows exponentially). */
export const MAX_ALIAS_COUNT = 100;

/**
 * Parses a policy from YAML (or JSON) text, or takes an already decoded object, and validates it
 * (`validatePolicy`): every problem with its path. A YAML syntax error is one problem with its
 * line and column; several documents in one text are refused. Hostile text is a problem too:
 * flow nesting deeper than `MAX_NESTING_DEPTH`, more than `MAX_ALIAS_COUNT` alias expansions.
 */
export const parsePolicy = (input: unknown): Result<Policy, readonly PolicyProblem[]> => {
  if (typeof input !== 'string') return validatePolicy(input);
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
  return validatePolicy(decoded);
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
