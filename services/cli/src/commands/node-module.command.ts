import type { CliCommand } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { FleetExit, clientOf, parseFleetArgs, reportFailure } from '../fleet/fleet-options.js';

/**
 * `tramway node module load|unload NODE MODULE` (simulated nodes): loads a module (its pending
 * targets attach) or drains the links that pin it and unloads it. Exit 1 when the node refuses,
 * with its errno and reason.
 */
export const nodeModuleCommand: CliCommand = {
  path: ['node', 'module'],
  usage: 'node module load|unload NODE MODULE [--json] [--url URL]',
  summary: 'load or (drain and) unload a module on a simulated node',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io);
    const [action, node, module] = positionalsOf(args, ['load|unload', 'NODE', 'MODULE']);
    if (action !== 'load' && action !== 'unload')
      throw new UsageError(`'${action}' is not load or unload`);
    const answer = await clientOf(args).module(node!, module!, action);
    if (!answer.ok) return reportFailure(io, args, `node module ${action}`, answer);
    const r = answer.body;
    if (args.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
    else if (r.ok)
      io.stdout(`${node}: ${module} ${action === 'load' ? 'loaded' : 'drained and unloaded'}\n`);
    else
      io.stderr(
        `tramway node module ${action}: ${node}: ${module}: ${r.errno ?? 'refused'}: ${r.reason ?? ''}\n`,
      );
    return r.ok ? FleetExit.Ok : FleetExit.Negative;
  },
};
