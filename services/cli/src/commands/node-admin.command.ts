import type { CliCommand } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { answerWith, clientOf, parseFleetArgs } from '../fleet/fleet-options.js';

/**
 * `tramway node approve NODE [--reason TEXT]`: admits a node that waits as pending
 * (`POST /v1/nodes/:node/approve`, admin); the actor is recorded as the approver. From then on it
 * is given assignments and counts in rollouts. Exit 1 when no such node asked to be admitted.
 */
export const nodeApproveCommand: CliCommand = {
  path: ['node', 'approve'],
  usage: 'node approve NODE [--reason TEXT] [--json] [--url URL] [--actor WHO]',
  summary: 'admit a pending node (it then gets assignments and counts in rollouts)',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io, { values: ['--reason'] });
    const [node] = positionalsOf(args, ['NODE']);
    return answerWith(
      io,
      args,
      'node approve',
      clientOf(args).approve(node!, args.values.get('--reason')),
      ({ changed }) => `${node}: ${changed ? 'approved' : 'already approved'}\n`,
    );
  },
};

/**
 * `tramway node reset NODE [--reason TEXT]`: takes the node back with a new epoch
 * (`POST /v1/nodes/:node/reset`): its next assignment wins over whatever (epoch, generation) it
 * holds, and the log records who and why.
 */
export const nodeResetCommand: CliCommand = {
  path: ['node', 'reset'],
  usage: 'node reset NODE [--reason TEXT] [--json] [--url URL] [--actor WHO]',
  summary: 'take a node back with a new epoch (its next assignment wins over what it holds)',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io, { values: ['--reason'] });
    const [node] = positionalsOf(args, ['NODE']);
    return answerWith(
      io,
      args,
      'node reset',
      clientOf(args).reset(node!, args.values.get('--reason')),
      ({ epoch, generation }) =>
        `${node}: taken back in epoch ${epoch} (generation ${generation})\n`,
    );
  },
};
