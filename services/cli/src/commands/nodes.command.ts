import type { CliCommand } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { answerWith, clientOf, parseFleetArgs } from '../fleet/fleet-options.js';
import { renderNodes } from '../fleet/fleet-render.js';

/** `tramway nodes`: every registered node, its labels, multi-link profile, path and health. */
export const nodesCommand: CliCommand = {
  path: ['nodes'],
  usage: 'nodes [--json] [--url URL]',
  summary: 'list the fleet: labels, profile, attach path, generations, health',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io);
    positionalsOf(args, []);
    return answerWith(io, args, 'nodes', clientOf(args).nodes(), renderNodes);
  },
};
