/**
 * Booting a stock kernel under qemu (TCG) with an initramfs that carries busybox, node, libbpf
 * and koffi, running one command inside and reading its result lines off the serial console.
 * Facts and pitfalls: ../shared/design/real-kernels.md.
 *
 * - `buildInitramfs({ files })`: a zstd cpio made of a cached base part (busybox, the running
 *   node binary and the libraries ldd lists for it and for libbpf.so.1, koffi with only its
 *   linux_x64 binary) and a part with the given files under /opt/tramway; the base is built once
 *   per input digest into the kernel cache.
 * - `runInVm({ kernel, initramfs, command, timeoutMs })`: boots, runs `command` with sh in
 *   /opt/tramway, returns the `@@TRAMWAY {json}` lines it printed parsed, its exit status, and
 *   the serial log's tail; qemu is killed at the timeout.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelCacheDir } from './kernels.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** what the prefix of a result line is; the rest of the line is one JSON value */
export const RESULT_MARKER = '@@TRAMWAY ';
const EXIT_MARKER = '@@TRAMWAY-EXIT ';
const BOOT_MARKER = '@@TRAMWAY-BOOT ';

/** the tools the tier needs on the host, with the Debian package of each */
export const VM_TOOLS: readonly (readonly [string, string])[] = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['busybox', 'busybox-static'],
  ['cpio', 'cpio'],
  ['zstd', 'zstd'],
  ['apt-get', 'apt'],
  ['dpkg-deb', 'dpkg'],
  ['ldd', 'libc-bin'],
];

const which = (cmd: string): string | undefined => {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = join(dir, cmd);
    if (dir !== '' && existsSync(p)) return p;
  }
  return undefined;
};

/** Why the VM tier cannot run here (a missing tool, with its package), or undefined. */
export const vmTierUnavailable = (): string | undefined => {
  const missing = VM_TOOLS.filter(([cmd]) => which(cmd) === undefined);
  if (missing.length > 0) {
    return `missing ${missing.map(([c, p]) => `${c} (apt package ${p})`).join(', ')}`;
  }
  const busybox = which('busybox')!;
  const ldd = spawnSync('ldd', [busybox], { encoding: 'utf8' });
  if (!`${ldd.stdout}${ldd.stderr}`.includes('not a dynamic executable')) {
    return `${busybox} is dynamically linked: install busybox-static`;
  }
  if (!existsSync(LIBBPF)) return `missing ${LIBBPF} (apt package libbpf1)`;
  return undefined;
};

const LIBBPF = '/usr/lib/x86_64-linux-gnu/libbpf.so.1';

const sh = (cmd: string, args: readonly string[], opts: { cwd?: string; input?: Buffer } = {}) => {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    input: opts.input,
    maxBuffer: 1024 * 1024 * 1024,
    timeout: 300_000,
  });
  if (r.error || r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}: ${`${r.stderr}`.trim()}`}`,
    );
  }
  return r.stdout;
};

/** The shared libraries a dynamic ELF needs (ldd), as absolute paths, the loader included. */
const lddLibraries = (binary: string): string[] =>
  `${sh('ldd', [binary])}`
    .split('\n')
    .map((l) => /(?:=> )?(\/\S+) \(0x/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);

const copyInto = (stage: string, hostPath: string, guestPath = hostPath): void => {
  const dest = join(stage, guestPath);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(realpathSync(hostPath), dest);
};

/** cpio newc of everything under `stage`, owned by root */
const cpioOf = (stage: string): Buffer => {
  const list = `${sh('find', ['.', '-mindepth', '1'], { cwd: stage })}`;
  return sh('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--quiet'], {
    cwd: stage,
    input: Buffer.from(list),
  });
};

const zstd = (data: Buffer): Buffer => sh('zstd', ['-q', '-6', '-T1', '-c'], { input: data });

/** koffi without its docs and C headers; the binary is @koromix/koffi-linux-x64's. */
const koffiFilter = (src: string): boolean => !/\/koffi\/(doc|vendor)(\/|$)/.test(src);

const BASE_DIRS = ['bin', 'proc', 'sys', 'dev', 'tmp', 'run', 'root', 'opt/tramway'];

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
ulimit -l unlimited
echo "${BOOT_MARKER}$(uname -r)"
cd /opt/tramway
sh /tramway-cmd
echo "${EXIT_MARKER}$?"
poweroff -f
`;

/**
 * The base part: busybox, node and its libraries, libbpf.so.1 and its libraries, koffi, /init.
 * Cached under the kernel cache by the digest of what goes in.
 */
const basePart = (): string => {
  const node = realpathSync(process.execPath);
  const busybox = which('busybox')!;
  const libs = [...new Set([...lddLibraries(node), ...lddLibraries(LIBBPF)])];
  const koffi = join(ROOT, 'node_modules', 'koffi');
  const koffiNative = join(ROOT, 'node_modules', '@koromix', 'koffi-linux-x64');
  const inputs = [node, busybox, LIBBPF, ...libs].map((p) => {
    const s = statSync(p);
    return `${p}:${s.size}:${s.mtimeMs}`;
  });
  const koffiVersion = existsSync(koffi)
    ? (JSON.parse(readFileSync(join(koffi, 'package.json'), 'utf8')) as { version: string }).version
    : 'none';
  const key = createHash('sha256')
    .update([...inputs, koffiVersion, INIT].join('\n'))
    .digest('hex')
    .slice(0, 16);
  const dir = join(kernelCacheDir(), 'initramfs');
  const out = join(dir, `base-${key}.cpio.zst`);
  if (existsSync(out)) return out;
  const stage = mkdtempSync(join(tmpdir(), 'tramway-initramfs-'));
  try {
    for (const d of BASE_DIRS) mkdirSync(join(stage, d), { recursive: true });
    copyInto(stage, busybox, '/bin/busybox');
    copyInto(stage, node, '/bin/node');
    for (const lib of libs) copyInto(stage, lib);
    copyInto(stage, LIBBPF);
    if (existsSync(koffi)) {
      cpSync(koffi, join(stage, 'opt/tramway/node_modules/koffi'), {
        recursive: true,
        filter: koffiFilter,
      });
    }
    if (existsSync(koffiNative)) {
      const guest = join(stage, 'opt/tramway/node_modules/@koromix/koffi-linux-x64');
      mkdirSync(guest, { recursive: true });
      for (const f of ['package.json', 'index.js']) {
        if (existsSync(join(koffiNative, f))) copyFileSync(join(koffiNative, f), join(guest, f));
      }
      cpSync(join(koffiNative, 'linux_x64'), join(guest, 'linux_x64'), { recursive: true });
    }
    writeFileSync(join(stage, 'init'), INIT, { mode: 0o755 });
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${out}.tmp`, zstd(cpioOf(stage)));
    renameSync(`${out}.tmp`, out);
    return out;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
};

export interface InitramfsFile {
  /** path inside the guest, relative to /opt/tramway or absolute */
  readonly path: string;
  /** the file's bytes, or the host path to copy */
  readonly contents?: string | Uint8Array;
  readonly from?: string;
  readonly mode?: number;
}

/**
 * The initramfs for a run: the cached base part followed by a part holding `files` (the kernel
 * unpacks concatenated cpio archives in order). Returns the path of the image; `remove()` drops
 * it (the base stays cached).
 */
export const buildInitramfs = (opts: {
  readonly files: readonly InitramfsFile[];
}): { path: string; remove: () => void } => {
  const base = basePart();
  const stage = mkdtempSync(join(tmpdir(), 'tramway-initramfs-files-'));
  const outDir = mkdtempSync(join(tmpdir(), 'tramway-initrd-'));
  try {
    mkdirSync(join(stage, 'opt/tramway'), { recursive: true });
    for (const f of opts.files) {
      const dest = f.path.startsWith('/')
        ? join(stage, f.path)
        : join(stage, 'opt/tramway', f.path);
      mkdirSync(dirname(dest), { recursive: true });
      if (f.from !== undefined) copyFileSync(f.from, dest);
      else if (f.contents !== undefined) writeFileSync(dest, f.contents);
      else throw new Error(`initramfs file ${f.path}: neither contents nor from`);
      if (f.mode !== undefined) chmodSync(dest, f.mode);
    }
    const path = join(outDir, 'initrd.img');
    writeFileSync(path, Buffer.concat([readFileSync(base), zstd(cpioOf(stage))]));
    return { path, remove: () => rmSync(outDir, { recursive: true, force: true }) };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
};

export interface VmRun {
  /** the values of the `@@TRAMWAY {json}` lines, in order */
  readonly results: unknown[];
  /** the command's exit status, or null when the guest never reported one */
  readonly exitCode: number | null;
  /** `uname -r` inside the guest, or null when init never ran */
  readonly guestRelease: string | null;
  readonly timedOut: boolean;
  readonly elapsedMs: number;
  /** the serial log's last lines, for failure messages */
  readonly logTail: string;
}

const MAX_LOG = 4 * 1024 * 1024;
const MAX_RESULT_LINE = 1024 * 1024;

/**
 * The marker lines of a serial log: `@@TRAMWAY {json}` results (a line that is not JSON, or is
 * over 1 MiB, becomes `{ unparsable }` with its first 400 characters), the command's exit status,
 * `uname -r`. Kernel messages may precede a marker on its line.
 */
export const parseSerialLog = (
  log: string,
): Pick<VmRun, 'results' | 'exitCode' | 'guestRelease' | 'logTail'> => {
  const results: unknown[] = [];
  let exitCode: number | null = null;
  let guestRelease: string | null = null;
  for (const raw of log.split(/\r?\n/)) {
    const i = raw.indexOf('@@TRAMWAY');
    if (i < 0) continue;
    const line = raw.slice(i);
    if (line.startsWith(RESULT_MARKER)) {
      const body = line.slice(RESULT_MARKER.length);
      try {
        if (body.length > MAX_RESULT_LINE) throw new Error('too long');
        results.push(JSON.parse(body));
      } catch {
        results.push({ unparsable: body.slice(0, 400) });
      }
    } else if (line.startsWith(EXIT_MARKER)) {
      const code = Number(line.slice(EXIT_MARKER.length).trim());
      exitCode = Number.isInteger(code) ? code : null;
    } else if (line.startsWith(BOOT_MARKER)) guestRelease = line.slice(BOOT_MARKER.length).trim();
  }
  return { results, exitCode, guestRelease, logTail: log.split(/\r?\n/).slice(-40).join('\n') };
};

/**
 * Boots `kernel` (an ELF vmlinux) with `initramfs` and runs `command` (sh, cwd /opt/tramway).
 * Never rejects on a guest failure: the result says what happened; qemu is SIGKILLed at
 * `timeoutMs`.
 */
export const runInVm = (opts: {
  readonly kernel: string;
  readonly initramfs: string;
  readonly command: string;
  readonly timeoutMs: number;
  readonly memoryMb?: number;
}): Promise<VmRun> => {
  const cmdPart = mkdtempSync(join(tmpdir(), 'tramway-cmd-'));
  const stage = join(cmdPart, 'stage');
  mkdirSync(stage);
  writeFileSync(join(stage, 'tramway-cmd'), `${opts.command}\n`);
  const initrd = join(cmdPart, 'initrd.img');
  // the small uncompressed part first: the kernel reads it exactly, then the compressed parts
  writeFileSync(initrd, Buffer.concat([cpioOf(stage), readFileSync(opts.initramfs)]));
  const started = performance.now();
  const qemu = spawn(
    'qemu-system-x86_64',
    [
      '-accel',
      'tcg',
      '-smp',
      '1',
      '-m',
      String(opts.memoryMb ?? 768),
      '-nographic',
      '-no-reboot',
      '-kernel',
      opts.kernel,
      '-initrd',
      initrd,
      '-append',
      'console=ttyS0 panic=-1 quiet loglevel=4',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > MAX_LOG) log = log.slice(-MAX_LOG / 2);
  };
  qemu.stdout.on('data', append);
  qemu.stderr.on('data', append);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    qemu.kill('SIGKILL');
  }, opts.timeoutMs);
  return new Promise((resolve) => {
    let done = false;
    const finish = (spawnError?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      rmSync(cmdPart, { recursive: true, force: true });
      if (spawnError) log += `\nqemu: ${spawnError.message}`;
      resolve({ ...parseSerialLog(log), timedOut, elapsedMs: performance.now() - started });
    };
    qemu.on('error', (e) => finish(e));
    qemu.on('close', () => finish());
  });
};
