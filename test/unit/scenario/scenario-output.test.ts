import { describe, expect, it } from 'vitest';
import { toJson } from '../../../services/cli/src/scenario/scenario-runner.js';

describe('toJson', () => {
  it('prints safe bigints as numbers and larger ones as exact decimal strings', () => {
    const sut = toJson({
      small: 7n,
      maxSafe: 9007199254740991n,
      aboveSafe: 9007199254740992n,
      u64Max: 18446744073709551615n,
      negative: -22n,
      nested: [{ cookie: 1n }],
    });
    expect(JSON.parse(sut)).toEqual({
      small: 7,
      maxSafe: 9007199254740991,
      aboveSafe: '9007199254740992',
      u64Max: '18446744073709551615',
      negative: -22,
      nested: [{ cookie: 1 }],
    });
  });

  it('pretty-prints with the given indent and prints one line without it', () => {
    expect(toJson({ a: 1n }, 2)).toBe('{\n  "a": 1\n}');
    expect(toJson({ a: 1n })).toBe('{"a":1}');
  });
});
