/**
 * People's API tokens (docs/security.md, "People"): the edge of the access-token decider. The
 * secret is drawn here (256 random bits, `tw_` + base64url), shown once to whoever issued it,
 * and only its SHA-256 goes to the log. A presented bearer token is hashed and compared, in
 * constant time, with the hashes of the active tokens.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AccessRole } from '@tramway/shared/domain';
import { FleetStreams, TOKEN_NAME, isAccessRole, ACCESS_ROLES } from '@tramway/shared/domain';
import type { Logger } from '@tramway/shared/infra';
import { writeFileDurably } from '@tramway/shared/infra';
import type { ApiResult } from '../http/api-result.js';
import { ApiErrorCode, failure, success } from '../http/api-result.js';
import type { FleetLog, Requester } from '../log/fleet-log.js';
import { describeRequester } from '../log/fleet-log.js';

/** The name of the token the coordinator issues itself when it has no admin. */
export const BOOTSTRAP_TOKEN_NAME = 'admin';

const PREFIX = 'tw_';

/** SHA-256 of the token, lowercase hex: what the log keeps. */
export const hashToken = (token: string): string =>
  createHash('sha256').update(token, 'utf8').digest('hex');

/** A new secret: 256 random bits. */
export const newToken = (): string => `${PREFIX}${randomBytes(32).toString('base64url')}`;

/** The identity of a person holding a token: the log's actor. */
export const tokenActor = (name: string): string => `token:${name}`;

export interface TokenView {
  readonly name: string;
  readonly role: AccessRole | null;
  readonly state: 'active' | 'revoked';
  readonly issuedBy: string | null;
  readonly issuedAt: string | null;
  readonly revokedBy?: string;
  readonly revokedAt?: string;
  readonly reason?: string;
}

export interface AccessTokens {
  /** `POST /v1/tokens` `{ name, role }`: 201 with the token, shown this once */
  issue(body: unknown, by: Requester): Promise<ApiResult>;
  /** `GET /v1/tokens`: names, roles, states; never hashes */
  list(): ApiResult;
  /** `DELETE /v1/tokens/{name}` */
  revoke(name: string, body: unknown, by: Requester): Promise<ApiResult>;
  /** the active token this secret is, if any */
  authenticate(token: string): { readonly name: string; readonly role: AccessRole } | undefined;
  /**
   * Makes sure someone can administer the coordinator (first start): when `file` holds the
   * active `admin` token, nothing; else when no other admin token is active, `admin` is issued
   * (an active one, whose secret is lost, revoked first) and written to `file` (0600, durably).
   * Answers the admin token the file holds, or undefined when other admins exist.
   */
  bootstrap(file: string): Promise<string | undefined>;
}

export const createAccessTokens = (deps: {
  readonly log: FleetLog;
  readonly logger: Logger;
  readonly serially: <T>(work: () => Promise<T>) => Promise<T>;
  readonly now: () => Date;
}): AccessTokens => {
  const { log } = deps;
  const cache = log.deciders.accessToken;

  const authenticate = (token: string): { name: string; role: AccessRole } | undefined => {
    if (!token.startsWith(PREFIX) || token.length > 256) return undefined;
    const presented = Buffer.from(hashToken(token), 'hex');
    let found: { name: string; role: AccessRole } | undefined;
    for (const [, { state }] of cache.all()) {
      if (state.active === null) continue;
      const held = Buffer.from(state.active.tokenHash, 'hex');
      // every active hash is compared (no early exit), each in constant time
      if (held.length === presented.length && timingSafeEqual(held, presented) && !found) {
        found = { name: state.name, role: state.active.role };
      }
    }
    return found;
  };

  const issueToken = async (
    name: string,
    role: AccessRole,
    by: Requester,
  ): Promise<{ ok: true; token: string } | { ok: false; result: ApiResult }> => {
    const token = newToken();
    const decision = await log.execute(
      cache,
      FleetStreams.accessToken(name),
      {
        type: 'IssueAccessToken',
        data: { name, role, tokenHash: hashToken(token) },
        metadata: { actor: describeRequester(by) },
      },
      { actor: by.actor, onBehalfOf: by.onBehalfOf, occurredAt: deps.now().toISOString() },
    );
    if (!decision.ok) {
      const { code, message } = decision.rejection;
      return {
        ok: false,
        result: failure(
          code === 'Conflict' ? 409 : code === 'NotFound' ? 404 : 400,
          code === 'Conflict'
            ? ApiErrorCode.Conflict
            : code === 'NotFound'
              ? ApiErrorCode.NotFound
              : ApiErrorCode.InvalidRequest,
          message,
        ),
      };
    }
    return { ok: true, token };
  };

  const revokeToken = async (name: string, reason: string, by: Requester) =>
    log.execute(
      cache,
      FleetStreams.accessToken(name),
      { type: 'RevokeAccessToken', data: { name, reason }, metadata: { actor: by.actor } },
      { actor: by.actor, onBehalfOf: by.onBehalfOf, occurredAt: deps.now().toISOString() },
    );

  const issue = (body: unknown, by: Requester): Promise<ApiResult> =>
    deps.serially(async () => {
      const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      const problems: string[] = [];
      if (typeof b['name'] !== 'string' || !TOKEN_NAME.test(b['name']))
        problems.push('name: 1-64 letters, digits and ._@- (starting with a letter or digit)');
      if (!isAccessRole(b['role'])) problems.push(`role: one of ${ACCESS_ROLES.join(', ')}`);
      if (problems.length > 0)
        return failure(
          400,
          ApiErrorCode.InvalidRequest,
          'the body must be { name, role }',
          problems,
        );
      const name = b['name'] as string;
      const role = b['role'] as AccessRole;
      const issued = await issueToken(name, role, by);
      if (!issued.ok) return issued.result;
      deps.logger.info('token issued', { name, role, by: describeRequester(by) });
      return success({ name, role, actor: tokenActor(name), token: issued.token }, 201);
    });

  const list = (): ApiResult =>
    success(
      [...cache.all()]
        .map(([, { state }]): TokenView => {
          const r = state.revoked;
          return {
            name: state.name,
            role: state.active?.role ?? null,
            state: state.active === null ? 'revoked' : 'active',
            issuedBy: state.active?.issuedBy ?? null,
            issuedAt: state.active?.issuedAt ?? null,
            ...(state.active === null && r !== null
              ? { revokedBy: r.revokedBy, revokedAt: r.revokedAt, reason: r.reason }
              : {}),
          };
        })
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    );

  const revoke = (name: string, body: unknown, by: Requester): Promise<ApiResult> =>
    deps.serially(async () => {
      if (!TOKEN_NAME.test(name)) return failure(404, ApiErrorCode.NotFound, `no token ${name}`);
      const given = (body as { reason?: unknown } | null | undefined)?.reason;
      if (given !== undefined && (typeof given !== 'string' || given.trim() === '')) {
        return failure(400, ApiErrorCode.InvalidRequest, 'invalid body', [
          'reason: a non-empty string',
        ]);
      }
      const reason = given ?? `revoked by ${describeRequester(by)}`;
      const decision = await revokeToken(name, reason, by);
      if (!decision.ok) {
        return failure(
          decision.rejection.code === 'NotFound' ? 404 : 400,
          decision.rejection.code === 'NotFound'
            ? ApiErrorCode.NotFound
            : ApiErrorCode.InvalidRequest,
          decision.rejection.message,
        );
      }
      deps.logger.info('token revoked', { name, by: describeRequester(by), reason });
      return success({ name, state: 'revoked' });
    });

  const bootstrap = (file: string): Promise<string | undefined> =>
    deps.serially(async () => {
      const by: Requester = { actor: 'coordinator' };
      const held = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
      const current = cache.get(FleetStreams.accessToken(BOOTSTRAP_TOKEN_NAME)).state.active;
      if (held !== '' && current !== null && current.role === 'admin') {
        const who = authenticate(held);
        if (who?.name === BOOTSTRAP_TOKEN_NAME) return held;
      }
      const otherAdmins = [...cache.all()]
        .filter(([, { state }]) => state.active?.role === 'admin')
        .map(([, { state }]) => state.name)
        .filter((n) => n !== BOOTSTRAP_TOKEN_NAME);
      if (otherAdmins.length > 0) {
        deps.logger.info('admin token not written: other admins exist', {
          file,
          admins: otherAdmins,
        });
        return undefined;
      }
      if (current !== null) {
        await revokeToken(BOOTSTRAP_TOKEN_NAME, `bootstrap: ${file} does not hold it`, by);
      }
      const issued = await issueToken(BOOTSTRAP_TOKEN_NAME, 'admin', by);
      if (!issued.ok) throw new Error(`bootstrap admin token: ${JSON.stringify(issued.result)}`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileDurably(file, `${issued.token}\n`, { mode: 0o600 });
      deps.logger.info('admin token issued', { file, name: BOOTSTRAP_TOKEN_NAME });
      return issued.token;
    });

  return { issue, list, revoke, authenticate, bootstrap };
};
