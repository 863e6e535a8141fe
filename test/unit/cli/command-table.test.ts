/**
 * The lazy command table (services/cli/src/commands/index.ts) repeats each command's path, usage
 * and summary so that `--help` and the dispatcher need no command module. Each entry must match
 * the module it loads, and every command module's commands must be in the table.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CliCommand } from '../../../services/cli/src/cli-command.js';
import { COMMANDS } from '../../../services/cli/src/commands/index.js';

const COMMANDS_DIR = fileURLToPath(new URL('../../../services/cli/src/commands/', import.meta.url));

const isCommand = (v: unknown): v is CliCommand =>
  typeof v === 'object' &&
  v !== null &&
  Array.isArray((v as CliCommand).path) &&
  typeof (v as CliCommand).run === 'function';

/** Every CliCommand exported by the *.command.ts modules, by path. */
const loadAll = async (): Promise<Map<string, CliCommand>> => {
  const byPath = new Map<string, CliCommand>();
  for (const file of readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.command.ts'))) {
    const module = (await import(`${COMMANDS_DIR}${file}`)) as Record<string, unknown>;
    for (const value of Object.values(module))
      if (isCommand(value)) byPath.set(value.path.join(' '), value);
  }
  return byPath;
};

describe('the lazy command table', () => {
  it('has, for each command module, the same path, usage and summary, and nothing else', async () => {
    const modules = await loadAll();
    const table = new Map(COMMANDS.map((c) => [c.path.join(' '), c]));
    expect([...table.keys()].sort()).toEqual([...modules.keys()].sort());
    for (const [path, lazy] of table) {
      const real = modules.get(path)!;
      expect({ path: lazy.path, usage: lazy.usage, summary: lazy.summary }).toEqual({
        path: real.path,
        usage: real.usage,
        summary: real.summary,
      });
    }
  });

  it("runs the loaded module's command (its usage errors included)", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      cwd: '/',
      env: {},
    };
    const nodes = COMMANDS.find((c) => c.path.join(' ') === 'nodes')!;
    // an unknown option is refused by the real command's parser, loaded on demand
    await expect(nodes.run(['--no-such-option'], io)).rejects.toThrow(/--no-such-option/);
  });
});
