/**
 * A log file bounded in size: lines are appended synchronously to `path`; when the next line
 * would take it over `maxBytes`, it becomes `path.1` (replacing the previous one) and a new
 * `path` starts. At most about 2 x `maxBytes` on disk, the newest lines always kept.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogSink } from './logger.js';

export const DEFAULT_LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;

export interface LogFile extends LogSink {
  readonly path: string;
  /** closes the file; later lines are dropped */
  close(): void;
}

export const openLogFile = (path: string, maxBytes = DEFAULT_LOG_FILE_MAX_BYTES): LogFile => {
  if (!Number.isInteger(maxBytes) || maxBytes < 1024)
    throw new RangeError(`log file limit ${maxBytes} is not an integer >= 1024 bytes`);
  mkdirSync(dirname(path), { recursive: true });
  let fd: number | undefined = openSync(path, 'a', 0o600);
  let size = fstatSync(fd).size;
  let closed = false;
  return {
    path,
    write: (line) => {
      if (closed) return;
      const bytes = Buffer.from(line, 'utf8');
      // a full disk or a removed directory must not fail the code that logs: the line is lost
      try {
        if (size > 0 && size + bytes.length > maxBytes) {
          if (fd !== undefined) closeSync(fd);
          fd = undefined;
          renameSync(path, `${path}.1`);
          fd = openSync(path, 'a', 0o600);
          size = 0;
        }
        // reopened here when a rotation failed half-way
        fd ??= openSync(path, 'a', 0o600);
        writeSync(fd, bytes);
        size += bytes.length;
      } catch {
        // nothing to report it to
      }
    },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      closed = true;
    },
  };
};
