import type { CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { answerWith, clientOf, parseFleetArgs } from '../fleet/fleet-options.js';
import type { TokenView } from '../fleet/coordinator-client.js';
import type { TableStyle } from '../output.js';
import { renderTable } from '../output.js';

const ROLES = ['viewer', 'operator', 'admin'];

/**
 * `tramway token create --name NAME --role viewer|operator|admin` (admin): issues an API token
 * and prints it once; the coordinator keeps only its hash. The holder acts as `token:NAME`.
 */
export const runTokenCreate: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
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
};

/** NAME ROLE STATE, and who and when for its state; -o wide: both issue and revocation, reason. */
const renderTokens = (tokens: readonly TokenView[], style: TableStyle): string => {
  if (tokens.length === 0) return 'no tokens\n';
  if (style.wide)
    return renderTable(
      ['NAME', 'ROLE', 'STATE', 'ISSUED BY', 'ISSUED AT', 'REVOKED BY', 'REVOKED AT', 'REASON'],
      tokens.map((t) => [
        t.name,
        t.role,
        t.state,
        t.issuedBy,
        t.issuedAt,
        t.revokedBy ?? null,
        t.revokedAt ?? null,
        t.reason ?? null,
      ]),
    );
  return renderTable(
    ['NAME', 'ROLE', 'STATE', 'BY', 'AT'],
    tokens.map((t) => [
      t.name,
      t.role,
      t.state,
      t.state === 'active' ? t.issuedBy : (t.revokedBy ?? null),
      t.state === 'active' ? t.issuedAt : (t.revokedAt ?? null),
    ]),
    style.width,
  );
};

/** `tramway token list` (admin): names, roles, states; never a secret or a hash. */
export const runTokenList: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  positionalsOf(args, []);
  return answerWith(io, args, 'token list', clientOf(args).tokens(), renderTokens);
};

/** `tramway token revoke NAME [--reason TEXT]` (admin): the token no longer authenticates. */
export const runTokenRevoke: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [name] = positionalsOf(args, ['NAME']);
  return answerWith(
    io,
    args,
    'token revoke',
    clientOf(args).revokeToken(name!, args.values.get('--reason')),
    (r) => `token ${r.name} revoked\n`,
  );
};
