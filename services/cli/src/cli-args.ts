/**
 * The parsed arguments every `tramway` command receives (commander parses the command line in
 * cli-program.ts), positional counts, and the one-line reason a file could not be read.
 */
import type { OutputFormat } from './output-format.js';
import { UsageError } from './cli-command.js';

/**
 * A parsed command line: options keyed by their long spelling (`-f p.yaml` is `--file`), so
 * messages name the option as the user knows it.
 */
export interface SplitArgs {
  readonly positionals: readonly string[];
  /** value options given once (the last one wins when repeated) */
  readonly values: ReadonlyMap<string, string>;
  /** flags given */
  readonly flags: ReadonlySet<string>;
  /** repeatable options (`--host A --host B`), every value in order */
  readonly lists: ReadonlyMap<string, readonly string[]>;
  /** `-o table|json|yaml|wide` (`--json` is `-o json`); table for commands without -o */
  readonly output: OutputFormat;
}

/** Parsed arguments from plain parts (tests, and commands that call each other). */
export const parsedArgs = (
  parts: {
    readonly positionals?: readonly string[];
    readonly values?: Readonly<Record<string, string>>;
    readonly flags?: readonly string[];
    readonly lists?: Readonly<Record<string, readonly string[]>>;
    readonly output?: OutputFormat;
  } = {},
): SplitArgs => {
  const output = parts.output ?? (parts.flags?.includes('--json') ? 'json' : 'table');
  return {
    positionals: parts.positionals ?? [],
    values: new Map(Object.entries(parts.values ?? {})),
    flags: new Set([...(parts.flags ?? []), ...(output === 'json' ? ['--json'] : [])]),
    lists: new Map(Object.entries(parts.lists ?? {})),
    output,
  };
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
