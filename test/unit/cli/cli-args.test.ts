import { describe, expect, it } from 'vitest';
import { fileReadProblem, parsedArgs, positionalsOf } from '../../../services/cli/src/cli-args.js';

describe('parsedArgs (the parsed command line, as commands receive it)', () => {
  it('keys options by long name and turns --json into -o json', () => {
    const sut = parsedArgs({ positionals: ['p'], values: { '--db': 'a' }, flags: ['--json'] });
    expect([sut.positionals, [...sut.values], sut.output]).toEqual([
      ['p'],
      [['--db', 'a']],
      'json',
    ]);
    expect(parsedArgs({ output: 'json' }).flags.has('--json')).toBe(true);
    expect(parsedArgs().output).toBe('table');
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
