/**
 * Following one rollout until it is over, for the commands that start one and wait (`rollback`,
 * `policy delete`): polls the policy's status, prints a line whenever it changes (one JSON
 * document per change with --json), and answers once the rollout completed (exit 0), is held
 * (exit 1), was replaced by another rollout (exit 1) or the timeout passed (exit 1).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliIo } from '../cli-command.js';
import type { CoordinatorClient, StatusView } from './coordinator-client.js';
import type { FleetArgs } from './fleet-options.js';
import { FleetExit, reportFailure } from './fleet-options.js';
import { statusLine } from './fleet-render.js';

export interface FollowOptions {
  readonly command: string;
  readonly policy: string;
  readonly rolloutId: string;
  readonly intervalMs: number;
  readonly timeoutS: number;
  /** the last line once it completed */
  readonly done: (status: StatusView) => string;
}

export const followRollout = async (
  client: CoordinatorClient,
  io: CliIo,
  args: Pick<FleetArgs, 'json' | 'output'>,
  options: FollowOptions,
): Promise<FleetExit> => {
  const deadline = Date.now() + options.timeoutS * 1000;
  let last = '';
  for (;;) {
    const answer = await client.status(options.policy);
    if (!answer.ok) return reportFailure(io, args, options.command, answer);
    const s = answer.body;
    const r = s.rollout;
    const key = JSON.stringify(s);
    if (key !== last) {
      last = key;
      io.stdout(args.json ? `${JSON.stringify(s)}\n` : `${statusLine(s)}\n`);
    }
    if (!r || r.id !== options.rolloutId) {
      io.stderr(
        `tramway ${options.command}: rollout ${options.rolloutId} is no longer the latest of ${options.policy} (now: ${r?.id ?? 'none'})\n`,
      );
      return FleetExit.Negative;
    }
    if (r.state === 'completed') {
      if (!args.json) io.stdout(options.done(s));
      return FleetExit.Ok;
    }
    if (r.state === 'held' || r.state === 'rolled-back') {
      io.stderr(`tramway ${options.command}: rollout ${r.id} is ${r.state}\n`);
      return FleetExit.Negative;
    }
    if (Date.now() > deadline) {
      const done = s.nodes.filter((n) => n.state === 'converged').length;
      io.stderr(
        `tramway ${options.command}: rollout ${r.id} still ${r.state} after ${options.timeoutS} s (${done}/${s.nodes.length} nodes done); follow it with: tramway status ${options.policy} --watch\n`,
      );
      return FleetExit.Negative;
    }
    await sleep(options.intervalMs);
  }
};

/** `--interval-ms` (50..60000, default 500) and `--timeout-s` (1..86400, default 600). */
export const followTimings = (
  args: Pick<FleetArgs, 'values'>,
): { readonly intervalMs: number; readonly timeoutS: number } | string => {
  const rawInterval = args.values.get('--interval-ms') ?? '500';
  if (!/^\d+$/.test(rawInterval) || Number(rawInterval) < 50 || Number(rawInterval) > 60_000)
    return `--interval-ms '${rawInterval}' is not an integer in 50..60000`;
  const rawTimeout = args.values.get('--timeout-s') ?? '600';
  if (!/^\d+$/.test(rawTimeout) || Number(rawTimeout) < 1 || Number(rawTimeout) > 86_400)
    return `--timeout-s '${rawTimeout}' is not an integer in 1..86400`;
  return { intervalMs: Number(rawInterval), timeoutS: Number(rawTimeout) };
};
