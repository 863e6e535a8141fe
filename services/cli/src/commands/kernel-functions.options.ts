import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { ParsedBtf } from '@tramway/shared/btf';
import { parseBtf } from '@tramway/shared/btf';
import type { HostKernelFacts, HostUnreadable } from '@tramway/shared/infra';
import { parseHostBtf, readHostKernel } from '@tramway/shared/infra';
import { fileReadProblem } from '../cli-args.js';
import type { CliIo } from '../cli-command.js';
import { UsageError } from '../cli-command.js';

export interface ParsedArgs {
  readonly flags: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
  readonly positionals: readonly string[];
}

/** Splits `--flag`, `--option VALUE` (or `--option=VALUE`) and positionals; unknown options are a UsageError. */
export const parseArgs = (
  args: readonly string[],
  spec: { readonly flags?: readonly string[]; readonly values?: readonly string[] },
): ParsedArgs => {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (spec.flags?.includes(name) && eq < 0) flags.add(name);
    else if (spec.values?.includes(name)) {
      const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      values.set(name, value);
    } else throw new UsageError(`unknown option '${arg}'`);
  }
  return { flags, values, positionals };
};

/** The BTF objects a kernel command works on: a saved blob (`--btf`, `--base`) or the host's. */
export interface BtfSources {
  /** vmlinux (or the base / standalone file) first, then modules */
  readonly spaces: readonly ParsedBtf[];
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
  parsed: Pick<ParsedArgs, 'values'>,
  { kallsyms }: { readonly kallsyms: boolean },
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
  });
  const btf = parseHostBtf(facts);
  return {
    spaces: btf.vmlinux ? [btf.vmlinux, ...btf.modules] : [],
    facts,
    unreadable: [...facts.unreadable, ...btf.unreadable],
  };
};
