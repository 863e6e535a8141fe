import type { CliCommand } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { answerWith, clientOf, parseFleetArgs } from '../fleet/fleet-options.js';

/**
 * `tramway rollback POLICY [--reason TEXT]`: rolls the policy back to its previous version
 * (`POST /v1/policies/:name/rollback`), make-before-break on every node. Exit 1 when there is no
 * such policy or no previous version.
 */
export const rollbackCommand: CliCommand = {
  path: ['rollback'],
  usage: 'rollback POLICY [--reason TEXT] [--json] [--url URL] [--token T] [--on-behalf-of WHO]',
  summary: 'roll a policy back to its previous version',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io, { values: ['--reason'] });
    const [name] = positionalsOf(args, ['POLICY']);
    return answerWith(
      io,
      args,
      'rollback',
      clientOf(args).rollback(name!, args.values.get('--reason')),
      ({ rolloutId }) =>
        `rolling ${name} back: rollout ${rolloutId}\nfollow it with: tramway status ${name} --watch\n`,
    );
  },
};

/** `tramway resume ROLLOUT`: accepts a held wave's failures and lets the rollout go on. */
export const resumeCommand: CliCommand = {
  path: ['resume'],
  usage: 'resume ROLLOUT [--json] [--url URL] [--token T] [--on-behalf-of WHO]',
  summary: 'resume a rollout held by its failure gate',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io);
    const [id] = positionalsOf(args, ['ROLLOUT']);
    return answerWith(
      io,
      args,
      'resume',
      clientOf(args).resume(id!),
      ({ rolloutId }) => `resumed rollout ${rolloutId}\n`,
    );
  },
};
