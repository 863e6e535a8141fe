/**
 * The OpenAPI 3.1 document of the coordinator's HTTP API (docs/fleet-protocol.md, "Coordinator
 * HTTP API"), served at `GET /openapi.json`. Kept next to the router; a test checks that every
 * route the router serves is documented and every documented route is served.
 */

import { requiredRole } from './access.js';

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown): { content: { 'application/json': { schema: unknown } } } => ({
  content: { 'application/json': { schema } },
});
/** An error answer: an RFC 9457 problem (`application/problem+json`). */
const problem = (
  schema: unknown,
): { content: { 'application/problem+json': { schema: unknown } } } => ({
  content: { 'application/problem+json': { schema } },
});
const errors = {
  '400': { description: 'invalid request: every problem listed', ...problem(ref('Problem')) },
  '404': { description: 'not found', ...problem(ref('Problem')) },
  '405': {
    description: 'the path exists but not with this method (MethodNotAllowed; Allow)',
    ...problem(ref('Problem')),
  },
  '409': { description: 'conflict with the current state', ...problem(ref('Problem')) },
  '413': {
    description: 'the body is over the size limit (PayloadTooLarge)',
    ...problem(ref('Problem')),
  },
  '401': {
    description:
      'no credential, or an unknown or revoked one (Unauthorized; WWW-Authenticate: Bearer)',
    ...problem(ref('Problem')),
  },
  '403': {
    description:
      "the credential's role is too low (the message names the role needed), a non-admin sent x-tramway-on-behalf-of, or a cross-origin request (Forbidden)",
    ...problem(ref('Problem')),
  },
  '415': {
    description: 'a body that is not application/json or application/yaml (UnsupportedMediaType)',
    ...problem(ref('Problem')),
  },
  '421': {
    description: 'a Host header that does not name this coordinator (MisdirectedRequest)',
    ...problem(ref('Problem')),
  },
  '429': {
    description:
      'over the rate of the credential, or too many failed authentications from the address (TooManyRequests; Retry-After)',
    ...problem(ref('Problem')),
  },
  '500': { description: 'internal error', ...problem(ref('Problem')) },
};
const actorHeader = {
  name: 'x-tramway-on-behalf-of',
  in: 'header',
  required: false,
  description:
    "admins only: the person the request is made for, recorded as the events' metadata.onBehalfOf; the actor stays the credential's identity (token:<name> or cert:<CN>)",
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:@/-]{1,128}$' },
};
const tokenName = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$',
};
const pathParam = (name: string): unknown => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
});
const policyBody = {
  required: true,
  ...json({
    type: 'object',
    required: ['policy'],
    properties: {
      policy: {
        description: 'a TracingPolicy, as YAML text or as an object',
        oneOf: [{ type: 'string' }, ref('TracingPolicy')],
      },
    },
  }),
};

const pageParams = [
  {
    name: 'limit',
    in: 'query',
    required: false,
    description: 'items per page (a bad one is a 400)',
    schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
  {
    name: 'cursor',
    in: 'query',
    required: false,
    description: 'the nextCursor of the page before (opaque; an invalid one is a 400)',
    schema: { type: 'string' },
  },
];
/** A page of a list: `items` in key order, `nextCursor` null on the last page. */
const page = (item: unknown): unknown => ({
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: {
    items: { type: 'array', items: item },
    nextCursor: { type: ['string', 'null'] },
  },
});

const waveSize = {
  oneOf: [
    { type: 'integer', minimum: 1 },
    { type: 'string', pattern: '^([1-9][0-9]?|100)%$' },
  ],
};

const DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'Tramway coordinator',
    version: '1.0.0',
    description:
      'Policies, plans, rollouts and nodes of a Tramway fleet (docs/fleet-protocol.md). Errors are RFC 9457 problem details (application/problem+json: type https://tramway.dev/problems/<code in kebab case>, title, status, detail, instance, code, and errors or details). Lists are paged: ?limit= (1-1000, default 100) and ?cursor= (the nextCursor of the page before) answer { items, nextCursor }. Every operation but this document, /healthz and /readyz needs a credential: a bearer token, or over HTTPS a client certificate (CN = name, OU = role); x-role on each operation is the role it needs (docs/security.md).',
  },
  security: [{ bearer: [] }, { mtls: [] }],
  paths: {
    '/v1/plan': {
      post: {
        operationId: 'planPolicy',
        summary: 'Dry run: each selected node plans the policy',
        requestBody: policyBody,
        responses: {
          '200': { description: 'per-node plans', ...json(ref('PlanResult')) },
          ...errors,
        },
      },
    },
    '/v1/policies': {
      get: {
        operationId: 'listPolicies',
        summary:
          'The policies in force or being deleted: name, version, state, when and by whom applied, latest rollout',
        parameters: pageParams,
        responses: {
          '200': {
            description: 'a page of policies, by name',
            ...json(page(ref('PolicySummary'))),
          },
          ...errors,
        },
      },
      post: {
        operationId: 'applyPolicy',
        summary: 'Apply a policy: a new version and its rollout',
        parameters: [actorHeader],
        requestBody: policyBody,
        responses: {
          '200': {
            description:
              'unchanged: the spec is the one in force; no version recorded, no rollout started',
            ...json(ref('Applied')),
          },
          '202': { description: 'a new version: its rollout started', ...json(ref('Applied')) },
          ...errors,
        },
      },
    },
    '/v1/policies/{name}': {
      get: {
        operationId: 'getPolicy',
        summary: 'One policy in force (or being deleted): its spec, its latest changes and rollout',
        parameters: [pathParam('name')],
        responses: {
          '200': {
            description: 'the policy',
            ...json({
              allOf: [
                ref('PolicySummary'),
                {
                  type: 'object',
                  required: ['spec', 'latestVersion', 'history'],
                  properties: {
                    spec: { type: 'object' },
                    latestVersion: {
                      type: 'integer',
                      description: 'the highest version ever recorded',
                    },
                    deleting: {
                      type: 'object',
                      properties: {
                        at: { type: 'string', format: 'date-time' },
                        by: { type: 'string' },
                        rolloutId: { type: ['string', 'null'] },
                      },
                    },
                    history: {
                      type: 'array',
                      description: 'the latest changes, newest first (at most 20)',
                      items: {
                        type: 'object',
                        required: ['change', 'version', 'at', 'by'],
                        properties: {
                          change: { enum: ['applied', 'removed', 'deleted'] },
                          version: { type: 'integer' },
                          at: { type: 'string', format: 'date-time' },
                          by: { type: 'string' },
                          reason: { type: 'string' },
                        },
                      },
                    },
                  },
                },
              ],
            }),
          },
          ...errors,
        },
      },
      delete: {
        operationId: 'deletePolicy',
        summary:
          'Delete a policy: PolicyDeleted, then every node holding it releases it (a release rollout)',
        description:
          'The policy is listed as `deleting` until every node has released it, then no longer listed; the log keeps it. Applying the name again records the next version. Deleting a policy being deleted answers its release rollout again.',
        parameters: [pathParam('name'), actorHeader],
        requestBody: {
          required: false,
          ...json({ type: 'object', properties: { reason: { type: 'string' } } }),
        },
        responses: {
          '202': {
            description: 'deleted: its nodes are releasing it',
            ...json({
              type: 'object',
              required: ['policy', 'version', 'state', 'rolloutId', 'nodes'],
              properties: {
                policy: { type: 'string' },
                version: { type: 'integer', description: 'the version deleted' },
                state: { const: 'deleting' },
                rolloutId: { type: 'string', description: 'the release rollout' },
                nodes: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'the nodes releasing it',
                },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/policies/{name}/status': {
      get: {
        operationId: 'policyStatus',
        parameters: [pathParam('name')],
        responses: { '200': { description: 'status', ...json(ref('PolicyStatus')) }, ...errors },
      },
    },
    '/v1/policies/{name}/rollback': {
      post: {
        operationId: 'rollbackPolicy',
        parameters: [pathParam('name'), actorHeader],
        requestBody: {
          required: false,
          ...json({ type: 'object', properties: { reason: { type: 'string' } } }),
        },
        responses: {
          '200': {
            description:
              'the rollback rollout started (it gives the nodes the previous version back, or releases the policy when there was none)',
            ...json({
              type: 'object',
              required: ['rolloutId', 'rolledBack', 'fromVersion', 'toVersion'],
              properties: {
                rolloutId: { type: 'string', description: 'the rollback rollout' },
                rolledBack: { type: 'string', description: 'the rollout rolled back' },
                fromVersion: { type: 'integer' },
                toVersion: {
                  type: ['integer', 'null'],
                  description: 'null: the policy is removed',
                },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/rollouts/{id}/resume': {
      post: {
        operationId: 'resumeRollout',
        parameters: [pathParam('id'), actorHeader],
        responses: { '200': { description: 'resumed', ...json(ref('RolloutRef')) }, ...errors },
      },
    },
    '/v1/nodes': {
      get: {
        operationId: 'listNodes',
        parameters: pageParams,
        responses: {
          '200': { description: 'a page of nodes, by id', ...json(page(ref('Node'))) },
          ...errors,
        },
      },
    },
    '/v1/nodes/{id}/approve': {
      post: {
        operationId: 'approveNode',
        description: 'Admits a pending node (admin); the actor is recorded as the approver.',
        parameters: [pathParam('id'), actorHeader],
        requestBody: {
          required: false,
          ...json({ type: 'object', properties: { reason: { type: 'string' } } }),
        },
        responses: {
          '200': {
            description: 'approved',
            ...json({
              type: 'object',
              properties: {
                nodeId: { type: 'string' },
                admission: { const: 'approved' },
                changed: { type: 'boolean' },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/nodes/{id}/reset': {
      post: {
        operationId: 'resetNode',
        description:
          'Takes the node back with a new epoch: its next assignment wins over whatever it holds.',
        parameters: [pathParam('id'), actorHeader],
        requestBody: {
          required: false,
          ...json({ type: 'object', properties: { reason: { type: 'string' } } }),
        },
        responses: {
          '200': {
            description: 'taken back',
            ...json({
              type: 'object',
              properties: {
                nodeId: { type: 'string' },
                epoch: { type: 'integer' },
                generation: { type: 'integer' },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/nodes/{id}/modules/{module}/load': {
      post: {
        operationId: 'loadModule',
        parameters: [pathParam('id'), pathParam('module')],
        responses: {
          '200': { description: 'outcome', ...json(ref('ModuleOutcome')) },
          '503': { description: 'the node did not answer', ...problem(ref('Problem')) },
          ...errors,
        },
      },
    },
    '/v1/nodes/{id}/modules/{module}/unload': {
      post: {
        operationId: 'unloadModule',
        parameters: [pathParam('id'), pathParam('module')],
        responses: {
          '200': { description: 'outcome', ...json(ref('ModuleOutcome')) },
          '503': { description: 'the node did not answer', ...problem(ref('Problem')) },
          ...errors,
        },
      },
    },
    '/v1/tokens': {
      get: {
        operationId: 'listTokens',
        summary: 'API tokens: names, roles, states (never a secret or a hash)',
        parameters: pageParams,
        responses: {
          '200': { description: 'a page of tokens, by name', ...json(page(ref('Token'))) },
          ...errors,
        },
      },
      post: {
        operationId: 'createToken',
        summary: 'Issue a token; the answer is the only time the secret is shown',
        parameters: [actorHeader],
        requestBody: {
          required: true,
          ...json({
            type: 'object',
            required: ['name', 'role'],
            properties: { name: tokenName, role: { enum: ['viewer', 'operator', 'admin'] } },
          }),
        },
        responses: {
          '201': {
            description: 'issued',
            ...json({
              type: 'object',
              required: ['name', 'role', 'actor', 'token'],
              properties: {
                name: { type: 'string' },
                role: { type: 'string' },
                actor: { type: 'string', description: 'token:<name>, the actor it acts as' },
                token: { type: 'string', description: 'the secret: store it now' },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/tokens/{name}': {
      delete: {
        operationId: 'revokeToken',
        summary: 'Revoke a token: it authenticates no one from now on',
        parameters: [pathParam('name'), actorHeader],
        requestBody: {
          required: false,
          ...json({ type: 'object', properties: { reason: { type: 'string' } } }),
        },
        responses: {
          '200': {
            description: 'revoked (or already)',
            ...json({
              type: 'object',
              properties: { name: { type: 'string' }, state: { const: 'revoked' } },
            }),
          },
          ...errors,
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        responses: {
          '200': {
            description: 'Prometheus text exposition',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errors,
        },
      },
    },
    '/healthz': {
      get: {
        operationId: 'healthz',
        summary: 'Liveness: the process serves HTTP (says nothing of the fleet)',
        security: [],
        responses: {
          '200': {
            description: 'alive',
            ...json({ type: 'object', properties: { status: { const: 'ok' } } }),
          },
        },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readyz',
        summary: 'Readiness: the log is replayed and the bus answered (says nothing of the fleet)',
        security: [],
        responses: {
          '200': {
            description: 'ready',
            ...json({ type: 'object', properties: { status: { const: 'ready' } } }),
          },
          '503': {
            description: 'starting, stopping, or the log failed (NotReady)',
            ...problem(ref('Problem')),
          },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        security: [],
        responses: { '200': { description: 'this document', ...json({ type: 'object' }) } },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          'a token from POST /v1/tokens (tramway token create); the first admin token is <data-dir>/admin.token',
      },
      mtls: {
        type: 'mutualTLS',
        description:
          'over HTTPS with TRAMWAY_API_CLIENT_CA: a client certificate that CA signed; CN is the name (actor cert:<CN>), OU the role',
      },
    },
    schemas: {
      Token: {
        type: 'object',
        required: ['name', 'role', 'state'],
        properties: {
          name: { type: 'string' },
          role: { enum: ['viewer', 'operator', 'admin', null] },
          state: { enum: ['active', 'revoked'] },
          issuedBy: { type: ['string', 'null'] },
          issuedAt: { type: ['string', 'null'] },
          revokedBy: { type: 'string' },
          revokedAt: { type: 'string' },
          reason: { type: 'string' },
        },
      },
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem details',
        required: ['type', 'title', 'status', 'detail', 'code'],
        properties: {
          type: {
            type: 'string',
            format: 'uri',
            description: 'https://tramway.dev/problems/<code in kebab case>',
          },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string', description: 'what went wrong, for a person' },
          instance: { type: 'string', description: 'the request path' },
          code: { type: 'string', description: 'ApiErrorCode: InvalidRequest, NotFound, ...' },
          errors: { type: 'array', items: { type: 'string' }, description: 'every problem found' },
          details: { description: 'other facts of the error (e.g. allowed, needed, role)' },
        },
      },
      PolicySummary: {
        type: 'object',
        required: ['name', 'version', 'state', 'appliedAt', 'appliedBy', 'rollout'],
        properties: {
          name: { type: 'string' },
          version: { type: 'integer' },
          state: {
            enum: ['active', 'deleting'],
            description: 'deleting: deleted, and some node has not released it yet',
          },
          appliedAt: { type: 'string', format: 'date-time' },
          appliedBy: { type: 'string' },
          rollout: {
            oneOf: [
              { type: 'null' },
              {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  kind: { enum: ['apply', 'rollback', 'release'] },
                  version: { type: 'integer' },
                  state: { enum: ['running', 'held', 'completed', 'rolled-back'] },
                },
              },
            ],
          },
        },
      },
      Applied: {
        type: 'object',
        required: ['policy', 'version', 'rolloutId', 'unchanged'],
        properties: {
          policy: { type: 'string' },
          version: { type: 'integer' },
          rolloutId: { type: 'string' },
          unchanged: { type: 'boolean' },
        },
      },
      FunctionList: {
        type: 'object',
        required: ['count', 'names'],
        properties: {
          count: { type: 'integer' },
          names: { type: 'array', items: { type: 'string' }, description: 'the first 50, sorted' },
        },
      },
      TracingPolicy: {
        type: 'object',
        required: ['apiVersion', 'kind', 'metadata', 'spec'],
        properties: {
          apiVersion: { const: 'tramway.dev/v1alpha1' },
          kind: { const: 'TracingPolicy' },
          metadata: {
            type: 'object',
            required: ['name'],
            properties: {
              name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
            },
          },
          spec: {
            type: 'object',
            required: ['program', 'targets'],
            properties: {
              program: {
                type: 'object',
                required: ['name', 'attach'],
                properties: {
                  name: { type: 'string' },
                  attach: { enum: ['fentry', 'fexit', 'fmod_ret'] },
                  sleepable: { type: 'boolean' },
                  origin: { type: 'string' },
                  reads: {
                    type: 'array',
                    items: { oneOf: [{ type: 'integer' }, { const: 'ret' }] },
                  },
                  returns: { type: 'integer' },
                },
              },
              targets: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  required: ['pattern'],
                  properties: {
                    pattern: { type: 'string' },
                    cookie: { oneOf: [{ type: 'integer' }, { type: 'string' }] },
                  },
                },
              },
              nodeSelector: {
                type: 'object',
                properties: {
                  matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
                },
              },
              strategy: { enum: ['multi', 'per-function', 'auto'] },
              rollout: {
                type: 'object',
                properties: {
                  waves: { type: 'array', items: waveSize },
                  maxFailureRatio: { type: 'number', minimum: 0, maximum: 1 },
                  pauseSeconds: { type: 'number', minimum: 0 },
                },
              },
            },
          },
        },
      },
      NodePlan: {
        type: 'object',
        required: ['nodeId', 'policy', 'policyVersion', 'path', 'targets', 'unmatched', 'counts'],
        properties: {
          nodeId: { type: 'string' },
          policy: { type: 'string' },
          policyVersion: { type: 'integer' },
          path: { enum: ['tracing-multi', 'fentry-per-function', 'kprobe-multi', 'none'] },
          targets: {
            type: 'array',
            items: {
              type: 'object',
              required: ['function', 'cookie', 'status'],
              properties: {
                function: { type: 'string' },
                module: { type: 'string' },
                objId: { type: 'integer' },
                btfId: { type: 'integer' },
                cookie: { type: 'string' },
                status: { enum: ['attach', 'pending', 'rejected', 'trampoline-full'] },
                errno: { type: 'string' },
                reason: { type: 'string' },
                headroom: { type: 'integer' },
              },
            },
          },
          unmatched: {
            type: 'array',
            items: {
              type: 'object',
              properties: { pattern: { type: 'string' }, reason: { type: 'string' } },
            },
          },
          counts: {
            type: 'object',
            properties: {
              attach: { type: 'integer' },
              pending: { type: 'integer' },
              rejected: { type: 'integer' },
              trampolineFull: { type: 'integer' },
            },
          },
        },
      },
      PlanResult: {
        type: 'object',
        required: ['policy', 'version', 'nodes'],
        properties: {
          policy: { type: 'string' },
          version: {
            type: 'integer',
            description: 'the version apply would record (the one in force when unchanged)',
          },
          unchanged: { type: 'boolean', description: 'the spec is the one in force' },
          current: {
            oneOf: [
              { type: 'null' },
              { type: 'object', properties: { version: { type: 'integer' } } },
            ],
            description: 'the version in force (null: a new policy)',
          },
          diff: {
            type: 'array',
            description:
              'per node, the functions the plan would attach against those it holds now for the policy',
            items: {
              type: 'object',
              required: ['nodeId', 'selected', 'added', 'removed', 'unchanged'],
              properties: {
                nodeId: { type: 'string' },
                selected: { type: 'boolean' },
                added: ref('FunctionList'),
                removed: ref('FunctionList'),
                unchanged: ref('FunctionList'),
              },
            },
          },
          nodes: { type: 'array', items: ref('NodePlan') },
          unreachable: {
            type: 'array',
            items: {
              type: 'object',
              properties: { nodeId: { type: 'string' }, reason: { type: 'string' } },
            },
          },
          refused: {
            type: 'object',
            properties: { reasons: { type: 'array', items: { type: 'string' } } },
          },
        },
      },
      PolicyStatus: {
        type: 'object',
        required: ['policy', 'version', 'rollout', 'nodes'],
        properties: {
          policy: { type: 'string' },
          version: { type: ['integer', 'null'], description: 'null: no version in force' },
          state: { enum: ['active', 'deleting', 'deleted', 'removed'] },
          rollout: {
            oneOf: [
              { type: 'null' },
              {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  state: { enum: ['running', 'held', 'completed', 'rolled-back'] },
                  kind: {
                    enum: ['apply', 'rollback', 'release'],
                    description:
                      'apply and rollback give the nodes `version`; release takes the policy away',
                  },
                  version: { type: 'integer' },
                  fromVersion: { type: ['integer', 'null'] },
                  rollsBack: { type: 'string', description: 'the rollout a rollback undoes' },
                  startedAt: { type: 'string', format: 'date-time' },
                  startedBy: { type: 'string' },
                  waves: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        index: { type: 'integer' },
                        nodes: { type: 'array', items: { type: 'string' } },
                        state: { enum: ['running', 'held', 'completed'] },
                        succeeded: { type: 'integer' },
                        failed: { type: 'integer' },
                      },
                    },
                  },
                },
              },
            ],
          },
          nodes: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                nodeId: { type: 'string' },
                generation: { type: 'integer' },
                observedGeneration: { type: 'integer' },
                state: { enum: ['converged', 'pending', 'failed', 'stale'] },
                functions: {
                  type: 'object',
                  properties: {
                    attached: { type: 'integer' },
                    pending: { type: 'integer' },
                    rejected: { type: 'integer' },
                  },
                },
              },
            },
          },
        },
      },
      RolloutRef: {
        type: 'object',
        required: ['rolloutId'],
        properties: { rolloutId: { type: 'string' } },
      },
      Node: {
        type: 'object',
        properties: {
          nodeId: { type: 'string' },
          admission: { enum: ['pending', 'approved'] },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          profile: { type: 'string' },
          attachPath: { type: ['string', 'null'] },
          bootId: { type: 'string' },
          lastSeen: { type: ['string', 'null'], format: 'date-time' },
          stale: { type: 'boolean' },
          generation: { type: 'integer' },
          observedGeneration: { type: 'integer' },
        },
      },
      ModuleOutcome: {
        type: 'object',
        required: ['ok'],
        properties: {
          ok: { type: 'boolean' },
          errno: { type: 'string' },
          reason: { type: 'string' },
        },
      },
    },
  },
} as const;

/** Each operation with `x-role`: the role it needs (access.ts ROUTE_ROLES), `public` for none. */
const withRoles = <D extends { readonly paths: Readonly<Record<string, object>> }>(doc: D): D => ({
  ...doc,
  paths: Object.fromEntries(
    Object.entries(doc.paths).map(([path, ops]) => [
      path,
      Object.fromEntries(
        Object.entries(ops).map(([method, op]) => [
          method,
          { ...(op as object), 'x-role': requiredRole(method.toUpperCase(), path) },
        ]),
      ),
    ]),
  ),
});

export const OPENAPI_DOCUMENT = withRoles(DOCUMENT);
