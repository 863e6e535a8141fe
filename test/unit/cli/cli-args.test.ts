import { describe, expect, it } from 'vitest';
import { fileReadProblem, positionalsOf, splitArgs } from '../../../services/cli/src/cli-args.js';
import { UsageError } from '../../../services/cli/src/cli-command.js';

describe('splitArgs (every tramway command family splits argv with it)', () => {
  const spec = { values: ['--db', '--file'], flags: ['--json'] };

  it('separates flags, `--x V` / `--x=V` values and positionals, in any order', () => {
    const sut = splitArgs(['p', '--db', 'a.sqlite', '--json', '--file=x.yaml', 'q'], spec);
    expect(sut.positionals).toEqual(['p', 'q']);
    expect([...sut.values]).toEqual([
      ['--db', 'a.sqlite'],
      ['--file', 'x.yaml'],
    ]);
    expect([...sut.flags]).toEqual(['--json']);
  });

  it('without short spellings a single-dash word is a positional; with them it is an option', () => {
    expect(splitArgs(['-x', '-'], spec).positionals).toEqual(['-x', '-']);
    const short = { ...spec, short: { '-f': '--file' } };
    expect(splitArgs(['-f', 'p.yaml', '-'], short)).toMatchObject({
      positionals: ['-'],
      values: new Map([['--file', 'p.yaml']]),
    });
    expect(() => splitArgs(['-x'], short)).toThrow("unknown option '-x'");
  });

  it.each([
    [['--nope'], "unknown option '--nope'"],
    [['--json=1'], "unknown option '--json=1'"],
    [['--db'], '--db needs a value'],
    [['--db='], '--db needs a value'],
    [['--db', '--json'], '--db needs a value'],
    [['--db', 'a', '--db=b'], '--db given twice'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => splitArgs(argv, spec)).toThrow(UsageError);
    expect(() => splitArgs(argv, spec)).toThrow(message);
  });

  it('names a missing value by the short spelling that was typed', () => {
    expect(() => splitArgs(['-f'], { values: ['--file'], short: { '-f': '--file' } })).toThrow(
      '-f needs a value',
    );
  });
});

describe('positionalsOf', () => {
  it('gives the positionals when their count fits, optional ones included', () => {
    expect(positionalsOf({ positionals: ['a', 'b'] }, ['X', 'Y'])).toEqual(['a', 'b']);
    expect(positionalsOf({ positionals: [] }, ['POLICY'], 1)).toEqual([]);
  });

  it('names the first missing positional and the first extra one', () => {
    expect(() => positionalsOf({ positionals: ['a'] }, ['NODE', 'MODULE'])).toThrow(
      'missing MODULE',
    );
    expect(() => positionalsOf({ positionals: ['a', 'b'] }, ['NODE'])).toThrow(
      "unexpected argument 'b'",
    );
  });
});

describe('fileReadProblem', () => {
  it.each([
    ['ENOENT', 'no such file'],
    ['EISDIR', 'is a directory, not a BTF file'],
    ['EACCES', 'permission denied'],
  ])('says %s as %j', (code, text) => {
    expect(fileReadProblem(Object.assign(new Error('raw'), { code }), 'a BTF file')).toBe(text);
  });

  it('falls back to the error message, or the thrown value itself', () => {
    expect(fileReadProblem(new Error('EIO: i/o error'), 'a policy file')).toBe('EIO: i/o error');
    expect(fileReadProblem('odd', 'a policy file')).toBe('odd');
  });
});
