import type { CliCommand } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import {
  FleetExit,
  clientOf,
  parseFleetArgs,
  readPolicyFile,
  reportFailure,
} from '../fleet/fleet-options.js';
import { renderPlan } from '../fleet/fleet-render.js';

/**
 * `tramway plan -f POLICY`: a dry run (docs/fleet-protocol.md, `POST /v1/plan`). Per node the
 * functions, the attach path, what would fail and why, and each trampoline's headroom; then the
 * refusals with their reasons. Exit 0 when the policy would be applied, 1 when it is refused.
 */
export const planCommand: CliCommand = {
  path: ['plan'],
  usage: 'plan -f POLICY [--json] [--url URL]',
  summary: 'dry-run a policy: per node functions, path, failures, headroom',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io, { values: ['--file'] });
    if (args.positionals.length > 0)
      throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const policy = await readPolicyFile(args, io, 'plan');
    if (!policy) return FleetExit.Usage;
    const answer = await clientOf(args).plan(policy.text);
    if (!answer.ok) return reportFailure(io, args, 'plan', answer);
    io.stdout(args.json ? `${JSON.stringify(answer.body, null, 2)}\n` : renderPlan(answer.body));
    return answer.body.refused ? FleetExit.Negative : FleetExit.Ok;
  },
};
