/**
 * An in-process `tramway` for tests: a CliIo that captures what a command writes, and a
 * runner that dispatches argv through the real `main`.
 */
import type { CliIo } from '../../services/cli/src/cli-command.js';
import { main } from '../../services/cli/src/main.js';

export interface CapturedIo {
  readonly io: CliIo;
  /** everything written to stdout so far */
  readonly out: () => string;
  /** everything written to stderr so far */
  readonly err: () => string;
}

/** A CliIo rooted at `cwd` (default `/`) with exactly `env`, recording stdout and stderr. */
export const captureIo = (
  options: { readonly cwd?: string; readonly env?: CliIo['env'] } = {},
): CapturedIo => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    cwd: options.cwd ?? '/',
    env: options.env ?? {},
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
};

/** Runs `tramway ARGV` in-process; the exit status and the captured output. */
export const runTramway = async (
  argv: readonly string[],
  options: { readonly cwd?: string; readonly env?: CliIo['env'] } = {},
): Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }> => {
  const captured = captureIo(options);
  const code = await main(argv, captured.io);
  return { code, stdout: captured.out(), stderr: captured.err() };
};
