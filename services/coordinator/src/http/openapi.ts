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

const waitParam = {
  name: 'wait',
  in: 'query',
  required: false,
  description:
    'milliseconds (1-25000) to wait, after the agent answered, until the log holds what it reported; the answer then carries the effect',
  schema: { type: 'integer', minimum: 1, maximum: 25000 },
};
const query = (name: string, description: string, schema: unknown = { type: 'string' }) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const instant = { type: 'string', format: 'date-time' };
const maxParam = query(
  'max',
  'the newest entries to list (default 1000), paged by limit and cursor',
  { type: 'integer', minimum: 0, maximum: 100000, default: 1000 },
);
const outOfRange = {
  description:
    'the time or position is outside the log (OutOfRange), or the node is not known at it (NotFound); details.range gives the first and last events of the log, details.firstSeen where the node first appears',
  ...problem(ref('Problem')),
};
const auditUnavailable = {
  description: 'this coordinator keeps no audit read model (NotReady)',
  ...problem(ref('Problem')),
};

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
        summary: 'The policies in force: name, version, when and by whom applied',
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
          '202': {
            description: 'rollout started',
            ...json({
              type: 'object',
              required: ['policy', 'version', 'rolloutId'],
              properties: {
                policy: { type: 'string' },
                version: { type: 'integer' },
                rolloutId: { type: 'string' },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/policies/{name}': {
      get: {
        operationId: 'getPolicy',
        summary: 'One policy in force, with its spec',
        parameters: [pathParam('name')],
        responses: {
          '200': {
            description: 'the policy',
            ...json({
              allOf: [
                ref('PolicySummary'),
                { type: 'object', required: ['spec'], properties: { spec: { type: 'object' } } },
              ],
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
          '200': { description: 'rollback rollout started', ...json(ref('RolloutRef')) },
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
        parameters: [pathParam('id'), pathParam('module'), waitParam],
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
        parameters: [pathParam('id'), pathParam('module'), waitParam],
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
    '/v1/audit/range': {
      get: {
        operationId: 'auditRange',
        responses: {
          '200': {
            description: 'the first and last fleet events of the log',
            ...json(ref('LogRange')),
          },
          '503': auditUnavailable,
          ...errors,
        },
      },
    },
    '/v1/audit/state': {
      get: {
        operationId: 'auditState',
        parameters: [
          query('at', 'an RFC 3339 instant (exactly one of at and position)', instant),
          query('position', 'a global position of the log', { type: 'integer', minimum: 0 }),
          query('node', 'one node only'),
        ],
        responses: {
          '200': {
            description: 'the fleet (state) or the node (node) as it stood then',
            ...json({
              type: 'object',
              required: ['position', 'recordedAt'],
              properties: {
                position: { type: 'integer' },
                recordedAt: { type: ['string', 'null'] },
                state: { type: 'object' },
                node: { type: 'object' },
              },
            }),
          },
          '503': auditUnavailable,
          ...errors,
          '404': outOfRange,
        },
      },
    },
    '/v1/audit/history': {
      get: {
        operationId: 'auditHistory',
        parameters: [
          query('actor', 'what an actor did (exactly one of actor, policy, program)'),
          query('policy', 'the history of a policy'),
          query('program', 'the history of a BPF program'),
          query('node', 'events of this node only'),
          query('type', 'events of this type only (e.g. LinkCreated)'),
          query('since', 'with actor: occurredAt at or after', instant),
          query('until', 'with actor: occurredAt at or before', instant),
          maxParam,
          ...pageParams,
        ],
        responses: {
          '200': {
            description: 'a page of events, in log order',
            ...json(page(ref('AuditEvent'))),
          },
          '503': auditUnavailable,
          ...errors,
        },
      },
    },
    '/v1/audit/functions/{name}': {
      get: {
        operationId: 'auditFunction',
        parameters: [
          pathParam('name'),
          { ...query('node', 'the node (required)'), required: true },
          maxParam,
          ...pageParams,
        ],
        responses: {
          '200': {
            description: 'a page of what connected to and disconnected from the function',
            ...json(page({ type: 'object' })),
          },
          '503': auditUnavailable,
          ...errors,
        },
      },
    },
    '/v1/audit/plans/{node}': {
      get: {
        operationId: 'auditPlans',
        parameters: [
          pathParam('node'),
          query('policy', 'one policy only'),
          query('at', 'up to an RFC 3339 instant', instant),
          query('position', 'up to a global position', { type: 'integer', minimum: 0 }),
        ],
        responses: {
          '200': {
            description: 'the plans and assignments of the node, per policy version',
            ...json({ type: 'object' }),
          },
          '503': auditUnavailable,
          ...errors,
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
        required: ['name', 'version', 'appliedAt', 'appliedBy'],
        properties: {
          name: { type: 'string' },
          version: { type: 'integer' },
          appliedAt: { type: 'string', format: 'date-time' },
          appliedBy: { type: 'string' },
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
          version: { type: 'integer' },
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
          version: { type: 'integer' },
          now: { type: 'string', description: "the coordinator's clock when it answered" },
          rollout: {
            oneOf: [
              { type: 'null' },
              {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  state: { enum: ['running', 'held', 'completed', 'rolled-back'] },
                  waveCount: { type: 'integer' },
                  currentWave: { type: ['integer', 'null'] },
                  startedAt: { type: 'string' },
                  paused: { type: 'boolean' },
                  pause: {
                    description: 'the pause between two waves: the next starts at endsAt',
                    oneOf: [
                      { type: 'null' },
                      {
                        type: 'object',
                        properties: {
                          afterWave: { type: 'integer' },
                          nextWave: { type: 'integer' },
                          seconds: { type: 'number' },
                          endsAt: { type: 'string' },
                        },
                      },
                    ],
                  },
                  nextWaveAt: { type: ['string', 'null'] },
                  reason: { type: ['string', 'null'], description: 'the hold or rollback reason' },
                  waves: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        index: { type: 'integer' },
                        nodes: { type: 'array', items: { type: 'string' } },
                        state: { enum: ['pending', 'running', 'held', 'completed'] },
                        succeeded: { type: 'integer' },
                        failed: { type: 'integer' },
                        reason: { type: 'string' },
                        completedAt: { type: 'string' },
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
                wave: { type: ['integer', 'null'] },
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
          waited: { enum: ['reported', 'timeout'] },
          effect: {
            type: 'object',
            properties: {
              module: { type: 'string' },
              action: { enum: ['load', 'unload'] },
              moduleLoaded: { type: 'boolean' },
              attached: { type: 'array', items: ref('FunctionsOfPolicy') },
              released: { type: 'array', items: ref('FunctionsOfPolicy') },
              failed: { type: 'array', items: { type: 'object' } },
              pending: { type: 'array', items: { type: 'object' } },
            },
          },
        },
      },
      FunctionsOfPolicy: {
        type: 'object',
        properties: {
          policy: { type: ['string', 'null'] },
          functions: { type: 'array', items: { type: 'string' } },
        },
      },
      LogPoint: {
        type: 'object',
        required: ['position', 'recordedAt'],
        properties: { position: { type: 'integer' }, recordedAt: { type: 'string' } },
      },
      LogRange: {
        type: 'object',
        required: ['first', 'last', 'events'],
        properties: {
          first: { oneOf: [{ type: 'null' }, ref('LogPoint')] },
          last: { oneOf: [{ type: 'null' }, ref('LogPoint')] },
          events: { type: 'integer' },
        },
      },
      AuditEvent: {
        type: 'object',
        properties: {
          position: { type: 'integer' },
          type: { type: 'string' },
          occurredAt: { type: 'string' },
          recordedAt: { type: 'string' },
          actor: { type: 'string' },
          onBehalfOf: { type: ['string', 'null'] },
          streamId: { type: 'string' },
          nodeId: { type: ['string', 'null'] },
          summary: { type: 'string' },
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
