import type { CliIo } from './cli-command.js';
import { ExitCode } from './cli-command.js';
import { runProgram } from './cli-program.js';
import type { CommandSpec } from './cli-tree.js';
import { COMMAND_TREE } from './cli-tree.js';

/** A y/N question on the terminal (stderr, so that stdout stays the command's answer). */
const askOnTerminal = async (question: string): Promise<boolean> => {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
};

/** The process's terminal and streams; `buildId` when running from the built bundle. */
export const processIo = (buildId?: string): CliIo => ({
  stdout: (text) => process.stdout.write(text),
  stdoutBytes: (bytes) => process.stdout.write(bytes),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
  ...(process.stdout.isTTY ? { columns: process.stdout.columns } : {}),
  ...(process.stdin.isTTY === true ? { confirm: askOnTerminal } : {}),
  ...(buildId === undefined ? {} : { buildId }),
});

/** Runs one `tramway` invocation and returns its exit status. Never throws. */
export const main = async (
  argv: readonly string[],
  io: CliIo = processIo(),
  tree: readonly CommandSpec[] = COMMAND_TREE,
): Promise<number> => {
  try {
    return await runProgram(tree, argv, io);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`tramway: internal error: ${message}\n`);
    return ExitCode.Internal;
  }
};
