/**
 * Argument and file helpers shared by every `tramway` command family (kernel, scenario, fleet,
 * audit): splitting argv, positional counts and the one-line reason a file could not be read.
 */
import { UsageError } from './cli-command.js';

/** What a command accepts: value options, flags, and short spellings of either (`-f` → `--file`). */
export interface ArgSpec {
  readonly values?: readonly string[];
  readonly flags?: readonly string[];
  readonly short?: Readonly<Record<string, string>>;
}

export interface SplitArgs {
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, string>;
  readonly flags: ReadonlySet<string>;
}

/**
 * Splits `--flag`, `--option VALUE` / `--option=VALUE` (and `short` spellings, `-f VALUE`) from
 * positionals. A command with short spellings takes every other `-x` as an (unknown) option;
 * without, a word with a single dash is a positional, and `-` always is. An unknown option, a
 * missing value (an empty one, or the next word being an option) or an option given twice is a
 * UsageError naming the option as typed.
 */
export const splitArgs = (args: readonly string[], spec: ArgSpec): SplitArgs => {
  const valueNames = spec.values ?? [];
  const flagNames = spec.flags ?? [];
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const raw = args[i] ?? '';
    const arg = spec.short?.[raw] ?? raw;
    if (!arg.startsWith(spec.short === undefined ? '--' : '-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (flagNames.includes(name) && eq < 0) flags.add(name);
    else if (valueNames.includes(name)) {
      const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--')))
        throw new UsageError(`${eq < 0 ? raw : name} needs a value`);
      if (values.has(name)) throw new UsageError(`${name} given twice`);
      values.set(name, value);
    } else throw new UsageError(`unknown option '${raw}'`);
  }
  return { positionals, values, flags };
};

/**
 * Exactly `names.length` positionals (the last `optional` of them may be missing), named in
 * the UsageError when one is missing or extra.
 */
export const positionalsOf = (
  args: { readonly positionals: readonly string[] },
  names: readonly string[],
  optional = 0,
): string[] => {
  const min = names.length - optional;
  if (args.positionals.length < min)
    throw new UsageError(`missing ${names[args.positionals.length]}`);
  if (args.positionals.length > names.length)
    throw new UsageError(`unexpected argument '${args.positionals[names.length]}'`);
  return [...args.positionals];
};

/** Why `readFile` failed, in a few words; `what` names the kind of file expected ("a BTF file"). */
export const fileReadProblem = (error: unknown, what: string): string => {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return `is a directory, not ${what}`;
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
};
