import type { CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import {
  FleetExit,
  clientOf,
  parseFleetArgs,
  reportFailure,
  writeAnswer,
} from '../fleet/fleet-options.js';

/**
 * `tramway node module load|unload NODE MODULE` (simulated nodes): loads a module (its pending
 * targets attach) or drains the links that pin it and unloads it. Exit 1 when the node refuses,
 * with its errno and reason.
 */
export const runNodeModule: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [action, node, module] = positionalsOf(args, ['load|unload', 'NODE', 'MODULE']);
  if (action !== 'load' && action !== 'unload')
    throw new UsageError(`'${action}' is not load or unload`);
  const answer = await clientOf(args).module(node!, module!, action);
  if (!answer.ok) return reportFailure(io, args, `node module ${action}`, answer);
  const r = answer.body;
  if (args.json) writeAnswer(io, args, r, () => '');
  else if (r.ok)
    io.stdout(`${node}: ${module} ${action === 'load' ? 'loaded' : 'drained and unloaded'}\n`);
  else
    io.stderr(
      `tramway node module ${action}: ${node}: ${module}: ${r.errno ?? 'refused'}: ${r.reason ?? ''}\n`,
    );
  return r.ok ? FleetExit.Ok : FleetExit.Negative;
};
