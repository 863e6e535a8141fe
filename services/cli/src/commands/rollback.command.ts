import type { CommandRun } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { answerWith, clientOf, parseFleetArgs } from '../fleet/fleet-options.js';

/**
 * `tramway rollback POLICY [--reason TEXT]`: rolls the policy back to its previous version
 * (`POST /v1/policies/:name/rollback`), make-before-break on every node. Exit 1 when there is no
 * such policy or no previous version.
 */
export const runRollback: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [name] = positionalsOf(args, ['POLICY']);
  return answerWith(
    io,
    args,
    'rollback',
    clientOf(args).rollback(name!, args.values.get('--reason')),
    ({ rolloutId }) =>
      `rolling ${name} back: rollout ${rolloutId}\nfollow it with: tramway status ${name} --watch\n`,
  );
};

/** `tramway resume ROLLOUT`: accepts a held wave's failures and lets the rollout go on. */
export const runResume: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [id] = positionalsOf(args, ['ROLLOUT']);
  return answerWith(
    io,
    args,
    'resume',
    clientOf(args).resume(id!),
    ({ rolloutId }) => `resumed rollout ${rolloutId}\n`,
  );
};
