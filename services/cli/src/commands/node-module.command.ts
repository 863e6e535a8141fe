import type { CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import type { ModuleView } from '../fleet/coordinator-client.js';
import {
  FleetExit,
  clientOf,
  parseFleetArgs,
  reportFailure,
  writeAnswer,
} from '../fleet/fleet-options.js';
import { renderModuleEffect } from '../fleet/fleet-render.js';

/** Longest --timeout-s: the coordinator waits 25 s at most (MAX_MODULE_WAIT_MS). */
const MAX_WAIT_S = 25;

/** `--timeout-s N` (1..25, default 20) in ms, or undefined with --no-wait. */
export const moduleWaitMs = (
  flags: ReadonlySet<string>,
  raw: string | undefined,
): number | undefined => {
  if (flags.has('--no-wait')) {
    if (raw !== undefined) throw new UsageError('--timeout-s goes with waiting: drop --no-wait');
    return undefined;
  }
  const text = raw ?? '20';
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_WAIT_S)
    throw new UsageError(`--timeout-s '${text}' is not an integer in 1..${MAX_WAIT_S}`);
  return Number(text) * 1000;
};

/**
 * `tramway node module load|unload NODE MODULE` (simulated nodes): loads a module (its pending
 * targets attach) or drains the links that pin it and unloads it, then waits (--timeout-s, 20 s)
 * until the agent has reported it and what it did, and shows that: the functions attached or
 * released per policy, those refused, those still pending. `--no-wait` answers as soon as the
 * agent did it. Exit 1 when the node refuses (its errno and reason) or the report did not come
 * in time.
 */
export const runNodeModule: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [action, node, module] = positionalsOf(args, ['load|unload', 'NODE', 'MODULE']);
  if (action !== 'load' && action !== 'unload')
    throw new UsageError(`'${action}' is not load or unload`);
  const waitMs = moduleWaitMs(args.flags, args.values.get('--timeout-s'));
  const answer = await clientOf(args).module(node!, module!, action, waitMs);
  if (!answer.ok) return reportFailure(io, args, `node module ${action}`, answer);
  const r: ModuleView = answer.body;
  if (args.json) writeAnswer(io, args, r, () => '');
  else if (r.ok) {
    io.stdout(`${node}: ${module} ${action === 'load' ? 'loaded' : 'drained and unloaded'}\n`);
    if (r.effect) io.stdout(renderModuleEffect(node!, r.effect));
  } else
    io.stderr(
      `tramway node module ${action}: ${node}: ${module}: ${r.errno ?? 'refused'}: ${r.reason ?? ''}\n`,
    );
  if (r.ok && r.waited === 'timeout')
    io.stderr(
      `tramway node module ${action}: ${node} did not report the effect within ${(waitMs ?? 0) / 1000} s (shown as far as reported); raise --timeout-s\n`,
    );
  return r.ok && r.waited !== 'timeout' ? FleetExit.Ok : FleetExit.Negative;
};
