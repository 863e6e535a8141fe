/**
 * Files that survive a crash or a power cut: a whole-file write goes to a temp file in the same
 * directory, is fsynced, renamed over the target and the directory fsynced, so the target holds
 * the old content or the new, never a part. Appends are fdatasynced before the call returns. A
 * JSON-lines file read back cuts a torn last line (a crash mid-append) and stops at a corrupt
 * line in the middle, reporting where.
 */
import {
  fchmodSync,
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** the temp file a durable write of `file` goes through (a leftover one is a crash's) */
const TEMP_SUFFIX = '.tmp-durable';
const tempOf = (file: string): string => join(dirname(file), `.${basename(file)}${TEMP_SUFFIX}`);

const fsyncDir = (dir: string): void => {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/**
 * Writes `data` to `file` so that a crash leaves the old content or the new, never a part.
 * `mode` (e.g. 0o600 for a secret) is set on the temp file before any byte is written.
 */
export const writeFileDurably = (
  file: string,
  data: string | Uint8Array,
  options: { readonly mode?: number } = {},
): void => {
  const tmp = tempOf(file);
  const fd = openSync(tmp, 'w', options.mode ?? 0o666);
  try {
    if (options.mode !== undefined) fchmodSync(fd, options.mode);
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDir(dirname(file));
};

/** Appends `data` to `file` (created if missing) and fdatasyncs it before returning. */
export const appendFileDurably = (file: string, data: string): void => {
  const created = !existsSync(file);
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, data);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) fsyncDir(dirname(file));
};

/** Flushes what earlier plain appends to `file` left in the page cache (nothing if it is gone). */
export const syncFile = (file: string): void => {
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/** Removes the temp files crashed durable writes left in `dir`; returns their names. */
export const removeStaleTempFiles = (dir: string): readonly string[] => {
  const stale = readdirSync(dir).filter((n) => n.startsWith('.') && n.endsWith(TEMP_SUFFIX));
  for (const name of stale) rmSync(join(dir, name), { force: true });
  return stale;
};

export interface JsonLinesRead<T> {
  readonly values: readonly T[];
  /** a last line that did not parse was cut off the file at this byte offset */
  readonly tornTailAt?: number;
  /** a line before the last did not parse: `values` holds the lines before it */
  readonly corrupt?: { readonly line: number; readonly offset: number; readonly reason: string };
}

/**
 * Reads a JSON-lines file (missing: no values). A last line that does not decode, the trace of
 * a crash mid-append, is truncated away durably and reported as `tornTailAt`. A line before the
 * last that does not decode is not guessed past: reading stops there, `corrupt` says where (line
 * numbers from 1) and the file is left as it is for the caller to decide.
 */
export const readJsonLines = <T>(file: string, decode: (line: string) => T): JsonLinesRead<T> => {
  if (!existsSync(file)) return { values: [] };
  const bytes = readFileSync(file);
  const values: T[] = [];
  let offset = 0;
  let line = 0;
  while (offset < bytes.length) {
    const nl = bytes.indexOf(0x0a, offset);
    const end = nl < 0 ? bytes.length : nl;
    line += 1;
    const text = bytes.subarray(offset, end).toString('utf8');
    const last = nl < 0 || nl === bytes.length - 1;
    if (text.trim() !== '') {
      try {
        values.push(decode(text));
      } catch (error) {
        if (last) {
          truncateSync(file, offset);
          syncFile(file);
          return { values, tornTailAt: offset };
        }
        const reason = error instanceof Error ? error.message : String(error);
        return { values, corrupt: { line, offset, reason } };
      }
    }
    if (nl < 0) {
      // a complete value without its newline: the append was cut after it; end the line
      appendFileDurably(file, '\n');
      break;
    }
    offset = nl + 1;
  }
  return { values };
};
