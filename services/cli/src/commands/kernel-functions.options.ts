import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { ParsedBtf, ScannedBtf } from '@tramway/shared/btf';
import { parseBtf, scanBtf } from '@tramway/shared/btf';
import type { HostKernelFacts, HostUnreadable } from '@tramway/shared/host';
import { parseHostBtf, readHostKernel } from '@tramway/shared/host';
import type { SplitArgs } from '../cli-args.js';
import { fileReadProblem } from '../cli-args.js';
import type { CliIo } from '../cli-command.js';
import { UsageError } from '../cli-command.js';

/** The BTF objects a kernel command works on: a saved blob (`--btf`, `--base`) or the host's. */
export interface BtfSources {
  /** vmlinux (or the base / standalone file) first, then modules */
  readonly spaces: readonly ParsedBtf[];
  /**
   * With `scan`, the host's vmlinux BTF scanned rather than parsed (`spaces` is then empty):
   * for a listing that reads it once, see `scanBtf`
   */
  readonly scanned?: ScannedBtf;
  /** host facts when the host was read (absent for `--btf`) */
  readonly facts?: HostKernelFacts;
  readonly unreadable: readonly HostUnreadable[];
}

/** What a listing is made from: its blobs in name order, and how they were found. */
export interface ListingInput {
  /** `host` (every blob of /sys/kernel/btf), `file` (`--btf`), `split` (`--btf` on `--base`) */
  readonly mode: 'host' | 'file' | 'split';
  readonly blobs: readonly { readonly name: string; readonly bytes: Uint8Array }[];
}

/** A BTF file given on the command line, read but not parsed yet. */
interface GivenFile {
  readonly file: string;
  readonly name: string;
  readonly bytes: Uint8Array;
}

const readGiven = async (io: CliIo, file: string): Promise<GivenFile | undefined> => {
  try {
    const bytes = await readFile(resolve(io.cwd, file));
    return { file, name: basename(file), bytes };
  } catch (error) {
    io.stderr(`${file}: cannot read: ${fileReadProblem(error, 'a BTF file')}\n`);
    return undefined;
  }
};

const parseGiven = (
  io: CliIo,
  { file, name, bytes }: GivenFile,
  base?: ParsedBtf,
): ParsedBtf | undefined => {
  const r = parseBtf(
    bytes,
    base ? { name, kind: 'module', base } : { name, kind: name === 'vmlinux' ? 'vmlinux' : 'user' },
  );
  if (!r.ok) {
    const hint =
      !base &&
      (r.error.code === 'BtfBadName' ||
        r.error.code === 'BtfBadTypeRef' ||
        r.error.code === 'BtfBadStrings')
        ? " (a module's split BTF? pass its vmlinux with --base)"
        : '';
    io.stderr(`${file}: not valid BTF: ${r.error.message}${hint}\n`);
    return undefined;
  }
  return r.value;
};

/**
 * The BTF bytes a kernel command works on, read and not parsed yet: `--btf FILE` (on `--base
 * FILE`), or the host's under `--root`. `input` is what a listing of them is made from (every
 * blob by name, in the order listed); it is undefined when some host BTF is unreadable.
 */
export interface BtfBytes {
  readonly given?: { readonly top: GivenFile; readonly base?: GivenFile };
  readonly facts?: HostKernelFacts;
  readonly input?: ListingInput;
}

/**
 * Reads the bytes from `--btf FILE` (with `--base FILE` for a module's split BTF) or, without
 * `--btf`, from the host under `--root` (default `/`). Returns undefined after printing the
 * file and the problem when a given file is unreadable.
 */
export const readBtfBytes = async (
  io: CliIo,
  parsed: Pick<SplitArgs, 'values'>,
  { kallsyms, btfOnly = false }: { readonly kallsyms: boolean; readonly btfOnly?: boolean },
): Promise<BtfBytes | undefined> => {
  const options = {
    btf: parsed.values.get('--btf'),
    base: parsed.values.get('--base'),
    root: parsed.values.get('--root'),
  };
  if (options.base !== undefined && options.btf === undefined)
    throw new UsageError('--base needs --btf (the split BTF file to read on top of it)');
  if (options.btf !== undefined) {
    const base = options.base === undefined ? undefined : await readGiven(io, options.base);
    if (options.base !== undefined && !base) return undefined;
    const top = await readGiven(io, options.btf);
    if (!top) return undefined;
    return {
      given: base ? { top, base } : { top },
      input: base ? { mode: 'split', blobs: [base, top] } : { mode: 'file', blobs: [top] },
    };
  }
  const facts = await readHostKernel({
    ...(options.root === undefined ? {} : { root: resolve(io.cwd, options.root) }),
    skipKallsyms: !kallsyms,
    btfOnly,
  });
  const complete =
    facts.vmlinuxBtf !== undefined &&
    !facts.unreadable.some((u) => u.source === 'vmlinux-btf' || u.source === 'module-btf');
  const blobs = [...(facts.vmlinuxBtf ? [facts.vmlinuxBtf] : []), ...facts.moduleBtfs].sort(
    (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return complete ? { facts, input: { mode: 'host', blobs } } : { facts };
};

/**
 * Parses what `readBtfBytes` read. With `scan`, a host with vmlinux BTF only (no module BTF to
 * split on top of it) is scanned instead (see `scanBtf`); any blob the scan does not take is
 * parsed, which words the problem. Returns undefined after printing the file and the problem
 * (byte offset included) when a given file is not BTF.
 */
export const parseBtfBytes = (
  io: CliIo,
  read: BtfBytes,
  { scan = false }: { readonly scan?: boolean } = {},
): BtfSources | undefined => {
  if (read.given) {
    const { top, base: baseFile } = read.given;
    const base = baseFile === undefined ? undefined : parseGiven(io, baseFile);
    if (baseFile !== undefined && !base) return undefined;
    const parsedTop = parseGiven(io, top, base);
    if (!parsedTop) return undefined;
    return { spaces: base ? [base, parsedTop] : [parsedTop], unreadable: [] };
  }
  const facts = read.facts!;
  if (scan && facts.vmlinuxBtf && facts.moduleBtfs.length === 0) {
    const scanned = scanBtf(facts.vmlinuxBtf.bytes, { name: 'vmlinux', kind: 'vmlinux' });
    if (scanned) return { spaces: [], scanned, facts, unreadable: facts.unreadable };
  }
  const btf = parseHostBtf(facts);
  return {
    spaces: btf.vmlinux ? [btf.vmlinux, ...btf.modules] : [],
    facts,
    unreadable: [...facts.unreadable, ...btf.unreadable],
  };
};

/**
 * Loads BTF from the parsed `--btf FILE` (with `--base FILE` for a module's split BTF) or, without
 * `--btf`, from the host under `--root` (default `/`): `readBtfBytes`, then `parseBtfBytes`.
 * Returns undefined after printing the file and the problem (byte offset included) when a given
 * file is unreadable or not BTF.
 */
export const loadBtfSources = async (
  io: CliIo,
  parsed: Pick<SplitArgs, 'values'>,
  {
    kallsyms,
    btfOnly = false,
    scan = false,
  }: { readonly kallsyms: boolean; readonly btfOnly?: boolean; readonly scan?: boolean },
): Promise<BtfSources | undefined> => {
  const read = await readBtfBytes(io, parsed, { kallsyms, btfOnly });
  return read && parseBtfBytes(io, read, { scan });
};
