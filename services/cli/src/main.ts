import type { CliCommand, CliIo } from './cli-command.js';
import { UsageError } from './cli-command.js';
import { COMMANDS } from './commands/index.js';

const processIo = (): CliIo => ({
  stdout: (text) => process.stdout.write(text),
  stdoutBytes: (bytes) => process.stdout.write(bytes),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
});

const helpText = (commands: readonly CliCommand[]): string =>
  [
    'usage: tramway <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.usage.padEnd(48)} ${c.summary}`),
    '',
  ].join('\n');

const findCommand = (
  commands: readonly CliCommand[],
  argv: readonly string[],
): { command: CliCommand; rest: readonly string[] } | undefined => {
  let best: CliCommand | undefined;
  for (const c of commands) {
    const matches = c.path.every((word, i) => argv[i] === word);
    if (matches && (!best || c.path.length > best.path.length)) best = c;
  }
  return best ? { command: best, rest: argv.slice(best.path.length) } : undefined;
};

/** Runs one `tramway` invocation and returns its exit status. Never throws. */
export const main = async (
  argv: readonly string[],
  io: CliIo = processIo(),
  commands: readonly CliCommand[] = COMMANDS,
): Promise<number> => {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    (argv.length === 0 ? io.stderr : io.stdout)(helpText(commands));
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(commands, argv);
  if (!found) {
    io.stderr(`tramway: unknown command '${argv.join(' ')}'\n\n${helpText(commands)}`);
    return 2;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(
        `tramway ${found.command.path.join(' ')}: ${error.message}\nusage: tramway ${found.command.usage}\n`,
      );
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`tramway ${found.command.path.join(' ')}: internal error: ${message}\n`);
    return 70;
  }
};
