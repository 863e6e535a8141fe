import { BusInvalidSubjectError } from './fleet-bus.port.js';

const WHITESPACE = /\s/;

const checkTokens = (subject: string, allowWildcards: boolean): readonly string[] => {
  if (subject.length === 0) throw new BusInvalidSubjectError(subject, 'empty');
  if (WHITESPACE.test(subject)) throw new BusInvalidSubjectError(subject, 'contains whitespace');
  const tokens = subject.split('.');
  tokens.forEach((token, index) => {
    if (token.length === 0) {
      throw new BusInvalidSubjectError(subject, `token ${index + 1} is empty`);
    }
    const wildcard = token === '*' || token === '>';
    if (wildcard && !allowWildcards) {
      throw new BusInvalidSubjectError(subject, `wildcard "${token}" in a concrete subject`);
    }
    if (!wildcard && (token.includes('*') || token.includes('>'))) {
      throw new BusInvalidSubjectError(subject, `"*" and ">" must be whole tokens ("${token}")`);
    }
    if (token === '>' && index !== tokens.length - 1) {
      throw new BusInvalidSubjectError(subject, '">" must be the last token');
    }
  });
  return tokens;
};

/** Throws `BusInvalidSubjectError` unless `subject` is a concrete NATS subject (no wildcards). */
export const assertConcreteSubject = (subject: string): void => {
  checkTokens(subject, false);
};

/** Throws `BusInvalidSubjectError` unless `pattern` is a valid subject, wildcards allowed. */
export const assertSubjectPattern = (pattern: string): void => {
  checkTokens(pattern, true);
};

/**
 * NATS matching: `*` matches exactly one token, a final `>` one or more tokens. Both arguments are
 * assumed valid (`assertSubjectPattern`, `assertConcreteSubject`).
 */
export const subjectMatches = (pattern: string, subject: string): boolean => {
  // Most patterns (every responder's) are concrete: a string compare, no token split. The
  // in-process bus checks every handle per message, so this is its hot path.
  if (!pattern.includes('*') && !pattern.includes('>')) return pattern === subject;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
};
