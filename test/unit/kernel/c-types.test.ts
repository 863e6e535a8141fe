import { describe, expect, it } from 'vitest';
import {
  C_BUILTIN_TYPEDEFS,
  C_INT_TYPES,
  formatTypeExpression,
  parseTypeExpression,
} from '@tramway/shared/kernel';

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

describe('C type tables', () => {
  it('give every built-in typedef an integer type of vmlinux', () => {
    for (const [name, target] of C_BUILTIN_TYPEDEFS)
      expect([name, C_INT_TYPES.has(target)]).toEqual([name, true]);
  });
  it('list the documented integer sizes', () => {
    expect([...C_INT_TYPES].filter(([, t]) => t.spelled).map(([n, t]) => `${n}:${t.size}`)).toEqual(
      [
        '_Bool:1',
        'char:1',
        'unsigned char:1',
        'short:2',
        'unsigned short:2',
        'int:4',
        'unsigned int:4',
        'long:8',
        'unsigned long:8',
        'long long:8',
        'unsigned long long:8',
      ],
    );
  });
});
