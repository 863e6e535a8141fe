import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  ErrorInjectionEntry,
  KallsymsTable,
  ProcModule,
  TraceableFunction,
} from './proc-text.parsers.js';
import {
  parseAvailableFilterFunctions,
  parseErrorInjectionList,
  parseKallsyms,
  parseProcModules,
} from './proc-text.parsers.js';

export const HostSource = {
  Release: 'release',
  BootId: 'boot-id',
  VmlinuxBtf: 'vmlinux-btf',
  ModuleBtf: 'module-btf',
  Kallsyms: 'kallsyms',
  Modules: 'modules',
  ErrorInjection: 'error-injection',
  TraceableFunctions: 'traceable-functions',
} as const;
export type HostSource = (typeof HostSource)[keyof typeof HostSource];

/** Something the reader could not read or understand, and why. Never an exception. */
export interface HostUnreadable {
  readonly source: HostSource;
  readonly path: string;
  readonly reason: string;
}

export interface HostBtfBlob {
  /** `vmlinux` or the module name (the file name under /sys/kernel/btf) */
  readonly name: string;
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Raw facts about the host's kernel: file contents, parsed where they are text. */
export interface HostKernelFacts {
  readonly root: string;
  readonly release?: string;
  readonly bootId?: string;
  readonly vmlinuxBtf?: HostBtfBlob;
  readonly moduleBtfs: readonly HostBtfBlob[];
  readonly kallsyms?: KallsymsTable;
  readonly modules?: readonly ProcModule[];
  readonly errorInjection?: readonly ErrorInjectionEntry[];
  readonly traceable?: readonly TraceableFunction[];
  readonly unreadable: readonly HostUnreadable[];
}

export interface HostReadOptions {
  /** file-system root to read under (default `/`); tests point it at a fixture directory */
  readonly root?: string;
  /** skip /proc/kallsyms (122k lines) when only BTF is wanted */
  readonly skipKallsyms?: boolean;
  /**
   * read the BTF blobs only (what `tramway kernel functions` lists): no kallsyms, /proc/modules,
   * error-injection or ftrace lists, whose reading and parsing it would throw away
   */
  readonly btfOnly?: boolean;
}

/** Where each fact lives, relative to the root. */
export const HOST_PATHS = {
  release: 'proc/sys/kernel/osrelease',
  bootId: 'proc/sys/kernel/random/boot_id',
  btfDir: 'sys/kernel/btf',
  kallsyms: 'proc/kallsyms',
  modules: 'proc/modules',
  errorInjection: ['sys/kernel/debug/error_injection/list'],
  traceable: [
    'sys/kernel/tracing/available_filter_functions',
    'sys/kernel/debug/tracing/available_filter_functions',
  ],
} as const;

const describeError = (error: unknown): string => {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'ENOENT: does not exist';
    case 'EACCES':
    case 'EPERM':
      return `${e.code}: permission denied`;
    case 'EISDIR':
      return 'EISDIR: is a directory';
    default:
      return e.code ? `${e.code}: ${e.message}` : String(error);
  }
};

type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

const tryRead = async <T>(load: () => Promise<T>): Promise<Read<T>> => {
  try {
    return { ok: true, value: await load() };
  } catch (error) {
    return { ok: false, reason: describeError(error) };
  }
};

const badLinesReason = (bad: readonly { line: number; text: string }[]): string =>
  `${bad.length} line(s) not understood, first at line ${bad[0]!.line}: ${JSON.stringify(bad[0]!.text.slice(0, 80))}`;

/**
 * Reads what the host tells about its kernel: release, boot id, vmlinux and module BTF blobs,
 * kallsyms, /proc/modules, the error-injection list and the ftrace-able function list.
 * Whatever cannot be read is listed in `unreadable` with the reason; it never throws for I/O.
 */
export const readHostKernel = async (options: HostReadOptions = {}): Promise<HostKernelFacts> => {
  const root = options.root ?? '/';
  const at = (rel: string): string => join(root, rel);
  const unreadable: HostUnreadable[] = [];
  const miss = (source: HostSource, path: string, reason: string): void => {
    unreadable.push({ source, path, reason });
  };

  const text = (rel: string): Promise<Read<string>> => tryRead(() => readFile(at(rel), 'utf8'));

  const [release, bootId, btfList, kallsyms, modules] = await Promise.all([
    text(HOST_PATHS.release),
    text(HOST_PATHS.bootId),
    tryRead(() => readdir(at(HOST_PATHS.btfDir))),
    options.skipKallsyms || options.btfOnly
      ? Promise.resolve(undefined)
      : text(HOST_PATHS.kallsyms),
    options.btfOnly ? Promise.resolve(undefined) : text(HOST_PATHS.modules),
  ]);

  const facts: {
    -readonly [K in keyof HostKernelFacts]: HostKernelFacts[K];
  } = { root, moduleBtfs: [], unreadable };

  if (release.ok) facts.release = release.value.trim();
  else miss('release', at(HOST_PATHS.release), release.reason);
  if (bootId.ok) facts.bootId = bootId.value.trim();
  else miss('boot-id', at(HOST_PATHS.bootId), bootId.reason);

  if (!btfList.ok) miss('vmlinux-btf', at(HOST_PATHS.btfDir), btfList.reason);
  else {
    const names = [...btfList.value].sort();
    if (!names.includes('vmlinux'))
      miss('vmlinux-btf', at(join(HOST_PATHS.btfDir, 'vmlinux')), 'ENOENT: does not exist');
    const blobs = await Promise.all(
      names.map(async (name) => {
        const path = at(join(HOST_PATHS.btfDir, name));
        // read synchronously: sysfs hands out a BTF blob 4 KiB per read(), and each async read
        // is a round trip through the thread pool (measured on a 5.5 MB vmlinux: 116 ms in
        // 1,347 reads async, 8 ms sync)
        const r = await tryRead(() => Promise.resolve(readFileSync(path)));
        return { name, path, r };
      }),
    );
    const moduleBtfs: HostBtfBlob[] = [];
    for (const { name, path, r } of blobs) {
      const source = name === 'vmlinux' ? 'vmlinux-btf' : 'module-btf';
      if (!r.ok) miss(source, path, r.reason);
      else {
        const blob = {
          name,
          path,
          bytes: new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength),
        };
        if (name === 'vmlinux') facts.vmlinuxBtf = blob;
        else moduleBtfs.push(blob);
      }
    }
    facts.moduleBtfs = moduleBtfs;
  }

  if (kallsyms) {
    if (!kallsyms.ok) miss('kallsyms', at(HOST_PATHS.kallsyms), kallsyms.reason);
    else {
      const parsed = parseKallsyms(kallsyms.value);
      facts.kallsyms = parsed.table;
      if (parsed.bad.length > 0)
        miss('kallsyms', at(HOST_PATHS.kallsyms), badLinesReason(parsed.bad));
      if (parsed.table.addressesHidden)
        miss(
          'kallsyms',
          at(HOST_PATHS.kallsyms),
          'all addresses read as 0 (kptr_restrict or no CAP_SYSLOG)',
        );
    }
  }

  // btfOnly: nothing else was read
  if (options.btfOnly || !modules) return facts;
  if (!modules.ok) miss('modules', at(HOST_PATHS.modules), modules.reason);
  else {
    const parsed = parseProcModules(modules.value);
    facts.modules = parsed.modules;
    if (parsed.bad.length > 0) miss('modules', at(HOST_PATHS.modules), badLinesReason(parsed.bad));
  }

  const firstReadable = async (
    source: HostSource,
    candidates: readonly string[],
  ): Promise<string | undefined> => {
    const reasons: string[] = [];
    for (const rel of candidates) {
      const r = await text(rel);
      if (r.ok) return r.value;
      reasons.push(candidates.length > 1 ? `${at(rel)}: ${r.reason}` : r.reason);
    }
    miss(source, candidates.map(at).join(' | '), reasons.join('; '));
    return undefined;
  };

  const injection = await firstReadable('error-injection', HOST_PATHS.errorInjection);
  if (injection !== undefined) {
    const parsed = parseErrorInjectionList(injection);
    facts.errorInjection = parsed.entries;
    if (parsed.bad.length > 0)
      miss('error-injection', at(HOST_PATHS.errorInjection[0]), badLinesReason(parsed.bad));
  }
  const traceable = await firstReadable('traceable-functions', HOST_PATHS.traceable);
  if (traceable !== undefined) {
    const parsed = parseAvailableFilterFunctions(traceable);
    facts.traceable = parsed.functions;
    if (parsed.bad.length > 0)
      miss('traceable-functions', at(HOST_PATHS.traceable[0]), badLinesReason(parsed.bad));
  }
  return facts;
};
