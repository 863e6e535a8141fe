import { setTimeout as sleep } from 'node:timers/promises';
import type { CliIo, CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import type { FleetArgs } from '../fleet/fleet-options.js';
import { positionalsOf } from '../cli-args.js';
import {
  FleetExit,
  answerWith,
  clientOf,
  parseFleetArgs,
  reportFailure,
  writeAnswer,
} from '../fleet/fleet-options.js';
import type { StatusView } from '../fleet/coordinator-client.js';
import { renderNodes, renderStatus, statusLine } from '../fleet/fleet-render.js';
import { formatDocument, tableStyle } from '../output.js';

/**
 * Redraw in place only on a terminal: TRAMWAY_TTY=1/0 forces it either way (tests, pipes that
 * understand ANSI); otherwise the process's stdout decides.
 */
const isTty = (io: CliIo): boolean =>
  io.env['TRAMWAY_TTY'] === '1' || (io.env['TRAMWAY_TTY'] !== '0' && process.stdout.isTTY === true);

const lineCount = (text: string): number => text.split('\n').length - 1;

/** A rollout is over when it completed or is held, or was rolled back and every node has caught up. */
const settled = (s: StatusView): boolean => {
  const state = s.rollout?.state;
  if (state === 'running') return false;
  if (state === 'rolled-back')
    return s.nodes.every((n) => n.state === 'converged' || n.state === 'failed');
  return true;
};

/** What changed between two answers: the answer without the coordinator's clock. */
const changeKey = (s: StatusView): string => JSON.stringify({ ...s, now: undefined });

/**
 * Follows a rollout: asks every `intervalMs` and shows it again when it changed, or (on a
 * terminal) when the countdown of a pause ticks. The countdown runs on the coordinator's clock:
 * its `now` when it answered plus the time since, so a skewed local clock does not shift it.
 */
const watch = async (
  args: FleetArgs,
  io: CliIo,
  name: string,
  intervalMs: number,
  timeoutS: number,
): Promise<number> => {
  const deadline = Date.now() + timeoutS * 1000;
  const client = clientOf(args);
  const tty = !args.json && isTty(io);
  let last = '';
  let shown = '';
  let drawn = 0;
  for (;;) {
    const answer = await client.status(name);
    if (!answer.ok) return reportFailure(io, args, 'status', answer);
    const s: StatusView = answer.body;
    const askedAt = Date.now();
    const serverAt = s.now === undefined ? Number.NaN : Date.parse(s.now);
    const clock = (): number =>
      Number.isNaN(serverAt) ? Date.now() : serverAt + (Date.now() - askedAt);
    const key = changeKey(s);
    const changed = key !== last;
    last = key;
    if (args.json) {
      // one document per change: a JSON line, or a YAML document
      if (changed)
        io.stdout(
          args.output === 'yaml' ? `---\n${formatDocument('yaml', s)}` : `${JSON.stringify(s)}\n`,
        );
    } else if (tty) {
      const text = renderStatus(s, tableStyle(io, args.output), clock());
      if (text !== shown) {
        io.stdout(`${drawn > 0 ? `\x1b[${drawn}A\r\x1b[J` : ''}${text}`);
        drawn = lineCount(text);
        shown = text;
      }
    } else if (changed) io.stdout(`${statusLine(s, clock())}\n`);
    if (settled(s)) {
      if (!args.json && !tty) io.stdout(renderStatus(s, tableStyle(io, args.output)));
      return s.rollout?.state === 'held' ? FleetExit.Negative : FleetExit.Ok;
    }
    if (Date.now() > deadline) {
      io.stderr(
        `tramway status: ${name} still ${s.rollout?.state ?? 'without rollout'} after ${timeoutS} s\n`,
      );
      return FleetExit.Negative;
    }
    // on a terminal, wake at least every second so that a countdown ticks
    await sleep(tty && s.rollout?.pause ? Math.min(intervalMs, 1000) : intervalMs);
  }
};

/**
 * `tramway status [POLICY] [--watch]`: a policy's rollout per wave (with progress bars), node and
 * function counts; without POLICY the fleet's nodes. `--watch` follows a running rollout until it
 * completes or its rollback has reached every node (exit 0), is held (exit 1) or --timeout-s
 * passes (exit 1): every wave from the start (pending ones with their nodes) and, during a pause
 * between waves, a countdown to the next; redrawn in place on a terminal, one line per change
 * otherwise, one JSON document per line and change with --json.
 */
export const runStatus: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [name] = positionalsOf(args, ['POLICY'], 1);
  const rawInterval = args.values.get('--interval-ms') ?? '500';
  if (!/^\d+$/.test(rawInterval) || Number(rawInterval) < 50 || Number(rawInterval) > 60_000)
    throw new UsageError(`--interval-ms '${rawInterval}' is not an integer in 50..60000`);
  if (name === undefined) {
    if (args.flags.has('--watch')) throw new UsageError('--watch needs a POLICY');
    const answer = await clientOf(args).nodes();
    if (!answer.ok) return reportFailure(io, args, 'status', answer);
    writeAnswer(io, args, { nodes: answer.body }, ({ nodes }, style) => renderNodes(nodes, style));
    return FleetExit.Ok;
  }
  const rawTimeout = args.values.get('--timeout-s') ?? '3600';
  if (!/^\d+$/.test(rawTimeout) || Number(rawTimeout) < 1 || Number(rawTimeout) > 86_400)
    throw new UsageError(`--timeout-s '${rawTimeout}' is not an integer in 1..86400`);
  if (args.flags.has('--watch'))
    return watch(args, io, name, Number(rawInterval), Number(rawTimeout));
  return answerWith(io, args, 'status', clientOf(args).status(name), renderStatus);
};
