/**
 * One way to open a NATS connection with an identity: the NKey seed file signs the server's
 * nonce, the CA file turns TLS on (the server's certificate must chain to it), and an agent's
 * replies come under its own inbox prefix. A refused connection is an AppError naming the server
 * and the reason (authorization, TLS trust, unreachable).
 */
import { readFileSync } from 'node:fs';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { AppError } from '../errors.js';
import type { NatsCredentials } from '../security/security-layout.js';

export const NatsConnectErrorCode = {
  /** the server refused the identity (no or unknown NKey) */
  NatsAuthorizationRefused: 'NatsAuthorizationRefused',
  /** TLS failed: the server's certificate is not trusted, or TLS is required and not offered */
  NatsTlsRefused: 'NatsTlsRefused',
  /** the seed or CA file cannot be read */
  NatsCredentialsUnreadable: 'NatsCredentialsUnreadable',
  NatsUnavailable: 'NatsUnavailable',
} as const;

const serversText = (servers: string | readonly string[]): string =>
  typeof servers === 'string' ? servers : servers.join(',');

const readSeed = (file: string): Uint8Array => {
  try {
    return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
  } catch (error) {
    throw new AppError(`cannot read the NKey seed file ${file}: ${(error as Error).message}`, {
      code: NatsConnectErrorCode.NatsCredentialsUnreadable,
      retryable: false,
      cause: error,
    });
  }
};

/** The nats.js options of `credentials` (authenticator, TLS, inbox prefix). */
export const natsConnectOptions = (
  credentials: NatsCredentials | undefined,
): Partial<ConnectionOptions> => {
  if (credentials === undefined) return {};
  return {
    ...(credentials.nkeySeedFile === undefined
      ? {}
      : { authenticator: nkeyAuthenticator(readSeed(credentials.nkeySeedFile)) }),
    ...(credentials.caFile === undefined ? {} : { tls: { caFile: credentials.caFile } }),
    ...(credentials.inboxPrefix === undefined ? {} : { inboxPrefix: credentials.inboxPrefix }),
  };
};

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ECONNRESET',
]);

/** Why a connect failed, as an AppError naming `servers`. */
export const describeConnectFailure = (
  servers: string | readonly string[],
  error: unknown,
): AppError => {
  const where = serversText(servers);
  const e = error as { name?: string; code?: string; message?: string } | null;
  const message = e?.message ?? String(error);
  if (e?.name === 'AuthorizationError' || /authorization violation/i.test(message))
    return new AppError(
      `NATS server ${where} refused the connection: authorization violation (no NKey, or an NKey it does not know)`,
      { code: NatsConnectErrorCode.NatsAuthorizationRefused, retryable: false, cause: error },
    );
  if ((e?.code !== undefined && TLS_CODES.has(e.code)) || /tls|certificate/i.test(message))
    return new AppError(
      `NATS server ${where} refused the connection: TLS failed (${message}${e?.code ? `, ${e.code}` : ''}); is the CA file the one that signed its certificate?`,
      { code: NatsConnectErrorCode.NatsTlsRefused, retryable: false, cause: error },
    );
  return new AppError(`cannot connect to NATS server ${where}: ${message}`, {
    code: NatsConnectErrorCode.NatsUnavailable,
    retryable: true,
    cause: error,
  });
};

/** The server URLs of `servers` (a list, or one string of comma-separated URLs: a cluster). */
export const natsServerList = (servers: string | readonly string[]): string[] =>
  (typeof servers === 'string' ? servers.split(',') : [...servers])
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * `connect` with `credentials`; a refusal is an AppError naming the server and the reason. Every
 * URL of `servers` is tried, and once connected the client reconnects (to any server of the
 * cluster, the announced ones included) without a limit unless `maxReconnectAttempts` says.
 */
export const connectNats = async (
  servers: string | readonly string[],
  options: Partial<ConnectionOptions> & { readonly credentials?: NatsCredentials | undefined },
): Promise<NatsConnection> => {
  const { credentials, ...rest } = options;
  const auth = natsConnectOptions(credentials);
  try {
    return await connect({
      maxReconnectAttempts: -1,
      ...rest,
      ...auth,
      servers: natsServerList(servers),
    });
  } catch (error) {
    throw describeConnectFailure(servers, error);
  }
};
