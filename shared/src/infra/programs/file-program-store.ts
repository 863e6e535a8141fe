/**
 * The embedded program store: one file per object under a directory of the data dir, named by
 * its digest (`sha256-<hex>.bpf.o`), with its summary beside it (`sha256-<hex>.json`). Each file
 * is written durably (temp file, fsync, rename), the object before its summary, so a summary
 * always has its object; a crash between the two leaves an object without summary, which the
 * next put of the same bytes completes and `list` leaves out.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../durable-file.js';
import { err, ok } from '../../lib/result.js';
import type { ProgramStore, StoredProgramObject } from './program-store.port.js';
import {
  MAX_PROGRAM_OBJECT_BYTES,
  PROGRAM_DIGEST,
  checkProgramObject,
  summarize,
} from './program-store.port.js';

const SUMMARY = /^sha256-([0-9a-f]{64})\.json$/;

const fileOf = (dir: string, digest: string, ext: 'bpf.o' | 'json'): string =>
  join(dir, `${digest.replace(':', '-')}.${ext}`);

export const openFileProgramStore = (
  dir: string,
  options: { readonly maxBytes?: number } = {},
): ProgramStore => {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const maxBytes = options.maxBytes ?? MAX_PROGRAM_OBJECT_BYTES;
  const info = (digest: string): StoredProgramObject | undefined => {
    if (!PROGRAM_DIGEST.test(digest)) return undefined;
    const file = fileOf(dir, digest, 'json');
    if (!existsSync(file) || !existsSync(fileOf(dir, digest, 'bpf.o'))) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as StoredProgramObject;
  };
  return {
    put: (bytes, now) => {
      const checked = checkProgramObject(bytes, maxBytes);
      if (!checked.ok) return Promise.resolve(err(checked.error));
      const { digest } = checked.value;
      const known = info(digest);
      if (known !== undefined) return Promise.resolve(ok({ ...known, created: false }));
      const summary = summarize(digest, checked.value.info, now.toISOString());
      writeFileDurably(fileOf(dir, digest, 'bpf.o'), bytes, { mode: 0o644 });
      writeFileDurably(fileOf(dir, digest, 'json'), `${JSON.stringify(summary)}\n`);
      return Promise.resolve(ok({ ...summary, created: true }));
    },
    info: (digest) => Promise.resolve(info(digest)),
    get: (digest) => {
      if (!PROGRAM_DIGEST.test(digest)) return Promise.resolve(undefined);
      const file = fileOf(dir, digest, 'bpf.o');
      return Promise.resolve(existsSync(file) ? new Uint8Array(readFileSync(file)) : undefined);
    },
    list: () =>
      Promise.resolve(
        readdirSync(dir)
          .flatMap((name) => {
            const m = SUMMARY.exec(name);
            const found = m === null ? undefined : info(`sha256:${m[1]!}`);
            return found === undefined ? [] : [found];
          })
          .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0)),
      ),
    close: () => Promise.resolve(),
  };
};
