import type { CliCommand } from '../cli-command.js';
import {
  FleetExit,
  clientOf,
  parseFleetArgs,
  positionalsOf,
  reportFailure,
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
    io.stdout(args.json ? `${JSON.stringify(answer.body, null, 2)}\n` : renderNodes(answer.body));
    return FleetExit.Ok;
  },
};
