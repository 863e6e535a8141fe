import type { CommandRun } from '../cli-command.js';
import { FleetExit, answerWith, clientOf, parsePolicyArgs } from '../fleet/fleet-options.js';

/**
 * `tramway apply -f POLICY`: records the policy's next version and starts its rollout in waves
 * (`POST /v1/policies`). Exit 0 when the rollout started, or "unchanged" when the spec is the one
 * in force (HTTP 200: nothing recorded, nothing rolled out),
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
    ({ policy: name, version, rolloutId, unchanged }) =>
      unchanged === true
        ? `unchanged: ${name} v${version} is the spec in force (no new version, no rollout)\n`
        : `applied ${name} v${version}: rollout ${rolloutId}\nfollow it with: tramway status ${name} --watch\n`,
  );
};
