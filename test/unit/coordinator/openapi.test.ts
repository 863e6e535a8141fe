/**
 * The generated OpenAPI document (services/coordinator/src/http/openapi.ts) against the router
 * it describes: every documented operation is served, the request schemas in the document are
 * what the router validates with (the policy refuses a misspelt key, read back from the
 * document's JSON Schema by zod's own JSON Schema reader), and what the router refuses before any
 * handler runs is a documented error. The router here has no coordinator behind it: only
 * refusals that never reach a handler are asked.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import type { FleetCoordinator } from '../../../services/coordinator/src/fleet-coordinator.js';
import { requiredRole } from '../../../services/coordinator/src/http/access.js';
import { ApiErrorCode } from '../../../services/coordinator/src/http/api-result.js';
import { API_ROUTES } from '../../../services/coordinator/src/http/api-routes.js';
import {
  createRoutes,
  dispatch,
  findRoute,
} from '../../../services/coordinator/src/http/http-api.js';
import { OPENAPI_DOCUMENT } from '../../../services/coordinator/src/http/openapi.js';
import { TRACING_POLICY_SCHEMA } from '../../../shared/src/contracts/policy.contract.js';
import { documentOperation, documentValidator } from '../../support/openapi-schema.js';

type Json = Record<string, unknown>;

const validatorOf = documentValidator;
const operation = documentOperation;

const example = parse(
  readFileSync(new URL('../../../examples/policies/tcp-latency.yaml', import.meta.url), 'utf8'),
) as Json;

describe('the policy schema of the OpenAPI document', () => {
  const planBody = (
    (operation('post', '/v1/plan')['requestBody'] as Json)['content'] as Record<string, Json>
  )['application/json']!['schema'];
  const body = validatorOf(planBody);

  it('accepts the example policy and refuses a misspelt nodeSelecter, as the server does', () => {
    expect(body.safeParse({ policy: example }).success).toBe(true);
    const spec = example['spec'] as Json;
    const typo = { ...example, spec: { ...spec, nodeSelecter: { matchLabels: { role: 'web' } } } };
    expect(body.safeParse({ policy: typo }).success).toBe(false);
    // nodeSelector itself is fine
    const right = { ...example, spec: { ...spec, nodeSelector: { matchLabels: { role: 'web' } } } };
    expect(body.safeParse({ policy: right }).success).toBe(true);
    // YAML text is a policy too (parsed and validated by the server)
    expect(body.safeParse({ policy: 'apiVersion: x' }).success).toBe(true);
    expect(body.safeParse({}).success).toBe(false);
  });

  it('closes every object of the policy to unknown keys, with exactly the keys of the zod schema', () => {
    const doc = OPENAPI_DOCUMENT.components.schemas['TracingPolicy'] as Json;
    const specDoc = (doc['properties'] as Record<string, Json>)['spec']!;
    const zodKeys = (s: z.ZodObject) => Object.keys(s.shape).sort();
    expect(doc['additionalProperties']).toBe(false);
    expect(Object.keys(doc['properties'] as Json).sort()).toEqual(zodKeys(TRACING_POLICY_SCHEMA));
    expect(specDoc['additionalProperties']).toBe(false);
    expect(Object.keys(specDoc['properties'] as Json).sort()).toEqual(
      zodKeys(TRACING_POLICY_SCHEMA.shape.spec),
    );
    expect(Object.keys(specDoc['properties'] as Json)).toContain('nodeSelector');
  });
});

describe('the route table, the router and the document', () => {
  const routes = createRoutes({} as FleetCoordinator);
  const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'x');

  it('documents exactly the routes of the table, and the router finds each one', () => {
    const documented = Object.entries(OPENAPI_DOCUMENT.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const r of API_ROUTES) {
      const found = findRoute(routes, r.method, concrete(r.path));
      expect(found.ok, `${r.method} ${r.path}`).toBe(true);
      if (found.ok) expect(found.route.spec.operationId).toBe(r.operationId);
      expect(operation(r.method.toLowerCase(), r.path)['operationId']).toBe(r.operationId);
    }
  });

  it('documents only real error codes, problem+json, and the refusals of a credential where one is needed', () => {
    const codes = new Set<string>(Object.values(ApiErrorCode));
    for (const r of API_ROUTES) {
      const responses = operation(r.method.toLowerCase(), r.path)['responses'] as Record<
        string,
        Json
      >;
      for (const [status, answer] of Object.entries(responses)) {
        if (status.startsWith('2')) continue;
        const content = answer['content'] as Record<string, Json>;
        expect(Object.keys(content), `${r.path} ${status}`).toEqual(['application/problem+json']);
        const [, own] = (content['application/problem+json']!['schema'] as { allOf: Json[] })
          .allOf as [Json, { properties: { code: { enum: string[] } } }];
        for (const code of own.properties.code.enum) expect(codes).toContain(code);
      }
      const statuses = Object.keys(responses);
      const needsCredential = requiredRole(r.method, r.path) !== 'public';
      for (const s of ['401', '429'])
        expect(statuses.includes(s), `${r.method} ${r.path} ${s}`).toBe(needsCredential);
      expect(statuses).toEqual(expect.arrayContaining(['400', '403', '413', '415', '421']));
    }
  });

  it('answers no list as a bare array: every list is a page with limit and cursor', () => {
    let lists = 0;
    for (const r of API_ROUTES) {
      const op = operation(r.method.toLowerCase(), r.path);
      for (const [status, answer] of Object.entries(op['responses'] as Record<string, Json>)) {
        if (!status.startsWith('2')) continue;
        const schema = ((answer['content'] as Record<string, Json> | undefined)?.[
          'application/json'
        ]?.['schema'] ?? {}) as Json;
        expect(schema['type'], `${r.method} ${r.path}`).not.toBe('array');
        const props = (schema['properties'] ?? {}) as Json;
        if (!('items' in props)) continue;
        lists += 1;
        // a page may say more about itself (a total, the log position it was read at); the log's
        // timeline pages by log position (`after` / `nextAfter`), every other list by cursor
        const byPosition = 'nextAfter' in props;
        const [next, from] = byPosition ? ['nextAfter', 'after'] : ['nextCursor', 'cursor'];
        expect(Object.keys(props), `${r.method} ${r.path}`).toEqual(
          expect.arrayContaining(['items', next]),
        );
        const names = ((op['parameters'] ?? []) as Json[])
          .filter((p) => p['in'] === 'query')
          .map((p) => p['name']);
        // and take filters beside its limit and where to go on from
        expect(names, `${r.method} ${r.path}`).toEqual(expect.arrayContaining(['limit', from]));
      }
    }
    expect(lists).toBeGreaterThanOrEqual(3);
  });

  it('refuses a query or a body its schema refuses with a 400 listing every problem, before the handler', async () => {
    const ask = (method: string, path: string, body?: unknown, query = '') =>
      dispatch(routes, {
        method,
        path,
        headers: {},
        body,
        query: new URLSearchParams(query),
      });
    expect(await ask('GET', '/v1/nodes', undefined, 'limit=0&cursor=!!')).toMatchObject({
      status: 400,
      body: {
        code: 'InvalidRequest',
        errors: [
          'query.limit: an integer from 1 to 1000',
          'query.cursor: not a cursor this API issued (use nextCursor of the page before)',
        ],
      },
    });
    for (const limit of ['1.5', 'abc', '-1', '1001'])
      expect((await ask('GET', '/v1/tokens', undefined, `limit=${limit}`)).body).toMatchObject({
        errors: ['query.limit: an integer from 1 to 1000'],
      });
    expect(await ask('POST', '/v1/tokens', { name: '-x', role: 'root', extra: 1 })).toMatchObject({
      status: 400,
      body: {
        code: 'InvalidRequest',
        errors: [
          'name: 1-64 letters, digits and ._@- (starting with a letter or digit)',
          'role: one of viewer, operator, admin',
          'extra: unknown field',
        ],
      },
    });
    expect(await ask('POST', '/v1/policies/p/rollback', { reson: 'typo' })).toMatchObject({
      status: 400,
      body: { errors: ['reson: unknown field'] },
    });
    expect(await ask('POST', '/v1/nodes/n/approve', { reason: ' ' })).toMatchObject({
      status: 400,
      body: { errors: ['reason: must not be blank'] },
    });
    expect(await ask('POST', '/v1/plan', undefined)).toMatchObject({
      status: 400,
      body: { code: 'InvalidRequest', errors: [expect.stringMatching(/^policy: /)] },
    });
    expect(await ask('POST', '/v1/plan', [1])).toMatchObject({ status: 400 });
  });
});
