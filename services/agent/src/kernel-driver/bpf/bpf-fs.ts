/**
 * bpffs: where the agent pins its programs and links so that they outlive the agent process
 * (ARCHITECTURE.md: "Links are pinned so that an agent restart keeps them"). IMPURE.
 *
 * Layout, one directory per node so that several agents (tests, a VM with more than one node)
 * never see each other's pins:
 *
 *   <root>/tramway/<node>/links/<link id>     a link (BPF_OBJ_PIN of its fd)
 *   <root>/tramway/<node>/progs/<prog id>     a program the agent still holds
 *
 * `<root>` is `/sys/fs/bpf` unless told otherwise; it is mounted (`mount -t bpf bpf <root>`)
 * when no bpffs is there (this host and a fresh initramfs boot without one, real-kernels.md).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SysResult } from './bpf-syscall.js';
import { mountFs, sysError } from './bpf-syscall.js';
import { objGet, objPin } from './bpf-commands.js';

export const DEFAULT_BPFFS = '/sys/fs/bpf';
const NODE_PART = /^[A-Za-z0-9_:@-]{1,128}$/;

/** The mount points of bpf file systems, from /proc/self/mounts. */
export const bpffsMounts = (mountsFile = '/proc/self/mounts'): string[] => {
  let text: string;
  try {
    text = readFileSync(mountsFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'bpf' && f[1] !== undefined)
    .map((f) => f[1]!.replace(/\\040/g, ' '));
};

/**
 * Makes sure a bpffs is mounted at `root`: `mounted` says whether this call mounted it. The
 * errno of a refused mount is returned (EPERM without CAP_SYS_ADMIN).
 */
export const ensureBpffs = (
  root: string = DEFAULT_BPFFS,
): SysResult<{ readonly root: string; readonly mounted: boolean }> => {
  if (bpffsMounts().includes(root)) return { ok: true, value: { root, mounted: false } };
  try {
    mkdirSync(root, { recursive: true });
  } catch (error) {
    return sysError(errnoOf(error));
  }
  const m = mountFs('bpf', root, 'bpf');
  return m.ok ? { ok: true, value: { root, mounted: true } } : m;
};

/** The pin directories of one node. */
export interface PinLayout {
  readonly root: string;
  readonly node: string;
  readonly links: string;
  readonly progs: string;
}

/** The layout of `node` under a mounted bpffs `root`; a node id outside `[A-Za-z0-9_:@-]` throws. */
export const pinLayout = (root: string, node: string): PinLayout => {
  if (!NODE_PART.test(node))
    throw new Error(`pin layout: node id '${node.slice(0, 40)}' is not [A-Za-z0-9_:@-]{1,128}`);
  const dir = join(root, 'tramway', node);
  return { root, node: dir, links: join(dir, 'links'), progs: join(dir, 'progs') };
};

/** Creates the layout's directories (bpffs allows mkdir). */
export const makePinDirs = (layout: PinLayout): SysResult<null> => {
  try {
    mkdirSync(layout.links, { recursive: true });
    mkdirSync(layout.progs, { recursive: true });
    return { ok: true, value: null };
  } catch (error) {
    return sysError(errnoOf(error));
  }
};

/** Pins `fd` as `dir/<id>`. */
export const pinAs = (dir: string, id: number, fd: number): SysResult<string> => {
  const path = join(dir, String(id));
  const r = objPin(fd, path);
  return r.ok ? { ok: true, value: path } : r;
};

/** Removes the pin `dir/<id>` (unlink on bpffs drops the pin's reference); ENOENT when none. */
export const unpin = (dir: string, id: number): SysResult<null> => {
  try {
    rmSync(join(dir, String(id)));
    return { ok: true, value: null };
  } catch (error) {
    return sysError(errnoOf(error));
  }
};

/** Whether `dir/<id>` is pinned. */
export const isPinned = (dir: string, id: number): boolean => existsSync(join(dir, String(id)));

/**
 * The pins under `dir` (the ids in their names) with a fresh fd of each; a pin whose object
 * cannot be opened is listed with its errno. Names that are not ids are ignored.
 */
export const openPins = (
  dir: string,
): { readonly id: number; readonly path: string; readonly fd: SysResult<number> }[] => {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^[1-9][0-9]{0,9}$/.test(n))
    .map((n) => ({ id: Number(n), path: join(dir, n), fd: objGet(join(dir, n)) }))
    .sort((a, b) => a.id - b.id);
};

const errnoOf = (error: unknown): number =>
  typeof error === 'object' && error !== null && 'errno' in error && typeof error.errno === 'number'
    ? Math.abs(error.errno)
    : 5;
