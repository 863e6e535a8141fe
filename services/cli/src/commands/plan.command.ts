import type { CommandRun } from '../cli-command.js';
import { FleetExit, answerWith, clientOf, parsePolicyArgs } from '../fleet/fleet-options.js';
import { renderPlan } from '../fleet/fleet-render.js';

/**
 * `tramway plan -f POLICY`: a dry run (docs/fleet-protocol.md, `POST /v1/plan`). Per node the
 * functions, the attach path, what would fail and why, and each trampoline's headroom; then the
 * refusals with their reasons. Exit 0 when the policy would be applied, 1 when it is refused.
 */
export const runPlan: CommandRun = async (parsed, io) => {
  const input = await parsePolicyArgs(parsed, io, 'plan');
  if (!input) return FleetExit.Usage;
  const { args, policy } = input;
  return answerWith(io, args, 'plan', clientOf(args).plan(policy.text), renderPlan, (plan) =>
    plan.refused ? FleetExit.Negative : FleetExit.Ok,
  );
};
