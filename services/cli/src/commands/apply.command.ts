import type { CommandRun } from '../cli-command.js';
import { FleetExit, answerWith, clientOf, parsePolicyArgs } from '../fleet/fleet-options.js';

/**
 * `tramway apply -f POLICY`: records the policy's next version and starts its rollout in waves
 * (`POST /v1/policies`). Exit 0 when the rollout started (or the same spec is already applied),
 * 1 when refused at plan time or a rollout of it is still running, 2 for an invalid policy.
 */
export const runApply: CommandRun = async (parsed, io) => {
  const input = await parsePolicyArgs(parsed, io, 'apply');
  if (!input) return FleetExit.Usage;
  const { args, policy } = input;
  return answerWith(
    io,
    args,
    'apply',
    clientOf(args).apply(policy.text),
    ({ policy: name, version, rolloutId }) =>
      `applied ${name} v${version}: rollout ${rolloutId}\nfollow it with: tramway status ${name} --watch\n`,
  );
};
