import type { CommandRun } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { answerWith, clientOf, parseFleetArgs } from '../fleet/fleet-options.js';
import { renderNodes } from '../fleet/fleet-render.js';

/** `tramway nodes`: every registered node, its labels, multi-link profile, path and health. */
export const runNodes: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  positionalsOf(args, []);
  return answerWith(io, args, 'nodes', clientOf(args).nodes(), renderNodes);
};
