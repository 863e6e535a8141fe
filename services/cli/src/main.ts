import type { CliIo } from './cli-command.js';
import { ExitCode } from './cli-command.js';
import { runProgram } from './cli-program.js';
import type { CommandSpec } from './cli-tree.js';
import { COMMAND_TREE } from './cli-tree.js';

const processIo = (): CliIo => ({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
  ...(process.stdout.isTTY ? { columns: process.stdout.columns } : {}),
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
