/**
 * Argument and file helpers shared by every `tramway` command family (kernel, scenario, fleet,
 * audit): positional counts and the one-line reason a file could not be read.
 */
import { UsageError } from './cli-command.js';

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
