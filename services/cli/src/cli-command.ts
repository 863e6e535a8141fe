import type { Command } from 'commander';
import type { SplitArgs } from './cli-args.js';

/** Where a command writes; injected so tests can run commands in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  /**
   * UTF-8 bytes to stdout, for large outputs made as bytes (`kernel functions --json`); the
   * caller does not touch the array afterwards. Absent: write them through `stdout`.
   */
  readonly stdoutBytes?: (bytes: Uint8Array) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The terminal's width when stdout is a terminal (tables are fitted to it); undefined when
   * stdout is a pipe or a file (tables are never cut).
   */
  readonly columns?: number;
  /**
   * Asks a person a yes/no question (a destructive command's confirmation); absent when nobody
   * can answer (stdin is not a terminal): such commands then need `--yes`.
   */
  readonly confirm?: (question: string) => Promise<boolean>;
  /**
   * The built bundle's id (a hash of its chunks) when the CLI runs from the bundle; undefined
   * when it runs the sources. What caches output made by the code (functions-cache.ts) key on.
   */
  readonly buildId?: string;
}

/**
 * What runs once `tramway` parsed a command line (the parsing is commander's, in cli-program.ts;
 * the command tree in cli-tree.ts names each option); `root` is the parsed program (for
 * `completion`). Returns the exit status: see `ExitCode`.
 */
export type CommandRun = (args: SplitArgs, io: CliIo, root: Command) => Promise<number>;

/** The exit statuses of every `tramway` command (documented in `tramway --help` and the README). */
export const ExitCode = {
  /** success */
  Ok: 0,
  /** the command ran but its outcome was negative (refused, held, not converged, not found) */
  Negative: 1,
  /** bad usage or bad input: unknown option, missing argument, invalid value or file */
  Usage: 2,
  /** nothing answered at the coordinator URL (sysexits.h EX_UNAVAILABLE) */
  Unavailable: 69,
  /** an internal error: a bug, reported with its message (sysexits.h EX_SOFTWARE) */
  Internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Thrown by argument checks; the dispatcher prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
