import { describe, expect, it } from 'vitest';
import type { IssueAccessToken, RevokeAccessToken } from '@tramway/shared/domain';
import {
  ACCESS_ROLES,
  FleetStreams,
  accessTokenDecider,
  isAccessRole,
  roleAllows,
} from '@tramway/shared/domain';
import type { GivenEvent } from '../../../support/given-when-then.js';
import { deciderSpec } from '../../../support/given-when-then.js';

const sut = deciderSpec(accessTokenDecider);
const HASH = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

const issue = (name: string, role: string, tokenHash = HASH, actor = 'token:admin') =>
  ({
    type: 'IssueAccessToken',
    data: { name, role, tokenHash },
    metadata: { actor },
  }) as IssueAccessToken;
const revoke = (name: string, reason = 'left', actor = 'token:admin'): RevokeAccessToken => ({
  type: 'RevokeAccessToken',
  data: { name, reason },
  metadata: { actor },
});
const issued = (name: string, role = 'operator', tokenHash = HASH): GivenEvent =>
  ({
    type: 'AccessTokenIssued',
    data: { name, role, tokenHash, issuedBy: 'token:admin' },
  }) as GivenEvent;
const revoked = (name: string): GivenEvent => ({
  type: 'AccessTokenRevoked',
  data: { name, revokedBy: 'token:admin', reason: 'left' },
});

describe('accessTokenDecider', () => {
  it('issues a token: its name, role and hash, issued by the actor, in token-<name>', () => {
    const state = sut
      .given([])
      .when(issue('alice', 'operator'))
      .then([
        {
          id: 'token:alice:1',
          event: {
            type: 'AccessTokenIssued',
            data: { name: 'alice', role: 'operator', tokenHash: HASH, issuedBy: 'token:admin' },
          },
        },
      ]);
    expect(state.active).toMatchObject({ role: 'operator', tokenHash: HASH });
    expect(FleetStreams.accessToken('alice')).toBe('token-alice');
  });

  it('refuses a second token under an active name (Conflict)', () => {
    sut
      .given([issued('alice')])
      .when(issue('alice', 'admin', OTHER))
      .thenRejects('Conflict', /revoke it first/);
  });

  it('revokes the active token, then issues the name again under a new id', () => {
    sut
      .given([issued('alice')])
      .when(revoke('alice', 'left the team'))
      .then([
        {
          id: 'token:alice:1:revoked',
          event: {
            type: 'AccessTokenRevoked',
            data: { name: 'alice', revokedBy: 'token:admin', reason: 'left the team' },
          },
        },
      ]);
    const state = sut
      .given([issued('alice'), revoked('alice')])
      .when(issue('alice', 'viewer', OTHER))
      .then([
        {
          id: 'token:alice:2',
          event: {
            type: 'AccessTokenIssued',
            data: { name: 'alice', role: 'viewer', tokenHash: OTHER, issuedBy: 'token:admin' },
          },
        },
      ]);
    expect(state).toMatchObject({ issued: 2, active: { role: 'viewer', tokenHash: OTHER } });
  });

  it('revoking a revoked token does nothing; an unknown one is NotFound', () => {
    sut
      .given([issued('alice'), revoked('alice')])
      .when(revoke('alice'))
      .thenNothingHappened();
    sut
      .given([])
      .when(revoke('bob'))
      .thenRejects('NotFound', /no token bob/);
    sut
      .given([issued('alice')])
      .when(revoke('alice', ' '))
      .thenRejects('Invalid', /reason/);
  });

  it.each([
    [issue('', 'viewer'), /token name/],
    [issue('a b', 'viewer'), /token name/],
    [issue('__proto__', 'viewer'), /token name/],
    [issue('alice', 'root'), /role "root"/],
    [issue('alice', 'viewer', 'secret'), /tokenHash/],
    [issue('alice', 'viewer', 'A'.repeat(64)), /tokenHash/],
  ])('refuses %j as Invalid', (command, message) => {
    sut.given([]).when(command).thenRejects('Invalid', message);
  });

  it('keeps the state of other streams as it is', () => {
    const state = sut.given([issued('alice')]).state;
    expect(
      accessTokenDecider.evolve(state, {
        type: 'NodeMarkedAlive',
        data: { nodeId: 'n', lastSeen: '2026-12-01T10:00:00.000Z' },
      } as never),
    ).toBe(state);
  });
});

describe('roles', () => {
  it('orders viewer < operator < admin', () => {
    const allowed = ACCESS_ROLES.flatMap((held) =>
      ACCESS_ROLES.filter((needed) => roleAllows(held, needed)).map((n) => `${held}>=${n}`),
    );
    expect(allowed).toEqual([
      'viewer>=viewer',
      'operator>=viewer',
      'operator>=operator',
      'admin>=viewer',
      'admin>=operator',
      'admin>=admin',
    ]);
    expect([isAccessRole('admin'), isAccessRole('root'), isAccessRole(undefined)]).toEqual([
      true,
      false,
      false,
    ]);
  });
});
