/** Durable writes and JSON-lines reads on a real temp directory. */
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  appendFileDurably,
  readJsonLines,
  removeStaleTempFiles,
  writeFileDurably,
} from '../../../shared/src/infra/durable-file.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  return { ...real, renameSync: vi.fn(real.renameSync), fsyncSync: vi.fn(real.fsyncSync) };
});

describe('writeFileDurably', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir('tramway-durable-');
    vi.mocked(fs.renameSync).mockClear();
    vi.mocked(fs.fsyncSync).mockClear();
  });
  afterEach(() => dir.remove());

  it('writes a temp file in the same directory, fsyncs it, renames it over the target and fsyncs the directory', () => {
    const target = dir.file('state.json');
    fs.writeFileSync(target, 'old');
    writeFileDurably(target, 'new');
    expect(fs.readFileSync(target, 'utf8')).toBe('new');
    const renames = vi.mocked(fs.renameSync).mock.calls;
    expect(renames).toEqual([[dir.file('.state.json.tmp-durable'), target]]);
    // the file before the rename, the directory after it
    expect(fs.fsyncSync).toHaveBeenCalledTimes(2);
    expect(fs.readdirSync(dir.path)).toEqual(['state.json']);
  });

  it('leaves the old content when the write fails before the rename, and the temp file is cleaned on the next open', () => {
    const target = dir.file('state.json');
    fs.writeFileSync(target, 'old');
    vi.mocked(fs.renameSync).mockImplementationOnce(() => {
      throw new Error('crash before the rename');
    });
    expect(() => writeFileDurably(target, 'new')).toThrow('crash before the rename');
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    expect(removeStaleTempFiles(dir.path)).toEqual(['.state.json.tmp-durable']);
    expect(fs.readdirSync(dir.path)).toEqual(['state.json']);
  });

  it('overwrites a partial temp file a crash left behind', () => {
    const target = dir.file('state.json');
    fs.writeFileSync(dir.file('.state.json.tmp-durable'), '{"half":');
    writeFileDurably(target, '{"whole":true}');
    expect(fs.readFileSync(target, 'utf8')).toBe('{"whole":true}');
    expect(fs.readdirSync(dir.path)).toEqual(['state.json']);
  });
});

describe('readJsonLines', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir('tramway-jsonl-');
  });
  afterEach(() => dir.remove());
  const parse = (line: string): unknown => JSON.parse(line);

  it('reads appended lines; a missing file has none', () => {
    const file = dir.file('log.jsonl');
    expect(readJsonLines(file, parse)).toEqual({ values: [] });
    appendFileDurably(file, '{"a":1}\n');
    appendFileDurably(file, '{"a":2}\n');
    expect(readJsonLines(file, parse)).toEqual({ values: [{ a: 1 }, { a: 2 }] });
  });

  it('cuts a torn last line off the file and says at which byte offset', () => {
    const file = dir.file('log.jsonl');
    fs.writeFileSync(file, '{"a":1}\n{"a":2}\n{"a":');
    expect(readJsonLines(file, parse)).toEqual({ values: [{ a: 1 }, { a: 2 }], tornTailAt: 16 });
    expect(fs.readFileSync(file, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    appendFileDurably(file, '{"a":3}\n');
    expect(readJsonLines(file, parse).values).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
  });

  it('ends a last line whose newline was not written, so the next append starts a line', () => {
    const file = dir.file('log.jsonl');
    fs.writeFileSync(file, '{"a":1}');
    expect(readJsonLines(file, parse)).toEqual({ values: [{ a: 1 }] });
    appendFileDurably(file, '{"a":2}\n');
    expect(readJsonLines(file, parse).values).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('stops at a corrupt line before the last, saying which, and leaves the file alone', () => {
    const file = dir.file('log.jsonl');
    const text = '{"a":1}\nnot json\n{"a":3}\n';
    fs.writeFileSync(file, text);
    expect(readJsonLines(file, parse)).toEqual({
      values: [{ a: 1 }],
      corrupt: { line: 2, offset: 8, reason: expect.any(String) as string },
    });
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });
});
