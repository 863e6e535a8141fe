import { describe, expect, it } from 'vitest';
import {
  formatTypeExpression,
  parseTypeExpression,
} from '../../../services/cli/src/scenario/type-expression.js';

const canonical = (text: string): string => {
  const parsed = parseTypeExpression(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return formatTypeExpression(parsed.value);
};

describe('parseTypeExpression', () => {
  it.each([
    ['int', 'int'],
    ['unsigned  long long', 'unsigned long long'],
    ['int*', 'int *'],
    ['char **', 'char **'],
    ['const volatile struct S2 *', 'const volatile struct S2 *'],
    ['enum E3', 'enum E3'],
    ['u32', 'u32'],
    ['void *', 'void *'],
  ])('reads %j as %j', (text, expected) => {
    expect(canonical(text)).toBe(expected);
  });

  it('classifies the base type', () => {
    expect(parseTypeExpression('const union U8 **')).toEqual({
      ok: true,
      value: { qualifiers: ['const'], base: { kind: 'union', name: 'U8' }, pointers: 2 },
    });
    expect(parseTypeExpression('size_t')).toMatchObject({
      value: { base: { kind: 'typedef', name: 'size_t' }, pointers: 0 },
    });
  });

  it.each([
    '',
    'const',
    'struct',
    'unsigned float',
    'signed char',
    'int[4]',
    'struct int',
    'int * const',
  ])('rejects %j', (text) => {
    expect(parseTypeExpression(text).ok).toBe(false);
  });
});
