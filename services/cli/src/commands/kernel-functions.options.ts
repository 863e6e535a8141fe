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

const loadFile = async (
  io: CliIo,
  file: string,
  base?: ParsedBtf,
): Promise<ParsedBtf | undefined> => {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(resolve(io.cwd, file));
  } catch (error) {
    io.stderr(`${file}: cannot read: ${fileReadProblem(error, 'a BTF file')}\n`);
    return undefined;
  }
  const name = basename(file);
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
 * Loads BTF from the parsed `--btf FILE` (with `--base FILE` for a module's split BTF) or, without
 * `--btf`, from the host under `--root` (default `/`). Returns undefined after printing the
 * file and the problem (byte offset included) when a given file is unreadable or not BTF.
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
  const options = {
    btf: parsed.values.get('--btf'),
    base: parsed.values.get('--base'),
    root: parsed.values.get('--root'),
  };
  if (options.base !== undefined && options.btf === undefined)
    throw new UsageError('--base needs --btf (the split BTF file to read on top of it)');
  if (options.btf !== undefined) {
    const base = options.base === undefined ? undefined : await loadFile(io, options.base);
    if (options.base !== undefined && !base) return undefined;
    const top = await loadFile(io, options.btf, base);
    if (!top) return undefined;
    return { spaces: base ? [base, top] : [top], unreadable: [] };
  }
  const facts = await readHostKernel({
    ...(options.root === undefined ? {} : { root: resolve(io.cwd, options.root) }),
    skipKallsyms: !kallsyms,
    btfOnly,
  });
  // a host with vmlinux BTF only (no module BTF to split on top of it) can be scanned; any blob
  // the scan does not take is parsed below, which words the problem
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
