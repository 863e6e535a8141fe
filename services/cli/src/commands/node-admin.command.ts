import type { CommandRun } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import type { ApiAnswer, CoordinatorClient } from '../fleet/coordinator-client.js';
import { answerWith, clientOf, parseFleetArgs } from '../fleet/fleet-options.js';

/** An admin verb on one node: `tramway node <verb> NODE [--reason TEXT]`. */
const nodeAdminCommand =
  <T>(spec: {
    readonly verb: string;
    readonly call: (
      client: CoordinatorClient,
      node: string,
      reason?: string,
    ) => Promise<ApiAnswer<T>>;
    readonly render: (node: string, answer: T) => string;
  }): CommandRun =>
  async (parsed, io) => {
    const args = parseFleetArgs(parsed, io);
    const [node] = positionalsOf(args, ['NODE']);
    return answerWith(
      io,
      args,
      `node ${spec.verb}`,
      spec.call(clientOf(args), node!, args.values.get('--reason')),
      (answer) => spec.render(node!, answer),
    );
  };

/**
 * `tramway node approve NODE [--reason TEXT]`: admits a node that waits as pending
 * (`POST /v1/nodes/:node/approve`, admin); the actor is recorded as the approver. From then on it
 * is given assignments and counts in rollouts. Exit 1 when no such node asked to be admitted.
 */
export const runNodeApprove = nodeAdminCommand({
  verb: 'approve',
  call: (client, node, reason) => client.approve(node, reason),
  render: (node, { changed }) => `${node}: ${changed ? 'approved' : 'already approved'}\n`,
});

/**
 * `tramway node reset NODE [--reason TEXT]`: takes the node back with a new epoch
 * (`POST /v1/nodes/:node/reset`): its next assignment wins over whatever (epoch, generation) it
 * holds, and the log records who and why.
 */
export const runNodeReset = nodeAdminCommand({
  verb: 'reset',
  call: (client, node, reason) => client.reset(node, reason),
  render: (node, { epoch, generation }) =>
    `${node}: taken back in epoch ${epoch} (generation ${generation})\n`,
});
