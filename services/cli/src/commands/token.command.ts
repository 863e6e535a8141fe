import type { CliCommand } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { answerWith, clientOf, parseFleetArgs } from '../fleet/fleet-options.js';
import type { TokenView } from '../fleet/coordinator-client.js';

const ROLES = ['viewer', 'operator', 'admin'];

/**
 * `tramway token create --name NAME --role viewer|operator|admin` (admin): issues an API token
 * and prints it once; the coordinator keeps only its hash. The holder acts as `token:NAME`.
 */
export const tokenCreateCommand: CliCommand = {
  path: ['token', 'create'],
  usage: 'token create --name NAME --role viewer|operator|admin [--json] [--url URL]',
  summary: 'issue an API token (printed once) for a person or a tool',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io, { values: ['--name', '--role'] });
    positionalsOf(args, []);
    const name = args.values.get('--name');
    const role = args.values.get('--role');
    if (name === undefined) throw new UsageError('--name NAME is required');
    if (role === undefined || !ROLES.includes(role))
      throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    return answerWith(
      io,
      args,
      'token create',
      clientOf(args).createToken(name, role),
      (t) =>
        `${t.token}\n` +
        `# token ${t.name} (${t.role}), acting as ${t.actor}: shown this once, store it now\n`,
    );
  },
};

const renderTokens = (tokens: readonly TokenView[]): string => {
  if (tokens.length === 0) return 'no tokens\n';
  const rows = tokens.map((t) => [
    t.name,
    t.role ?? '-',
    t.state,
    t.state === 'active' ? (t.issuedBy ?? '-') : (t.revokedBy ?? '-'),
    t.state === 'active' ? (t.issuedAt ?? '-') : (t.revokedAt ?? '-'),
  ]);
  const head = ['NAME', 'ROLE', 'STATE', 'BY', 'AT'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
};

/** `tramway token list` (admin): names, roles, states; never a secret or a hash. */
export const tokenListCommand: CliCommand = {
  path: ['token', 'list'],
  usage: 'token list [--json] [--url URL]',
  summary: 'list API tokens: name, role, active or revoked',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io);
    positionalsOf(args, []);
    return answerWith(io, args, 'token list', clientOf(args).tokens(), renderTokens);
  },
};

/** `tramway token revoke NAME [--reason TEXT]` (admin): the token no longer authenticates. */
export const tokenRevokeCommand: CliCommand = {
  path: ['token', 'revoke'],
  usage: 'token revoke NAME [--reason TEXT] [--json] [--url URL]',
  summary: 'revoke an API token',
  run: async (argv, io) => {
    const args = parseFleetArgs(argv, io, { values: ['--reason'] });
    const [name] = positionalsOf(args, ['NAME']);
    return answerWith(
      io,
      args,
      'token revoke',
      clientOf(args).revokeToken(name!, args.values.get('--reason')),
      (r) => `token ${r.name} revoked\n`,
    );
  },
};

export const TOKEN_COMMANDS: readonly CliCommand[] = [
  tokenCreateCommand,
  tokenListCommand,
  tokenRevokeCommand,
];
