/**
 * The listing cache of `tramway kernel functions --json`: the JSON of a given set of BTF blobs,
 * made by a given build of the CLI, is made once and kept. A later run that finds the same
 * identity copies the kept listing out instead of decoding the BTF again (about 0.4 s of
 * JavaScript on a 5.5 MB vmlinux).
 *
 * An entry's identity names everything that decides its bytes: the code that wrote it (the
 * bundle's build id, a hash of the built chunks: an edited source or a rebuilt bundle never
 * reads an older listing), the listing's mode, and the blobs, either
 * - by content: the sha256 of every blob's name and bytes (`--btf` files, a `--root` tree), or
 * - for the running kernel's own /sys/kernel/btf (checked to be sysfs): the boot id, and each
 *   file's name, size, inode and mtime in ns. The kernel makes those files read-only and never
 *   changes one in place: a module's BTF file is created at its load and removed at its unload,
 *   so a reloaded module is a new inode with a new mtime, and vmlinux's lives as long as the boot.
 *   So the bin can recognise a kept listing without reading or hashing the BTF.
 * The identity is the entry's first line and is compared whole on every read (the file name is
 * only a short hash of it); an entry whose length is not the one its name gives is ignored and
 * rewritten; entries are written to a temporary name and renamed, so a reader sees a whole file
 * or none; at most `MAX_ENTRIES` are kept. The sources run through tsx (no build id) never use
 * it. `--no-cache` or TRAMWAY_NO_CACHE=1 turns it off; TRAMWAY_CACHE_DIR moves it (default
 * $XDG_CACHE_HOME/tramway or ~/.cache/tramway).
 *
 * This module is also the bin's fast path (`serveKeptHostFunctions`): for exactly `tramway
 * kernel functions --json` on the host, bin/tramway.js asks it first, before the command parser
 * and the command tree load, and starts the CLI proper only on a miss. It imports nothing but
 * node:fs, which the bin has loaded already.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';

/** Kept listings (one per kernel and build, typically one or two). */
export const MAX_ENTRIES = 8;
/** The longest identity line read back (a host with hundreds of module BTF files fits). */
const MAX_IDENTITY = 256 * 1024;
const SYSFS_MAGIC = 0x62656572;

type Env = Readonly<Record<string, string | undefined>>;

/** The cache folder, or undefined when the cache is off (TRAMWAY_NO_CACHE=1) or has no home. */
export const functionsCacheDir = (env: Env): string | undefined => {
  if (env.TRAMWAY_NO_CACHE === '1') return undefined;
  if (env.TRAMWAY_CACHE_DIR) return `${env.TRAMWAY_CACHE_DIR}/functions`;
  if (env.XDG_CACHE_HOME) return `${env.XDG_CACHE_HOME}/tramway/functions`;
  return env.HOME ? `${env.HOME}/.cache/tramway/functions` : undefined;
};

/**
 * The identity of the host's BTF listing from file metadata (see above), or undefined when
 * `/sys/kernel/btf` under `root` is not the running kernel's sysfs or has no vmlinux (the
 * listing is then identified by content).
 */
export const sysfsBtfIdentity = (root: string): string | undefined => {
  if (root !== '/') return undefined;
  const dir = '/sys/kernel/btf';
  try {
    if (statfsSync(dir).type !== SYSFS_MAGIC) return undefined;
    const names = readdirSync(dir).sort();
    if (!names.includes('vmlinux')) return undefined;
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
    const files = names.map((name) => {
      const s = statSync(`${dir}/${name}`, { bigint: true });
      return `${name}:${s.size}:${s.ino}:${s.mtimeNs}`;
    });
    return `sysfs boot=${boot} ${files.join(' ')}`;
  } catch {
    return undefined;
  }
};

/** The whole identity line of an entry. */
export const listingIdentity = (buildId: string, mode: string, blobs: string): string =>
  `tramway kernel functions --json; build ${buildId}; mode ${mode}; ${blobs}`;

/** FNV-1a, 64-bit, as 16 hex digits: a file name for an identity (compared whole on read). */
const shortHash = (text: string): string => {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
};

/**
 * Opens the kept listing for `identity`: its file descriptor, where the listing starts and its
 * length, or undefined (none kept, another identity under the same short name, a truncated
 * entry). The caller closes the descriptor.
 */
const openListing = (
  dir: string,
  identity: string,
): { fd: number; start: number; length: number } | undefined => {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const prefix = `${shortHash(identity)}-`;
  const name = names.find((n) => n.startsWith(prefix) && n.endsWith('.json'));
  if (name === undefined) return undefined;
  const length = Number(name.slice(prefix.length, -'.json'.length));
  const head = Buffer.from(`${identity}\n`, 'latin1');
  if (!Number.isSafeInteger(length) || head.length > MAX_IDENTITY) return undefined;
  let fd: number;
  try {
    fd = openSync(`${dir}/${name}`, 'r');
  } catch {
    return undefined;
  }
  try {
    const seen = Buffer.alloc(head.length);
    if (
      readSync(fd, seen, 0, head.length, 0) === head.length &&
      seen.equals(head) &&
      statSync(`${dir}/${name}`).size === head.length + length
    )
      return { fd, start: head.length, length };
  } catch {
    // unreadable: a miss
  }
  closeSync(fd);
  return undefined;
};

/**
 * Writes the kept listing for `identity` through `write` in chunks and returns true, or returns
 * false having written nothing (no such entry).
 */
export const copyListing = (
  dir: string,
  identity: string,
  write: (bytes: Uint8Array) => void,
): boolean => {
  const entry = openListing(dir, identity);
  if (entry === undefined) return false;
  try {
    const chunk = 4 << 20;
    for (let at = 0; at < entry.length;) {
      const buf = Buffer.allocUnsafe(Math.min(chunk, entry.length - at));
      const n = readSync(entry.fd, buf, 0, buf.length, entry.start + at);
      if (n <= 0) throw new Error('the kept listing ended early');
      // each chunk its own buffer: `write` may keep it (an asynchronous stream)
      write(n === buf.length ? buf : buf.subarray(0, n));
      at += n;
    }
  } finally {
    closeSync(entry.fd);
  }
  return true;
};

/**
 * Keeps `chunks` as the listing for `identity`: written beside, renamed into place, then the
 * oldest entries beyond `MAX_ENTRIES` removed. Returns the problem instead of throwing: a cache
 * that cannot be written (read-only home, full disk) costs the next run its speed, nothing else.
 */
export const keepListing = (
  dir: string,
  identity: string,
  chunks: readonly Uint8Array[],
): string | undefined => {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const head = Buffer.from(`${identity}\n`, 'latin1');
    if (head.length > MAX_IDENTITY) return 'identity too long';
    const length = chunks.reduce((n, c) => n + c.length, 0);
    const name = shortHash(identity);
    const temp = `${dir}/.${name}.${process.pid}.tmp`;
    writeFileSync(temp, Buffer.concat([head, ...chunks]), { mode: 0o600 });
    for (const n of readdirSync(dir))
      if (n.startsWith(`${name}-`) && n.endsWith('.json')) unlinkSync(`${dir}/${n}`);
    renameSync(temp, `${dir}/${name}-${length}.json`);
    const kept = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => ({ n, t: statSync(`${dir}/${n}`).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { n } of kept.slice(MAX_ENTRIES)) unlinkSync(`${dir}/${n}`);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
};

/**
 * The bin's fast path for `tramway kernel functions --json` on the host: writes the kept
 * listing and returns true on a hit; returns false, having written nothing, on a miss or when
 * the cache is off or the host's BTF is not plain sysfs (the command then runs and says what).
 */
export const serveKeptHostFunctions = (
  buildId: string,
  env: Env,
  write: (bytes: Uint8Array) => void,
): boolean => {
  const dir = functionsCacheDir(env);
  const blobs = dir === undefined ? undefined : sysfsBtfIdentity('/');
  if (dir === undefined || blobs === undefined) return false;
  return copyListing(dir, listingIdentity(buildId, 'host', blobs), write);
};
