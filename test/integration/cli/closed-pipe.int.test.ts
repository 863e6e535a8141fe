/**
 * `tramway ... | head`: the real bin in a child process whose stdout reader is gone before it
 * writes. It must end quietly: no stack trace, exit status 0.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../../services/cli/bin/tramway.js', import.meta.url));

describe('tramway with a closed stdout pipe', () => {
  it('exits 0 without a stack trace when the reader went away', async () => {
    const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // the reader goes away before the CLI writes anything (as `| head -c0` would)
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    expect(code).toBe(0);
  }, 30_000);
});
