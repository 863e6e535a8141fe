import type { CliIo, CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import type { RollbackView } from '../fleet/coordinator-client.js';
import type { FleetArgs } from '../fleet/fleet-options.js';
import {
  FleetExit,
  answerWith,
  clientOf,
  parseFleetArgs,
  reportFailure,
  writeAnswer,
} from '../fleet/fleet-options.js';
import { followRollout, followTimings } from '../fleet/follow-rollout.js';

/** What a rollback started, in words: from which version to which, by which rollout. */
export const rollbackStarted = (name: string, v: RollbackView): string => {
  const to =
    v.toVersion === undefined
      ? 'its previous version'
      : v.toVersion === null
        ? 'no version (it had none before: the policy is removed)'
        : `v${v.toVersion}`;
  const from = v.fromVersion === undefined ? '' : ` from v${v.fromVersion}`;
  const undone = v.rolledBack === undefined ? '' : ` (undoes ${v.rolledBack})`;
  return `rolling ${name} back${from} to ${to}: rollout ${v.rolloutId}${undone}\n`;
};

/**
 * The rollback of POLICY once parsed: asks the coordinator, then (unless `--no-wait` or a
 * structured output) follows the rollback's own rollout until every node it reached is back.
 */
export const rollBack = async (
  args: FleetArgs,
  io: CliIo,
  name: string,
  options: { readonly wait: boolean; readonly intervalMs: number; readonly timeoutS: number },
): Promise<FleetExit> => {
  const client = clientOf(args);
  const answer = await client.rollback(name, args.values.get('--reason'));
  if (!answer.ok) return reportFailure(io, args, 'rollback', answer);
  const v = answer.body;
  if (!options.wait || args.json) {
    writeAnswer(
      io,
      args,
      v,
      (b) => `${rollbackStarted(name, b)}follow it with: tramway status ${name} --watch\n`,
    );
    return FleetExit.Ok;
  }
  io.stdout(rollbackStarted(name, v));
  return followRollout(client, io, args, {
    command: 'rollback',
    policy: name,
    rolloutId: v.rolloutId,
    intervalMs: options.intervalMs,
    timeoutS: options.timeoutS,
    done: (s) =>
      v.toVersion === null
        ? `rolled back: policy ${name} removed from ${s.nodes.length} node(s)\n`
        : `rolled back: ${s.nodes.length} node(s) run ${v.toVersion === undefined ? 'the previous version' : `v${v.toVersion}`} again\n`,
  });
};

/**
 * `tramway rollback POLICY [--reason TEXT]`: rolls the policy's latest rollout back
 * (`POST /v1/policies/:name/rollback`): the version it replaced is in force again, and a rollout
 * of its own gives every node it reached that version back (make-before-break), or releases the
 * policy when it had no previous version. Waits and prints that rollout's progress until every
 * node is back (exit 0), unless `--no-wait` or `-o json|yaml`. Exit 1 when there is no such
 * policy, nothing newer to roll back to (the message names the versions), or the wait times out.
 */
export const runRollback: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [name] = positionalsOf(args, ['POLICY']);
  const timings = followTimings(args);
  if (typeof timings === 'string') throw new UsageError(timings);
  return rollBack(args, io, name!, { wait: !args.flags.has('--no-wait'), ...timings });
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
