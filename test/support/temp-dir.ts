import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  /** a path inside the directory */
  readonly file: (name: string) => string;
  readonly remove: () => void;
}

/** A fresh directory under the OS temp dir, removed by `remove()`. */
export const makeTempDir = (prefix = 'tramway-'): TempDir => {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file: (name) => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
};
