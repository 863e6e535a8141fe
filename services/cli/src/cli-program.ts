/**
 * The `tramway` command line, parsed by commander from the command tree (cli-tree.ts). Built
 * afresh for every `main` call (commander keeps parse state on its objects), writing through the
 * injected CliIo and never exiting the process: a parse error is exit 2, help and version 0.
 */
import type { Command as CommandType } from 'commander';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { SplitArgs } from './cli-args.js';
import type { CliIo } from './cli-command.js';
import { ExitCode, UsageError } from './cli-command.js';
import type { CommandSpec, OptionSpec } from './cli-tree.js';
import type { OutputFormat } from './output-format.js';
import { OUTPUT_FORMATS } from './output-format.js';
import { CLI_VERSION } from './version.js';

/** Help is wrapped to the terminal, at most 80 columns (and 80 when not a terminal). */
const HELP_WIDTH = 80;

const CONNECTION: readonly OptionSpec[] = [
  {
    flags: '--url <URL>',
    description: 'the coordinator (default: $TRAMWAY_URL, else http://127.0.0.1:7070)',
  },
  {
    flags: '--token <TOKEN>',
    description: 'API token (default: $TRAMWAY_TOKEN, else ./.tramway/admin.token)',
  },
  { flags: '--ca-file <FILE>', description: 'CA of an https coordinator ($TRAMWAY_CA_FILE)' },
  { flags: '--cert <FILE>', description: 'client certificate for mTLS ($TRAMWAY_CLIENT_CERT)' },
  { flags: '--key <FILE>', description: 'its private key ($TRAMWAY_CLIENT_KEY)' },
  {
    flags: '--on-behalf-of <WHO>',
    description: 'admin: act for WHO, recorded in the log ($TRAMWAY_ON_BEHALF_OF)',
  },
];

/** Exit statuses, as the top-level help and the README give them. */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0   success',
  '  1   ran, but the outcome is negative (refused, held, not converged, not found)',
  '  2   bad usage or input (unknown option, missing argument, bad value or file)',
  '  69  the coordinator did not answer (unreachable)',
  '  70  internal error (a bug: please report it)',
].join('\n');

const ENVIRONMENT_HELP = [
  'Environment:',
  '  TRAMWAY_URL     the coordinator (default http://127.0.0.1:7070)',
  '  TRAMWAY_TOKEN   API token (default: ./.tramway/admin.token, from `npm start`)',
  '  TRAMWAY_CA_FILE, TRAMWAY_CLIENT_CERT, TRAMWAY_CLIENT_KEY   https and mTLS',
].join('\n');

const nonEmpty = (option: string) => (value: string) => {
  if (value === '') throw new InvalidArgumentError(`${option} needs a value`);
  return value;
};

const optionOf = (spec: OptionSpec, group?: string): Option => {
  const option = new Option(spec.flags, spec.description);
  const long = option.long ?? option.flags;
  if (spec.choices) option.choices(spec.choices);
  else if (spec.repeatable)
    option.argParser((value: string, previous: string[] | undefined) => [
      ...(previous ?? []),
      nonEmpty(long)(value),
    ]);
  else if (option.required || option.optional) option.argParser(nonEmpty(long));
  if (group !== undefined) option.helpGroup(group);
  return option;
};

/** `-o` and `--json` (its alias): the format the command prints its data in. */
const OUTPUT_OPTIONS: readonly Option[] = [
  new Option('-o, --output <FORMAT>', 'output format').choices(OUTPUT_FORMATS),
  new Option('--json', 'same as -o json'),
];

/** The parsed command line as the command implementations take it (options by long name). */
const splitArgsOf = (command: CommandType, spec: CommandSpec): SplitArgs => {
  const opts = command.opts<Record<string, unknown>>();
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const lists = new Map<string, readonly string[]>();
  for (const option of command.options) {
    const value = opts[option.attributeName()];
    const long = option.long ?? option.flags;
    // a negatable flag (`--no-wait`) is given when its value is false (commander's default: true)
    if (option.negate) {
      if (value === false) flags.add(long);
    } else if (value === true) flags.add(long);
    else if (Array.isArray(value)) lists.set(long, value as string[]);
    else if (typeof value === 'string') values.set(long, value);
  }
  const given = values.get('--output') as OutputFormat | undefined;
  if (flags.has('--json') && given !== undefined && given !== 'json')
    throw new UsageError(`--json is -o json: it cannot go with -o ${given}`);
  const output: OutputFormat = flags.has('--json') ? 'json' : (given ?? 'table');
  // commands that print data test `--json` for their structured forms (json and yaml)
  if (spec.output && output === 'json') flags.add('--json');
  return { positionals: command.args, values, flags, lists, output };
};

const examplesOf = (spec: CommandSpec): string =>
  [
    '',
    'Examples:',
    ...spec.examples.flatMap(([command, what]) => [
      ...(what === '' ? [] : [`  # ${what}`]),
      `  $ ${command}`,
    ]),
    '',
  ].join('\n');

/** What a run of the program ended with: set by actions and by commander's exits. */
interface Outcome {
  code: number;
}

const pathOf = (command: CommandType): string[] => {
  const names: string[] = [];
  for (let c: CommandType | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names;
};

const configure = (command: CommandType, io: CliIo): CommandType => {
  const width = Math.min(io.columns ?? HELP_WIDTH, HELP_WIDTH);
  return (
    command
      .configureOutput({
        writeOut: (text) => io.stdout(text),
        writeErr: (text) => io.stderr(text),
        // `tramway kernel run: unknown option '--fast'`: the command, then commander's message
        outputError: (text, write) =>
          write(`${pathOf(command).join(' ')}: ${text.replace(/^error: /, '')}`),
        getOutHelpWidth: () => width,
        getErrHelpWidth: () => width,
        getOutHasColors: () => false,
        getErrHasColors: () => false,
      })
      // wrap descriptions even beside a long term (`module [options] <action> <node> <module>`)
      .configureHelp({ minWidthToWrap: 24 })
      // a group's options (`audit --db`) only before its subcommand: `audit state --db F` is state's
      .enablePositionalOptions()
      .showHelpAfterError(`(run '${pathOf(command).join(' ')} --help' for usage and examples)`)
      .exitOverride()
  );
};

const addCommand = (
  parent: CommandType,
  spec: CommandSpec,
  io: CliIo,
  outcome: Outcome,
): CommandType => {
  const command = new Command(spec.name).summary(spec.summary);
  parent.addCommand(command);
  command.description(
    spec.description ?? `${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.`,
  );
  for (const arg of spec.args ?? []) command.argument(arg);
  for (const option of spec.options ?? []) command.addOption(optionOf(option));
  if (spec.output) for (const option of OUTPUT_OPTIONS) command.addOption(option);
  if (spec.fleet)
    for (const option of CONNECTION) command.addOption(optionOf(option, 'Connection:'));
  command.addHelpText('after', examplesOf(spec));
  configure(command, io);
  command.helpOption('-h, --help', 'show this help');
  if (spec.subcommands !== undefined)
    command.helpCommand('help [command]', 'show help on a subcommand');
  const load = spec.load;
  if (load !== undefined)
    command.action(async () => {
      const path = pathOf(command).join(' ');
      try {
        const args = splitArgsOf(command, spec);
        const [run] = await Promise.all([
          load(),
          args.output === 'yaml'
            ? import('./output.js').then(({ loadYamlOutput }) => loadYamlOutput())
            : undefined,
        ]);
        let root = command;
        while (root.parent) root = root.parent;
        outcome.code = await run(args, io, root);
      } catch (error) {
        if (error instanceof UsageError) {
          io.stderr(`${path}: ${error.message}\n(run '${path} --help' for usage and examples)\n`);
          outcome.code = ExitCode.Usage;
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        io.stderr(`${path}: internal error: ${message}\n`);
        outcome.code = ExitCode.Internal;
      }
    });
  for (const sub of spec.subcommands ?? []) addCommand(command, sub, io, outcome);
  return command;
};

/** The root command of `tramway` built from `tree`, writing to `io`; its runs set `outcome`. */
export const buildProgram = (
  tree: readonly CommandSpec[],
  io: CliIo,
  outcome: Outcome,
): CommandType => {
  const program = new Command('tramway')
    .description('Trace kernel functions across a fleet with BPF tracing multi-links.')
    .version(CLI_VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help (also: tramway help COMMAND)')
    // shown in the command list; `tramway help X Y` is turned into `tramway X Y --help` below
    .helpCommand('help [command...]', 'show help on a command')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ tramway demo                     a fleet in this process (npm start)',
        '  $ tramway nodes -o wide            the nodes, every column',
        '  $ tramway apply -f policy.yaml     roll a policy out',
        '  $ tramway kernel resolve --help    help on any command',
        '',
        ENVIRONMENT_HELP,
        '',
        EXIT_CODES_HELP,
        '',
      ].join('\n'),
    );
  configure(program, io);
  for (const spec of tree) addCommand(program, spec, io, outcome);
  return program;
};

/** Parses and runs `argv` (without `node tramway`); the exit status. Never throws. */
export const runProgram = async (
  tree: readonly CommandSpec[],
  argv: readonly string[],
  io: CliIo,
): Promise<number> => {
  const outcome: Outcome = { code: ExitCode.Ok };
  const program = buildProgram(tree, io, outcome);
  // `tramway help kernel resolve` is `tramway kernel resolve --help`
  const words = argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv;
  try {
    await program.parseAsync(words, { from: 'user' });
    return outcome.code;
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // help and version asked for: 0; help because a group was given no subcommand, or any
    // parse error (unknown option or command, missing or invalid argument): bad usage
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
};
