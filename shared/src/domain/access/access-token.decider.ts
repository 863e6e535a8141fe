/**
 * People's API credentials, as the decider that owns the stream `token-<name>` (docs/security.md,
 * "People"): issuing a token records its name, role and the SHA-256 of the secret (never the
 * secret: the shell draws it and hashes it); revoking records who and why. A name holds at most
 * one active token; once revoked, the name can be issued again (a new token, a new id).
 * Roles are ordered: viewer < operator < admin (`roleAllows`).
 */
import type { Decider, Decision } from '../decider.js';
import { accept, nothing, reject } from '../decider.js';
import type { AccessTokenIssued, AccessTokenRevoked, FleetRecordedEvent } from '../fleet.events.js';
import type { AccessRole } from './access-role.js';
import { ACCESS_ROLES, TOKEN_HASH, TOKEN_NAME, isAccessRole } from './access-role.js';

export type AccessTokenEvent = AccessTokenIssued | AccessTokenRevoked;

export interface AccessTokenState {
  readonly name: string;
  /** tokens ever issued under this name (ids of the issues) */
  readonly issued: number;
  /** the token in force, if any */
  readonly active: {
    readonly role: AccessRole;
    readonly tokenHash: string;
    readonly issuedBy: string;
    readonly issuedAt: string;
  } | null;
  /** the last revocation of the name, if any */
  readonly revoked: {
    readonly revokedBy: string;
    readonly reason: string;
    readonly revokedAt: string;
  } | null;
}

export type IssueAccessToken = Readonly<{
  type: 'IssueAccessToken';
  data: Readonly<{ name: string; role: AccessRole; tokenHash: string }>;
  metadata: Readonly<{ actor: string }>;
}>;

export type RevokeAccessToken = Readonly<{
  type: 'RevokeAccessToken';
  data: Readonly<{ name: string; reason: string }>;
  metadata: Readonly<{ actor: string }>;
}>;

export type AccessTokenCommand = IssueAccessToken | RevokeAccessToken;

export const initialAccessTokenState = (): AccessTokenState => ({
  name: '',
  issued: 0,
  active: null,
  revoked: null,
});

const onIssue = (
  command: IssueAccessToken,
  state: AccessTokenState,
): Decision<AccessTokenEvent> => {
  const { name, role, tokenHash } = command.data;
  if (!TOKEN_NAME.test(name)) {
    return reject('Invalid', `token name ${JSON.stringify(name)}: 1-64 letters, digits and ._@-`);
  }
  if (!isAccessRole(role)) {
    return reject('Invalid', `role ${JSON.stringify(role)}: one of ${ACCESS_ROLES.join(', ')}`);
  }
  if (!TOKEN_HASH.test(tokenHash)) return reject('Invalid', 'tokenHash: 64 lowercase hex digits');
  if (state.active !== null) {
    return reject('Conflict', `token ${name} is active: revoke it first to issue a new one`);
  }
  const n = state.issued + 1;
  return accept([
    {
      id: `token:${name}:${n}`,
      event: {
        type: 'AccessTokenIssued',
        data: { name, role, tokenHash, issuedBy: command.metadata.actor },
      },
    },
  ]);
};

const onRevoke = (
  command: RevokeAccessToken,
  state: AccessTokenState,
): Decision<AccessTokenEvent> => {
  const { name, reason } = command.data;
  if (state.issued === 0) return reject('NotFound', `no token ${name}`);
  if (state.active === null) return nothing();
  if (reason.trim() === '') return reject('Invalid', 'reason: a non-empty text');
  return accept([
    {
      id: `token:${name}:${state.issued}:revoked`,
      event: {
        type: 'AccessTokenRevoked',
        data: { name, revokedBy: command.metadata.actor, reason },
      },
    },
  ]);
};

export const decideAccessToken = (
  command: AccessTokenCommand,
  state: AccessTokenState,
): Decision<AccessTokenEvent> => {
  switch (command.type) {
    case 'IssueAccessToken':
      return onIssue(command, state);
    case 'RevokeAccessToken':
      return onRevoke(command, state);
  }
};

export const evolveAccessToken = (
  state: AccessTokenState,
  event: FleetRecordedEvent,
): AccessTokenState => {
  switch (event.type) {
    case 'AccessTokenIssued':
      return {
        name: event.data.name,
        issued: state.issued + 1,
        active: {
          role: event.data.role,
          tokenHash: event.data.tokenHash,
          issuedBy: event.data.issuedBy,
          issuedAt: event.metadata.occurredAt,
        },
        revoked: state.revoked,
      };
    case 'AccessTokenRevoked':
      return {
        ...state,
        name: event.data.name,
        active: null,
        revoked: {
          revokedBy: event.data.revokedBy,
          reason: event.data.reason,
          revokedAt: event.metadata.occurredAt,
        },
      };
    default:
      return state;
  }
};

export const accessTokenDecider: Decider<AccessTokenState, AccessTokenCommand, AccessTokenEvent> = {
  initialState: initialAccessTokenState,
  decide: decideAccessToken,
  evolve: evolveAccessToken,
};
