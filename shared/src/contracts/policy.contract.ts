import { LineCounter, parseAllDocuments } from 'yaml';
import type { Result } from '../lib/result.js';
import { err } from '../lib/result.js';
import { validatePolicy } from '../domain/policy/policy.validate.js';
import type { Policy, PolicyProblem } from '../domain/policy/policy.types.js';

/**
 * Parses a policy from YAML (or JSON) text, or takes an already decoded object, and validates it
 * (`validatePolicy`): every problem with its path. A YAML syntax error is one problem with its
 * line and column; several documents in one text are refused.
 */
export const parsePolicy = (input: unknown): Result<Policy, readonly PolicyProblem[]> => {
  if (typeof input !== 'string') return validatePolicy(input);
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
  return validatePolicy(doc.toJS({ maxAliasCount: 100 }));
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
