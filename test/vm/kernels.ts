/**
 * Debian kernels for the VM tier (issue 9 item 3; facts in ../shared/design/real-kernels.md).
 *
 * `fetchKernel(release)` downloads the kernel package of one Debian suite once into a cache
 * outside the repo (`TRAMWAY_KERNEL_CACHE`, default `~/.cache/tramway-kernels`), with a private apt
 * state (the system's sources and lists are left untouched; apt checks the package's SHA256
 * against the suite's signed Release file), and extracts an ELF `vmlinux` (with `.BTF`) from the
 * bzImage: qemu boots it directly with `-kernel`. A `manifest.json` beside it records the package,
 * its version and the sha256 of the .deb and of the vmlinux; the .deb is not kept.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type KernelRelease = '6.1' | '6.12' | '7.3';

export const KERNEL_RELEASES: readonly KernelRelease[] = ['6.1', '6.12', '7.3'];

interface KernelSource {
  readonly suite: string;
  /** the upstream version the package's name must start with, e.g. `7.3.4` or `6.1.0` */
  readonly versionPrefix: string;
}

const SOURCES: Record<KernelRelease, KernelSource> = {
  '6.1': { suite: 'bookworm', versionPrefix: '6.1.' },
  '6.12': { suite: 'bookworm-backports', versionPrefix: '6.12.' },
  '7.3': { suite: 'trixie-backports', versionPrefix: '7.3.4' },
};

const MIRROR = process.env.TRAMWAY_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** apt update plus a 110 MB download on a slow link */
const DOWNLOAD_TIMEOUT_MS = 15 * 60_000;

export interface Kernel {
  readonly release: KernelRelease;
  /** the Debian package the vmlinux came from, e.g. `linux-binary-7.3.4+deb13-amd64` */
  readonly package: string;
  readonly version: string;
  /** path of the ELF vmlinux in the cache */
  readonly vmlinux: string;
  readonly debSha256: string;
  readonly vmlinuxSha256: string;
}

export class KernelUnavailableError extends Error {
  override readonly name = 'KernelUnavailableError';
}

export const kernelCacheDir = (): string =>
  process.env.TRAMWAY_KERNEL_CACHE ?? join(homedir(), '.cache', 'tramway-kernels');

const sha256File = (path: string): string =>
  createHash('sha256').update(readFileSync(path)).digest('hex');

const run = (
  cmd: string,
  args: readonly string[],
  what: string,
  timeoutMs = DOWNLOAD_TIMEOUT_MS,
  cwd?: string,
): string => {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    cwd,
  });
  if (r.error) throw new KernelUnavailableError(`${what}: ${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = `${r.stderr}`.trim().split('\n').slice(-5).join('\n');
    throw new KernelUnavailableError(`${what}: ${cmd} exited ${r.status}: ${tail}`);
  }
  return r.stdout;
};

/** A private apt state for one suite: its own sources.list, lists and cache. */
const aptOptions = (dir: string, suite: string): string[] => {
  mkdirSync(join(dir, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  const list = join(dir, 'sources.list');
  writeFileSync(list, `deb [signed-by=${KEYRING}] ${MIRROR} ${suite} main\n`);
  return [
    '-o',
    `Dir::Etc::SourceList=${list}`,
    '-o',
    'Dir::Etc::SourceParts=/nonexistent',
    '-o',
    `Dir::State::Lists=${join(dir, 'lists')}`,
    '-o',
    `Dir::Cache=${join(dir, 'cache')}`,
    '-o',
    'Debug::NoLocking=1',
    '-o',
    'APT::Sandbox::User=root',
  ];
};

const compareVersions = (a: string, b: string): number => {
  const pa = a
    .split(/[^0-9]+/)
    .filter(Boolean)
    .map(Number);
  const pb = b
    .split(/[^0-9]+/)
    .filter(Boolean)
    .map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
};

const showField = (text: string, field: string): string | undefined =>
  new RegExp(`^${field}: (.*)$`, 'm').exec(text)?.[1]?.trim();

/**
 * The package holding the vmlinuz: the newest `linux-image-<version>-amd64` of the suite whose
 * version starts with the prefix; on trixie that package is a small meta package and the
 * kernel is in the `linux-binary-…` package it depends on.
 */
const resolvePackage = (opts: readonly string[], src: KernelSource): string => {
  const names = run('apt-cache', [...opts, 'pkgnames', 'linux-image-'], 'listing kernel packages')
    .split('\n')
    .map((n) => /^linux-image-(\d+\.\d+\.\d+(?:-\d+)?(?:\+deb\d+)?)-amd64$/.exec(n.trim()))
    .filter((m): m is RegExpExecArray => m !== null && m[1]!.startsWith(src.versionPrefix))
    .sort((a, b) => compareVersions(a[1]!, b[1]!));
  const newest = names.at(-1)?.[0];
  if (newest === undefined) {
    throw new KernelUnavailableError(
      `no linux-image-${src.versionPrefix}*-amd64 package in Debian ${src.suite} (${MIRROR})`,
    );
  }
  const show = run('apt-cache', [...opts, 'show', newest], `apt-cache show ${newest}`);
  const size = Number(showField(show, 'Size') ?? '0');
  if (size > 4 * 1024 * 1024) return newest;
  const binary = /(linux-binary-[^ ,]+)/.exec(showField(show, 'Depends') ?? '')?.[1];
  if (binary === undefined) {
    throw new KernelUnavailableError(
      `${newest} is ${size} bytes and names no linux-binary package`,
    );
  }
  return binary;
};

/**
 * The bzImage's compressed payload through the boot protocol's setup header (`setup_sects` at
 * 0x1f1, `payload_offset` at 0x248 and `payload_length` at 0x24c, relative to the protected-mode
 * code after the setup sectors), decompressed with zstd or xz by its magic.
 */
export const extractVmlinux = (bzImage: Uint8Array, out: string): void => {
  const buf = Buffer.from(bzImage.buffer, bzImage.byteOffset, bzImage.byteLength);
  if (buf.length < 0x260 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') {
    throw new KernelUnavailableError('vmlinuz is not a bzImage (no HdrS header)');
  }
  const setupSects = buf[0x1f1] === 0 ? 4 : buf[0x1f1]!;
  const start = (setupSects + 1) * 512 + buf.readUInt32LE(0x248);
  const length = buf.readUInt32LE(0x24c);
  if (start + length > buf.length) {
    throw new KernelUnavailableError(`bzImage payload ${start}+${length} beyond ${buf.length}`);
  }
  const payload = buf.subarray(start, start + length);
  const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
  const xzMagic = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  const tool = payload.subarray(0, 4).equals(zstdMagic)
    ? 'zstd'
    : payload.subarray(0, 6).equals(xzMagic)
      ? 'xz'
      : undefined;
  if (tool === undefined) {
    throw new KernelUnavailableError(
      `bzImage payload is neither zstd nor xz (starts ${payload.subarray(0, 6).toString('hex')})`,
    );
  }
  // the payload ends with the uncompressed size (4 bytes) after the stream; both tools stop at
  // the end of the stream and complain about it, so the exit status is not trusted: the ELF
  // magic and the section table are
  const r = spawnSync(tool, ['-dc', '-q'], { input: payload, maxBuffer: 1024 * 1024 * 1024 });
  const elf = r.stdout;
  if (!Buffer.isBuffer(elf) || elf.length < 64 || elf.toString('latin1', 0, 4) !== '\x7fELF') {
    throw new KernelUnavailableError(
      `${tool} did not give an ELF vmlinux: ${r.error?.message ?? `${r.stderr}`.trim()}`,
    );
  }
  if (elf.indexOf('.BTF\0') < 0) throw new KernelUnavailableError('vmlinux has no .BTF section');
  writeFileSync(out, elf);
};

const findFile = (dir: string, pattern: RegExp): string | undefined => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(p, pattern);
      if (found !== undefined) return found;
    } else if (pattern.test(entry.name)) return p;
  }
  return undefined;
};

const readManifest = (dir: string): Kernel | undefined => {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return undefined;
  const m = JSON.parse(readFileSync(path, 'utf8')) as Kernel;
  const vmlinux = join(dir, 'vmlinux');
  if (!existsSync(vmlinux) || statSync(vmlinux).size === 0) return undefined;
  return { ...m, vmlinux };
};

/**
 * The kernel of one release, from the cache or downloaded (once: later calls read the
 * manifest). Throws `KernelUnavailableError` naming what failed (no apt, no network, no such
 * package, not a bzImage).
 */
export const fetchKernel = (release: KernelRelease): Kernel => {
  const src = SOURCES[release];
  if (src === undefined) throw new KernelUnavailableError(`unknown kernel release ${release}`);
  const dir = join(kernelCacheDir(), release);
  const cached = readManifest(dir);
  if (cached !== undefined) return cached;
  mkdirSync(kernelCacheDir(), { recursive: true });
  const work = mkdtempSync(join(kernelCacheDir(), `.fetch-${release}-`));
  try {
    const opts = aptOptions(join(work, 'apt'), src.suite);
    run('apt-get', [...opts, '-qq', 'update'], `apt-get update for Debian ${src.suite}`);
    const pkg = resolvePackage(opts, src);
    const version = showField(
      run('apt-cache', [...opts, 'show', pkg], 'apt-cache show'),
      'Version',
    );
    run('apt-get', [...opts, '-qq', 'download', pkg], `apt-get download ${pkg}`, undefined, work);
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (deb === undefined) throw new KernelUnavailableError(`apt-get download ${pkg} left no .deb`);
    const root = join(work, 'root');
    run('dpkg-deb', ['-x', join(work, deb), root], `unpacking ${deb}`);
    const vmlinuz = findFile(root, /^vmlinuz/);
    if (vmlinuz === undefined) throw new KernelUnavailableError(`${deb} holds no vmlinuz`);
    const out = join(work, 'vmlinux');
    extractVmlinux(readFileSync(vmlinuz), out);
    const kernel: Kernel = {
      release,
      package: pkg,
      version: version ?? 'unknown',
      vmlinux: join(dir, 'vmlinux'),
      debSha256: sha256File(join(work, deb)),
      vmlinuxSha256: sha256File(out),
    };
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    renameSync(out, kernel.vmlinux);
    writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(kernel, null, 2)}\n`);
    return kernel;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};
