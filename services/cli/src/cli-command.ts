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
}

/**
 * One `tramway` sub-command, such as `kernel run`. `run` returns the exit status:
 * 0 success, 1 the command ran but its outcome was negative, 2 bad usage or bad input.
 */
export interface CliCommand {
  readonly path: readonly string[];
  readonly usage: string;
  readonly summary: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Thrown by argument parsing; the dispatcher prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
