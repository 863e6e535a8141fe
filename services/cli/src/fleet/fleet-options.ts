/**
 * What every fleet command shares: `--url` / TRAMWAY_URL, `--actor` / TRAMWAY_ACTOR, `--json`,
 * reading a policy file (checked locally first, so a bad file is exit 2 even with no coordinator),
 * and turning a failed API answer into a message and an exit status.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parsePolicy } from '@tramway/shared/contracts';
import type { SplitArgs } from '../cli-args.js';
import { fileReadProblem, positionalsOf, splitArgs } from '../cli-args.js';
import type { CliIo } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import type { ApiAnswer, CoordinatorClient } from './coordinator-client.js';
import { DEFAULT_COORDINATOR_URL, createCoordinatorClient } from './coordinator-client.js';

/** Exit statuses of the fleet commands (sysexits.h EX_UNAVAILABLE for a coordinator that is not there). */
export const FleetExit = {
  Ok: 0,
  /** the command ran but the outcome is negative (refused, held, not converged, not found) */
  Negative: 1,
  /** bad arguments or a bad file */
  Usage: 2,
  /** nothing answered at the coordinator URL */
  Unavailable: 69,
} as const;
export type FleetExit = (typeof FleetExit)[keyof typeof FleetExit];

export interface FleetArgs extends SplitArgs {
  readonly json: boolean;
  readonly url: string;
  readonly actor: string | undefined;
}

const SHORT: Readonly<Record<string, string>> = { '-f': '--file' };
const ACTOR = /^[A-Za-z0-9._:@/-]{1,128}$/;

/**
 * Splits options (`--x V`, `--x=V`, `-f V`) and positionals (`splitArgs`); `--url`, `--actor` and
 * `--json` are always known. An unknown option, a missing value or a bad URL/actor is a UsageError.
 */
export const parseFleetArgs = (
  args: readonly string[],
  io: CliIo,
  spec: { readonly values?: readonly string[]; readonly flags?: readonly string[] } = {},
): FleetArgs => {
  const { positionals, values, flags } = splitArgs(args, {
    values: ['--url', '--actor', ...(spec.values ?? [])],
    flags: ['--json', ...(spec.flags ?? [])],
    short: SHORT,
  });
  const url = values.get('--url') ?? nonEmpty(io.env['TRAMWAY_URL']) ?? DEFAULT_COORDINATOR_URL;
  if (!/^https?:\/\/[^\s/]+/.test(url))
    throw new UsageError(`coordinator URL '${url}' is not an http:// or https:// URL`);
  const actor = values.get('--actor') ?? nonEmpty(io.env['TRAMWAY_ACTOR']);
  if (actor !== undefined && !ACTOR.test(actor))
    throw new UsageError(`actor '${actor}' must be 1-128 letters, digits or ._:@/-`);
  return { positionals, values, flags, json: flags.has('--json'), url, actor };
};

const nonEmpty = (v: string | undefined): string | undefined =>
  v === undefined || v === '' ? undefined : v;

export const clientOf = (args: FleetArgs): CoordinatorClient =>
  createCoordinatorClient({
    url: args.url,
    ...(args.actor === undefined ? {} : { actor: args.actor }),
  });

/**
 * Reads `-f FILE` and validates it as a TracingPolicy (docs/fleet-protocol.md, "Policy"); on a
 * problem writes every one of them, each with its path, and answers undefined (exit 2).
 */
export const readPolicyFile = async (
  args: FleetArgs,
  io: CliIo,
  command: string,
): Promise<{ readonly file: string; readonly text: string; readonly name: string } | undefined> => {
  const file = args.values.get('--file');
  if (file === undefined) throw new UsageError('-f FILE (the policy) is required');
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    writeError(
      io,
      args,
      command,
      'InvalidFile',
      `${file}: cannot read: ${fileReadProblem(error, 'a policy file')}`,
    );
    return undefined;
  }
  const parsed = parsePolicy(text);
  if (!parsed.ok) {
    const problems = parsed.error.map((p) => `${p.path}: ${p.message}`);
    writeError(io, args, command, 'InvalidPolicy', `${file}: invalid policy`, problems);
    return undefined;
  }
  return { file, text, name: parsed.value.metadata.name };
};

/**
 * The arguments of a command that takes one policy file and nothing else (`plan`, `apply`):
 * `-f POLICY` read and validated, no positional. Undefined when the file was bad (already reported).
 */
export const parsePolicyArgs = async (
  argv: readonly string[],
  io: CliIo,
  command: string,
): Promise<
  { readonly args: FleetArgs; readonly policy: { readonly text: string } } | undefined
> => {
  const args = parseFleetArgs(argv, io, { values: ['--file'] });
  positionalsOf(args, []);
  const policy = await readPolicyFile(args, io, command);
  return policy === undefined ? undefined : { args, policy };
};

/** A successful answer on stdout: its body as indented JSON with --json, else `text(body)`. */
export const writeAnswer = <T>(
  io: CliIo,
  args: Pick<FleetArgs, 'json'>,
  body: T,
  text: (body: T) => string,
): void => {
  io.stdout(args.json ? `${JSON.stringify(body, null, 2)}\n` : text(body));
};

/**
 * Awaits one coordinator request and answers for the command: a failure reported as
 * `reportFailure` does, with its exit status; a success written by `writeAnswer`, exit
 * `exit(body)` (Ok unless given).
 */
export const answerWith = async <T>(
  io: CliIo,
  args: Pick<FleetArgs, 'json'>,
  command: string,
  request: Promise<ApiAnswer<T>>,
  text: (body: T) => string,
  exit: (body: T) => FleetExit = () => FleetExit.Ok,
): Promise<FleetExit> => {
  const answer = await request;
  if (!answer.ok) return reportFailure(io, args, command, answer);
  writeAnswer(io, args, answer.body, text);
  return exit(answer.body);
};

/** An error on stderr (with its details, one per line) and, with --json, as a document on stdout. */
export const writeError = (
  io: CliIo,
  args: Pick<FleetArgs, 'json'>,
  command: string,
  code: string,
  message: string,
  details?: unknown,
): void => {
  const lines = Array.isArray(details) ? details.map((d) => `  ${String(d)}`) : [];
  io.stderr(`tramway ${command}: ${message}${lines.length > 0 ? `:\n${lines.join('\n')}` : ''}\n`);
  if (args.json) {
    io.stdout(
      `${JSON.stringify({ error: { code, message, ...(details === undefined ? {} : { details }) } }, null, 2)}\n`,
    );
  }
};

/**
 * Reports a failed answer and gives its exit status: unreachable 69; an invalid policy or request
 * 2; anything else the coordinator refused (not found, conflict, plan refused, agent down) 1.
 */
export const reportFailure = (
  io: CliIo,
  args: Pick<FleetArgs, 'json'>,
  command: string,
  answer: Exclude<ApiAnswer<unknown>, { ok: true }>,
): FleetExit => {
  switch (answer.kind) {
    case 'unreachable':
      writeError(
        io,
        args,
        command,
        'Unreachable',
        `cannot reach the coordinator at ${answer.url} (${answer.message}); start one with 'npm start' or point --url / TRAMWAY_URL at it`,
      );
      return FleetExit.Unavailable;
    case 'protocol':
      writeError(io, args, command, 'Protocol', answer.message);
      return FleetExit.Unavailable;
    case 'http': {
      const { code, message, details } = answer.error;
      writeError(io, args, command, code, message, details);
      return code === 'InvalidPolicy' || code === 'InvalidRequest'
        ? FleetExit.Usage
        : FleetExit.Negative;
    }
  }
};
