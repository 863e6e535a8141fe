/**
 * The HTTP API's pure gates: the role of every route, credentials read from headers and client
 * certificates, Host/Origin/body-type hygiene, and the token buckets (time passed in).
 */
import { describe, expect, it } from 'vitest';
import {
  ROUTE_ROLES,
  bearerOf,
  certIdentity,
  mayCall,
  requiredRole,
} from '../../../services/coordinator/src/http/access.js';
import type { FleetCoordinator } from '../../../services/coordinator/src/fleet-coordinator.js';
import { createRoutes } from '../../../services/coordinator/src/http/http-api.js';
import { OPENAPI_DOCUMENT } from '../../../services/coordinator/src/http/openapi.js';
import { createRateLimiter } from '../../../services/coordinator/src/http/rate-limit.js';
import {
  acceptsBodyType,
  allowedHostSet,
  hostAllowed,
  originAllowed,
} from '../../../services/coordinator/src/http/request-hygiene.js';

describe('the role table', () => {
  it('names the role each verb needs: reads viewer, fleet operations operator, people and admission admin', () => {
    const entries = Object.entries(ROUTE_ROLES);
    expect(entries.length).toBeGreaterThan(30);
    for (const [route, role] of entries) {
      const [method, path] = route.split(' ') as [string, string];
      // what anyone may read: the API's description and the probes, nothing else
      if (['/openapi.json', '/healthz', '/readyz'].includes(path)) {
        expect({ route, role }).toEqual({ route, role: 'public' });
        continue;
      }
      // people (tokens) and node admission: admin, whatever the verb
      if (path.startsWith('/v1/tokens') || /^\/v1\/nodes\/\{id\}\/(approve|reset)$/.test(path)) {
        expect({ route, role }).toEqual({ route, role: 'admin' });
        continue;
      }
      // every other read is a viewer's, every other change an operator's
      expect({ route, role }).toEqual({ route, role: method === 'GET' ? 'viewer' : 'operator' });
    }
    // the gates a newcomer would look for, by name
    expect(requiredRole('GET', '/metrics')).toBe('viewer');
    expect(requiredRole('GET', '/v1/events/stream')).toBe('viewer');
    expect(requiredRole('DELETE', '/v1/policies/{name}')).toBe('operator');
    expect(requiredRole('POST', '/v1/nodes/{id}/modules/{module}/load')).toBe('operator');
    expect(requiredRole('POST', '/v1/tokens')).toBe('admin');
    expect(requiredRole('GET', '/v1/tokens')).toBe('admin');
    expect(requiredRole('PUT', '/v1/programs')).toBe('operator');
    expect(requiredRole('GET', '/v1/programs/{digest}/object')).toBe('viewer');
  });

  it('gives a route missing from the table admin, and every served route an entry', () => {
    expect(requiredRole('POST', '/v1/something-new')).toBe('admin');
    expect(requiredRole('GET', 'constructor')).toBe('admin');
    const routes = createRoutes({} as FleetCoordinator);
    for (const r of routes) expect(ROUTE_ROLES).toHaveProperty([`${r.method} ${r.template}`]);
  });

  it('lets a role call what its rank allows', () => {
    const viewer = { actor: 'token:v', role: 'viewer', via: 'token' } as const;
    const operator = { actor: 'token:o', role: 'operator', via: 'token' } as const;
    expect([
      mayCall(viewer, 'viewer'),
      mayCall(viewer, 'operator'),
      mayCall(viewer, 'public'),
    ]).toEqual([true, false, true]);
    expect([mayCall(operator, 'operator'), mayCall(operator, 'admin')]).toEqual([true, false]);
  });
});

describe('the OpenAPI document', () => {
  it('declares bearer and mTLS, and on every operation its role and the refusals it can get', () => {
    const doc = OPENAPI_DOCUMENT as unknown as {
      security: unknown;
      components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
      paths: Record<string, Record<string, { 'x-role': string; responses: object; security?: [] }>>;
    };
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      mtls: { type: 'mutualTLS' },
    });
    expect(doc.security).toEqual([{ bearer: [] }, { mtls: [] }]);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const role = requiredRole(method.toUpperCase(), path);
        expect(op['x-role'], `${method} ${path}`).toBe(role);
        if (role === 'public') {
          expect(op.security).toEqual([]);
          continue;
        }
        expect(Object.keys(op.responses), `${method} ${path}`).toEqual(
          expect.arrayContaining(['401', '403', '415', '421', '429']),
        );
      }
    }
    expect(Object.keys(doc.paths['/v1/tokens']!)).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/v1/tokens/{name}']!)).toEqual(['delete']);
  });
});

describe('credentials', () => {
  it('reads a bearer token; a malformed header is "", none undefined', () => {
    expect(bearerOf('Bearer tw_abc-_')).toBe('tw_abc-_');
    expect(bearerOf('bearer  tw_x')).toBe('tw_x');
    expect(bearerOf('Basic dXNlcjpwYXNz')).toBe('');
    expect(bearerOf('Bearer')).toBe('');
    expect(bearerOf(undefined)).toBeUndefined();
  });

  it('takes a client certificate CN as the name and its OU as the role', () => {
    expect(certIdentity({ CN: 'alice', OU: 'operator' })).toEqual({
      actor: 'cert:alice',
      role: 'operator',
      via: 'cert',
    });
    expect(certIdentity({ CN: 'alice', OU: 'root' })).toHaveProperty('problem');
    expect(certIdentity({ OU: 'admin' })).toHaveProperty('problem');
    expect(certIdentity({ CN: 'a b', OU: 'admin' })).toHaveProperty('problem');
  });
});

describe('request hygiene', () => {
  const allowed = allowedHostSet('127.0.0.1', 7070, ['tramway.example', 'ops.example:443']);

  it('answers to loopback names on its port and the configured names only', () => {
    expect([...allowed].sort()).toEqual([
      '127.0.0.1:7070',
      '[::1]:7070',
      'localhost:7070',
      'ops.example:443',
      'tramway.example:7070',
    ]);
    for (const h of ['127.0.0.1:7070', 'LOCALHOST:7070', '[::1]:7070', 'tramway.example:7070'])
      expect(hostAllowed(h, 'http', allowed), h).toBe(true);
    for (const h of ['evil.example:7070', '127.0.0.1:80', '127.0.0.1', 'localhost:7071', '', 'a b'])
      expect(hostAllowed(h, 'http', allowed), h).toBe(false);
    expect(hostAllowed(undefined, 'http', allowed)).toBe(false);
    expect(hostAllowed('ops.example', 'https', allowed)).toBe(true);
    // a wildcard listen address adds no name
    expect([...allowedHostSet('0.0.0.0', 80, [])]).toEqual([
      '127.0.0.1:80',
      'localhost:80',
      '[::1]:80',
    ]);
  });

  it('accepts an Origin of the same scheme and an allowed host only', () => {
    expect(originAllowed('http://localhost:7070', 'http', allowed)).toBe(true);
    expect(originAllowed('http://evil.example', 'http', allowed)).toBe(false);
    expect(originAllowed('https://localhost:7070', 'http', allowed)).toBe(false);
    expect(originAllowed('null', 'http', allowed)).toBe(false);
  });

  it('accepts JSON and YAML bodies only', () => {
    for (const t of [
      'application/json',
      'application/json; charset=utf-8',
      'application/yaml',
      'Application/X-YAML',
    ])
      expect(acceptsBodyType(t), t).toBe(true);
    for (const t of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      undefined,
    ])
      expect(acceptsBodyType(t), String(t)).toBe(false);
  });
});

describe('rate limiter', () => {
  it('lets a burst through, then refuses with the seconds to wait, and refills at its rate', () => {
    const sut = createRateLimiter({ perSecond: 2, burst: 3 });
    const t = 1_000_000;
    expect([1, 2, 3].map(() => sut.take('a', t).ok)).toEqual([true, true, true]);
    expect(sut.take('a', t)).toEqual({ ok: false, retryAfterS: 1 });
    expect(sut.take('b', t).ok).toBe(true);
    expect(sut.take('a', t + 500).ok).toBe(true);
    expect(sut.take('a', t + 500).ok).toBe(false);
    expect(sut.allows('a', t + 1000).ok).toBe(true);
    expect(sut.allows('never-seen', t).ok).toBe(true);
  });

  it('keeps at most 10,000 keys', () => {
    const sut = createRateLimiter({ perSecond: 0.001, burst: 1 });
    for (let i = 0; i < 12_000; i++) sut.take(`k${i}`, 0);
    // the first keys were forgotten (a full bucket again), the last ones are remembered
    expect(sut.allows('k0', 0).ok).toBe(true);
    expect(sut.allows('k11999', 0).ok).toBe(false);
  });
});
