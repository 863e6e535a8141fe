import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CommandRun } from '../../../services/cli/src/cli-command.js';
import { UsageError } from '../../../services/cli/src/cli-command.js';
import type { CommandSpec } from '../../../services/cli/src/cli-tree.js';
import { COMMAND_TREE } from '../../../services/cli/src/cli-tree.js';
import { main } from '../../../services/cli/src/main.js';
import { CLI_VERSION } from '../../../services/cli/src/version.js';
import { captureIo, runTramway } from '../../support/cli-io.js';

/** Every command of the tree, groups included, as the words after `tramway`. */
const pathsOf = (specs: readonly CommandSpec[], prefix: readonly string[] = []): string[][] =>
  specs.flatMap((s) => [[...prefix, s.name], ...pathsOf(s.subcommands ?? [], [...prefix, s.name])]);
const leavesOf = (specs: readonly CommandSpec[], prefix: readonly string[] = []): string[][] =>
  specs.flatMap((s) => [
    ...(s.load === undefined ? [] : [[...prefix, s.name]]),
    ...leavesOf(s.subcommands ?? [], [...prefix, s.name]),
  ]);

const ALL = pathsOf(COMMAND_TREE);
const LEAVES = leavesOf(COMMAND_TREE);

describe('tramway main: a tree of commands', () => {
  const echo: CommandRun = async (args, io) => {
    if (args.values.get('--fail') === 'usage') throw new UsageError('--fail usage: as asked');
    if (args.values.get('--fail') === 'bug') throw new Error('boom');
    io.stdout(`${args.positionals.join(' ')}|${[...args.flags].join(',')}|${args.output}`);
    return args.positionals.length;
  };
  const loaded: string[] = [];
  const tree: readonly CommandSpec[] = [
    {
      name: 'kernel',
      summary: 'kernel things',
      examples: [['tramway kernel echo a', '']],
      subcommands: [
        {
          name: 'echo',
          summary: 'prints its arguments',
          args: ['<arg...>'],
          options: [
            { flags: '--loud', description: 'louder' },
            { flags: '--fail <HOW>', description: 'fail' },
            { flags: '--no-wait', description: 'do not wait' },
          ],
          output: true,
          examples: [['tramway kernel echo a b', 'two words']],
          load: async () => {
            loaded.push('echo');
            return echo;
          },
        },
      ],
    },
  ];

  it('runs the command with its positionals, flags and output format; its status is the exit status', async () => {
    const sut = captureIo();
    expect(await main(['kernel', 'echo', 'a', '--loud', 'b', '--json'], sut.io, tree)).toBe(2);
    expect(sut.out()).toBe('a b|--loud,--json|json');
    const yaml = captureIo();
    expect(await main(['kernel', 'echo', 'a', '-o', 'yaml'], yaml.io, tree)).toBe(1);
    expect(yaml.out()).toBe('a||yaml');
    const noWait = captureIo();
    expect(await main(['kernel', 'echo', 'a', '--no-wait'], noWait.io, tree)).toBe(1);
    expect(noWait.out()).toBe('a|--no-wait|table');
  });

  it('imports a command only when it runs, not for --help or --version', async () => {
    loaded.length = 0;
    expect(await main(['kernel', 'echo', '--help'], captureIo().io, tree)).toBe(0);
    expect(await main(['--version'], captureIo().io, tree)).toBe(0);
    expect(loaded).toEqual([]);
    expect(await main(['kernel', 'echo', 'x'], captureIo().io, tree)).toBe(1);
    expect(loaded).toEqual(['echo']);
  });

  it('exits 2 naming the command for an unknown command, and shows help for a bare group', async () => {
    const sut = captureIo();
    expect(await main(['kernel', 'nope'], sut.io, tree)).toBe(2);
    expect(sut.err()).toContain("tramway kernel: unknown command 'nope'");
    const bare = captureIo();
    expect(await main(['kernel'], bare.io, tree)).toBe(2);
    expect(bare.err()).toContain('Usage: tramway kernel');
  });

  it('turns a usage error into exit 2 with where to find the usage, never a stack trace', async () => {
    const sut = captureIo();
    expect(await main(['kernel', 'echo', 'a', '--fail', 'usage'], sut.io, tree)).toBe(2);
    expect(sut.err()).toBe(
      "tramway kernel echo: --fail usage: as asked\n(run 'tramway kernel echo --help' for usage and examples)\n",
    );
  });

  it('turns an unexpected error into exit 70 with its message', async () => {
    const sut = captureIo();
    expect(await main(['kernel', 'echo', 'a', '--fail', 'bug'], sut.io, tree)).toBe(70);
    expect(sut.err()).toBe('tramway kernel echo: internal error: boom\n');
  });

  it('without arguments, prints the help on stderr and exits 2', async () => {
    const sut = captureIo();
    expect(await main([], sut.io, tree)).toBe(2);
    expect(sut.err()).toContain('Usage: tramway');
    expect(sut.out()).toBe('');
  });
});

describe('tramway: the real command tree', () => {
  it('has every command named once per group and an example for each', () => {
    const check = (specs: readonly CommandSpec[]): void => {
      const names = specs.map((s) => s.name);
      expect(new Set(names).size).toBe(names.length);
      for (const s of specs) {
        expect(s.examples.length, s.name).toBeGreaterThan(0);
        check(s.subcommands ?? []);
      }
    };
    check(COMMAND_TREE);
    // the commands this CLI had before commander, all still there
    for (const path of [
      'plan',
      'apply',
      'status',
      'rollback',
      'resume',
      'nodes',
      'node approve',
      'node reset',
      'node module',
      'demo',
      'token create',
      'token list',
      'token revoke',
      'kernel run',
      'kernel probe',
      'kernel functions',
      'kernel resolve',
      'audit',
      'audit actor',
      'audit function',
      'audit program',
      'audit policy',
      'audit state',
      'audit plan',
      'audit rebuild',
      'security init',
      'security add-node',
      'security remove-node',
      'security issue-client',
    ])
      expect(LEAVES.map((p) => p.join(' '))).toContain(path);
  });

  it.each(ALL.map((p) => [p.join(' '), p] as const))(
    '`tramway %s --help` exits 0 with a description, options and examples',
    async (_, path) => {
      const sut = await runTramway([...path, '--help']);
      expect(sut.code).toBe(0);
      expect(sut.stdout).toContain(`Usage: tramway ${path.join(' ')}`);
      expect(sut.stdout).toMatch(/\nOptions:\n/);
      expect(sut.stdout).toMatch(/\nExamples:\n(  # .*\n)?  \$ .*tramway /);
      expect(sut.stderr).toBe('');
      // -h and `tramway help ...` say the same
      expect((await runTramway([...path, '-h'])).stdout).toBe(sut.stdout);
      expect((await runTramway(['help', ...path])).stdout).toBe(sut.stdout);
    },
  );

  it.each(LEAVES.map((p) => [p.join(' '), p] as const))(
    '`tramway %s --no-such-option` exits 2 naming the option',
    async (_, path) => {
      const sut = await runTramway([...path, '--no-such-option']);
      expect(sut.code).toBe(2);
      expect(sut.stderr.split('\n')[0]).toBe(
        `tramway ${path.join(' ')}: unknown option '--no-such-option'`,
      );
      expect(sut.stdout).toBe('');
    },
  );

  it('takes -o and --json on every command that prints data, and each format is accepted', async () => {
    const withOutput = (specs: readonly CommandSpec[], prefix: string[] = []): string[][] =>
      specs.flatMap((s) => [
        ...(s.output ? [[...prefix, s.name]] : []),
        ...withOutput(s.subcommands ?? [], [...prefix, s.name]),
      ]);
    const paths = withOutput(COMMAND_TREE).map((p) => p.join(' '));
    for (const expected of [
      'nodes',
      'status',
      'plan',
      'apply',
      'token list',
      'audit',
      'audit state',
      'kernel functions',
      'kernel probe',
      'kernel resolve',
    ])
      expect(paths).toContain(expected);
    const help = (await runTramway(['nodes', '--help'])).stdout;
    expect(help).toMatch(
      /-o, --output <FORMAT>\s+output format \(choices: "table", "json", "yaml",\s+"wide"\)/,
    );
    expect(help).toMatch(/--json\s+same as -o json/);
  });

  it('top-level help fits 80 columns and names the environment and every exit code', async () => {
    const sut = await runTramway(['--help']);
    expect(sut.code).toBe(0);
    for (const line of sut.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(sut.stdout).toContain('TRAMWAY_URL');
    expect(sut.stdout).toContain('TRAMWAY_TOKEN');
    for (const code of ['0', '1', '2', '69', '70'])
      expect(sut.stdout).toMatch(new RegExp(`\\n  ${code} +\\S`));
    for (const path of COMMAND_TREE) expect(sut.stdout).toMatch(new RegExp(`\\n  ${path.name} `));
    expect((await runTramway(['help'])).stdout).toBe(sut.stdout);
  });

  it('fits the help of every command to 80 columns', async () => {
    for (const path of ALL) {
      const sut = await runTramway([...path, '--help']);
      for (const line of sut.stdout.split('\n'))
        expect(line.length, `${path.join(' ')}: ${line}`).toBeLessThanOrEqual(80);
    }
  });

  it('--version and -V print the version of services/cli/package.json', async () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../services/cli/package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(CLI_VERSION).toBe(pkg.version);
    expect(await runTramway(['--version'])).toEqual({
      code: 0,
      stdout: `${pkg.version}\n`,
      stderr: '',
    });
    expect((await runTramway(['-V'])).stdout).toBe(`${pkg.version}\n`);
  });
});
