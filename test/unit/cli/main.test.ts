import { describe, expect, it } from 'vitest';
import type { CliCommand } from '../../../services/cli/src/cli-command.js';
import { UsageError } from '../../../services/cli/src/cli-command.js';
import { main } from '../../../services/cli/src/main.js';
import { captureIo } from '../../support/cli-io.js';

const echo: CliCommand = {
  path: ['kernel', 'echo'],
  usage: 'kernel echo ARG...',
  summary: 'prints its arguments',
  run: async (args, io) => {
    if (args.length === 0) throw new UsageError('needs an argument');
    io.stdout(args.join(' '));
    return 0;
  },
};

describe('tramway main', () => {
  it('dispatches to the longest matching command path with the remaining arguments', async () => {
    const sut = captureIo();
    expect(await main(['kernel', 'echo', 'a', 'b'], sut.io, [echo])).toBe(0);
    expect(sut.out()).toBe('a b');
  });

  it('exits 2 and names the command for an unknown command', async () => {
    const sut = captureIo();
    expect(await main(['kernel', 'nope'], sut.io, [echo])).toBe(2);
    expect(sut.err()).toContain("unknown command 'kernel nope'");
  });

  it('turns a usage error into exit 2 with the usage line, never a stack trace', async () => {
    const sut = captureIo();
    expect(await main(['kernel', 'echo'], sut.io, [echo])).toBe(2);
    expect(sut.err()).toContain('needs an argument');
    expect(sut.err()).toContain('usage: tramway kernel echo ARG...');
    expect(sut.err()).not.toContain('    at ');
  });
});
