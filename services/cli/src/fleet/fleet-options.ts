/**
 * What every fleet command shares: `--url` / TRAMWAY_URL, the credential (`--token` /
 * TRAMWAY_TOKEN / `./.tramway/admin.token`; `--ca-file`, `--cert`, `--key` for https), an
 * admin's `--on-behalf-of`, the output format (`-o`, `--json`),
 * reading a policy file (checked locally first, so a bad file is exit 2 even with no coordinator),
 * and turning a failed API answer into a message and an exit status.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SplitArgs } from '../cli-args.js';
import { fileReadProblem, positionalsOf } from '../cli-args.js';
import type { CliIo } from '../cli-command.js';
import { ExitCode, UsageError } from '../cli-command.js';
import type { TableStyle } from '../output.js';
import { formatDocument, tableStyle } from '../output.js';
import { isStructured } from '../output-format.js';
import type { ApiAnswer, CoordinatorClient } from './coordinator-client.js';
import { DEFAULT_COORDINATOR_URL, createCoordinatorClient } from './coordinator-client.js';
import type { ClientTls } from './tls-fetch.js';

/** Exit statuses of the fleet commands (sysexits.h EX_UNAVAILABLE for a coordinator that is not there). */
export const FleetExit = {
  Ok: ExitCode.Ok,
  /** the command ran but the outcome is negative (refused, held, not converged, not found) */
  Negative: ExitCode.Negative,
  /** bad arguments or a bad file */
  Usage: ExitCode.Usage,
  /** nothing answered at the coordinator URL */
  Unavailable: ExitCode.Unavailable,
} as const;
export type FleetExit = (typeof FleetExit)[keyof typeof FleetExit];

export interface FleetArgs extends SplitArgs {
  /** a structured output (-o json or yaml, --json): documents on stdout, errors too */
  readonly json: boolean;
  readonly url: string;
  /** the bearer token: --token, else TRAMWAY_TOKEN, else ./.tramway/admin.token */
  readonly token: string | undefined;
  /** where the token came from (for messages; never the token) */
  readonly tokenSource: string | undefined;
  readonly onBehalfOf: string | undefined;
  readonly tls: ClientTls;
}

/** Where `npm start` (the embedded mode) writes its admin token, relative to the working directory. */
export const DEFAULT_TOKEN_FILE = '.tramway/admin.token';

const ACTOR = /^[A-Za-z0-9._:@/-]{1,128}$/;

/** The token of a file (first line, trimmed); undefined when there is none. */
const tokenOfFile = (file: string): string | undefined => {
  if (!existsSync(file)) return undefined;
  try {
    const text = readFileSync(file, 'utf8').split('\n')[0]!.trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
};

/**
 * The connection of a fleet command: `--url` / TRAMWAY_URL, the credential (`--token`,
 * TRAMWAY_TOKEN, ./.tramway/admin.token), TLS files and `--on-behalf-of` (options over the
 * environment). A bad URL or name, or --cert without --key, is a UsageError.
 */
export const parseFleetArgs = (args: SplitArgs, io: CliIo): FleetArgs => {
  const { values } = args;
  const url = values.get('--url') ?? nonEmpty(io.env['TRAMWAY_URL']) ?? DEFAULT_COORDINATOR_URL;
  if (!/^https?:\/\/[^\s/]+/.test(url))
    throw new UsageError(`coordinator URL '${url}' is not an http:// or https:// URL`);
  const onBehalfOf = values.get('--on-behalf-of') ?? nonEmpty(io.env['TRAMWAY_ON_BEHALF_OF']);
  if (onBehalfOf !== undefined && !ACTOR.test(onBehalfOf))
    throw new UsageError(`--on-behalf-of '${onBehalfOf}' must be 1-128 letters, digits or ._:@/-`);
  const flagToken = values.get('--token');
  const envToken = nonEmpty(io.env['TRAMWAY_TOKEN']);
  const file = resolve(io.cwd, DEFAULT_TOKEN_FILE);
  const fileToken = (flagToken ?? envToken) ? undefined : tokenOfFile(file);
  const token = flagToken ?? envToken ?? fileToken;
  const tokenSource =
    flagToken !== undefined
      ? '--token'
      : envToken !== undefined
        ? 'TRAMWAY_TOKEN'
        : fileToken !== undefined
          ? file
          : undefined;
  const opt = (flag: string, env: string): string | undefined =>
    values.get(flag) ?? nonEmpty(io.env[env]);
  const caFile = opt('--ca-file', 'TRAMWAY_CA_FILE');
  const certFile = opt('--cert', 'TRAMWAY_CLIENT_CERT');
  const keyFile = opt('--key', 'TRAMWAY_CLIENT_KEY');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError('--cert and --key (TRAMWAY_CLIENT_CERT, TRAMWAY_CLIENT_KEY) go together');
  const tls: ClientTls = {
    ...(caFile === undefined ? {} : { caFile: resolve(io.cwd, caFile) }),
    ...(certFile === undefined ? {} : { certFile: resolve(io.cwd, certFile) }),
    ...(keyFile === undefined ? {} : { keyFile: resolve(io.cwd, keyFile) }),
  };
  return {
    ...args,
    json: isStructured(args.output),
    url,
    token,
    tokenSource,
    onBehalfOf,
    tls,
  };
};

const nonEmpty = (v: string | undefined): string | undefined =>
  v === undefined || v === '' ? undefined : v;

export const clientOf = (args: FleetArgs): CoordinatorClient =>
  createCoordinatorClient({
    url: args.url,
    ...(args.token === undefined ? {} : { token: args.token }),
    ...(args.onBehalfOf === undefined ? {} : { onBehalfOf: args.onBehalfOf }),
    tls: args.tls,
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
  // loaded here, not at the top: the contracts (zod, yaml) are most of the CLI's code, and only
  // the commands that read a policy need them (`tramway nodes` starts without)
  const { parsePolicy } = await import('@tramway/shared/contracts');
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
  parsed: SplitArgs,
  io: CliIo,
  command: string,
): Promise<
  { readonly args: FleetArgs; readonly policy: { readonly text: string } } | undefined
> => {
  const args = parseFleetArgs(parsed, io);
  positionalsOf(args, []);
  const policy = await readPolicyFile(args, io, command);
  return policy === undefined ? undefined : { args, policy };
};

/**
 * A successful answer on stdout: its body as a document with -o json|yaml (--json), else
 * `text(body, style)` (the style says -o wide, and the terminal's width to fit tables to).
 */
export const writeAnswer = <T>(
  io: CliIo,
  args: Pick<FleetArgs, 'output'>,
  body: T,
  text: (body: T, style: TableStyle) => string,
): void => {
  io.stdout(
    isStructured(args.output)
      ? formatDocument(args.output, body)
      : text(body, tableStyle(io, args.output)),
  );
};

/**
 * Awaits one coordinator request and answers for the command: a failure reported as
 * `reportFailure` does, with its exit status; a success written by `writeAnswer`, exit
 * `exit(body)` (Ok unless given).
 */
export const answerWith = async <T>(
  io: CliIo,
  args: Pick<FleetArgs, 'output'>,
  command: string,
  request: Promise<ApiAnswer<T>>,
  text: (body: T, style: TableStyle) => string,
  exit: (body: T) => FleetExit = () => FleetExit.Ok,
): Promise<FleetExit> => {
  const answer = await request;
  if (!answer.ok) return reportFailure(io, args, command, answer);
  writeAnswer(io, args, answer.body, text);
  return exit(answer.body);
};

/** An error on stderr (with its details, one per line) and, with -o json|yaml, as a document on stdout. */
export const writeError = (
  io: CliIo,
  args: Pick<FleetArgs, 'output'>,
  command: string,
  code: string,
  message: string,
  details?: unknown,
): void => {
  const lines = Array.isArray(details) ? details.map((d) => `  ${String(d)}`) : [];
  io.stderr(`tramway ${command}: ${message}${lines.length > 0 ? `:\n${lines.join('\n')}` : ''}\n`);
  if (isStructured(args.output)) {
    io.stdout(
      formatDocument(args.output, {
        error: { code, message, ...(details === undefined ? {} : { details }) },
      }),
    );
  }
};

/**
 * Reports a failed answer and gives its exit status: unreachable 69; an invalid policy or request
 * 2; anything else the coordinator refused (not found, conflict, plan refused, agent down) 1.
 */
export const reportFailure = (
  io: CliIo,
  args: Pick<FleetArgs, 'output'>,
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
      const hint =
        answer.status === 401
          ? ` (pass --token or set TRAMWAY_TOKEN; 'npm start' writes an admin token to ${DEFAULT_TOKEN_FILE})`
          : '';
      writeError(io, args, command, code, `${message}${hint}`, details);
      return code === 'InvalidPolicy' || code === 'InvalidRequest'
        ? FleetExit.Usage
        : FleetExit.Negative;
    }
  }
};
