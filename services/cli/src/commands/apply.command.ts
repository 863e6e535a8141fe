import type { CliCommand } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import {
  FleetExit,
  clientOf,
  parseFleetArgs,
  readPolicyFile,
  reportFailure,
} from '../fleet/fleet-options.js';

/**
 * `tramway apply -f POLICY`: records the policy's next version and starts its rollout in waves
 * (`POST /v1/policies`). Exit 0 when the rollout started (or the same spec is already applied),
 * 1 when refused at plan time or a rollout of it is still running, 2 for an invalid policy.
 */
export const applyCommand: CliCommand = {
  path: ['apply'],
  usage: 'apply -f POLICY [--json] [--url URL] [--actor WHO]',
  summary: 'apply a policy: plan it, then roll it out wave by wave',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io, { values: ['--file'] });
    if (args.positionals.length > 0)
      throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const policy = await readPolicyFile(args, io, 'apply');
    if (!policy) return FleetExit.Usage;
    const answer = await clientOf(args).apply(policy.text);
    if (!answer.ok) return reportFailure(io, args, 'apply', answer);
    const { policy: name, version, rolloutId } = answer.body;
    io.stdout(
      args.json
        ? `${JSON.stringify(answer.body, null, 2)}\n`
        : `applied ${name} v${version}: rollout ${rolloutId}\nfollow it with: tramway status ${name} --watch\n`,
    );
    return FleetExit.Ok;
  },
};
