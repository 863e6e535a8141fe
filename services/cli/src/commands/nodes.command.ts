import type { CliCommand } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import {
  FleetExit,
  clientOf,
  parseFleetArgs,
  reportFailure,
  writeAnswer,
} from '../fleet/fleet-options.js';
import { renderNodes } from '../fleet/fleet-render.js';

/** `tramway nodes`: every registered node, its labels, multi-link profile, path and health. */
export const nodesCommand: CliCommand = {
  path: ['nodes'],
  usage: 'nodes [--json] [--url URL]',
  summary: 'list the fleet: labels, profile, attach path, generations, health',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io);
    positionalsOf(args, []);
    const answer = await clientOf(args).nodes();
    if (!answer.ok) return reportFailure(io, args, 'nodes', answer);
    writeAnswer(io, args, answer.body, renderNodes);
    return FleetExit.Ok;
  },
};
