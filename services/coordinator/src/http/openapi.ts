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

/** `?at=`: the fleet as it stood at that log position (absent, or at or past the head: live). */
const atParam = {
  name: 'at',
  in: 'query',
  required: false,
  description: 'a log position: the answer is the fleet as it stood there (time travel)',
  schema: { type: 'integer', minimum: 0 },
};
const labelParam = {
  name: 'label',
  in: 'query',
  required: false,
  description: 'key=value or key, comma-separated: nodes with every one',
  schema: { type: 'string', maxLength: 1000 },
};
/** Where a console answer stands in the log. */
const atPosition = {
  type: 'object',
  properties: {
    position: { type: 'integer' },
    head: { type: 'integer' },
    live: { type: 'boolean' },
  },
} as const;

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
    '/v1/console/whoami': {
      get: {
        operationId: 'consoleWhoAmI',
        description:
          'The identity and role of the credential (the console shows operator buttons by it).',
        responses: {
          '200': {
            description: 'the caller',
            ...json({
              type: 'object',
              properties: {
                actor: { type: 'string' },
                role: { enum: ['viewer', 'operator', 'admin'] },
                via: { enum: ['token', 'cert'] },
                onBehalfOf: { type: ['string', 'null'] },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/console/fleet': {
      get: {
        operationId: 'consoleFleet',
        description:
          'The fleet grid: a page of registered nodes (by id) with one cell per policy (attached, pending, rejected, trampoline-full, none), at the live position or at `at` (time travel).',
        parameters: [atParam, labelParam, ...pageParams],
        responses: {
          '200': {
            description: 'the grid page',
            ...json({
              ...atPosition,
              properties: {
                ...atPosition.properties,
                recordedAt: { type: ['string', 'null'] },
                total: { type: 'integer' },
                policies: { type: 'array', items: { type: 'object' } },
                items: { type: 'array', items: ref('ConsoleFleetRow') },
                nextCursor: { type: ['string', 'null'] },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/console/nodes/{id}': {
      get: {
        operationId: 'consoleNode',
        description:
          "A node's links, trampoline occupancy against the budget (38), modules, pending and rejected targets, generations and drift, at the live position or at `at`.",
        parameters: [pathParam('id'), atParam],
        responses: {
          '200': { description: 'the node', ...json({ type: 'object' }) },
          ...errors,
        },
      },
    },
    '/v1/console/functions/{name}': {
      get: {
        operationId: 'consoleFunction',
        description:
          'Which nodes and programs trace a kernel function (a page, by node and link), at the live position or at `at`; its history is `/v1/console/events?function=`.',
        parameters: [pathParam('name'), atParam, ...pageParams],
        responses: {
          '200': { description: 'the links on the function', ...json({ type: 'object' }) },
          ...errors,
        },
      },
    },
    '/v1/console/rollouts': {
      get: {
        operationId: 'consoleRollouts',
        description:
          'The newest 50 rollouts with their waves (progress, held reason, failure ratio), the failure gate and, live, the pause before the next wave.',
        parameters: [atParam],
        responses: {
          '200': { description: 'the rollouts', ...json({ type: 'object' }) },
          ...errors,
        },
      },
    },
    '/v1/console/events': {
      get: {
        operationId: 'consoleEvents',
        description:
          'The log as a timeline: events after `after`, filtered, at most `limit`; one call reads at most 50,000 events of the log, so `nextAfter` (where the next call starts) may come with fewer items than asked.',
        parameters: [
          {
            name: 'after',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 0, default: 0 },
          },
          {
            name: 'limit',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
          },
          ...['type', 'node', 'policy', 'actor'].map((name) => ({
            name,
            in: 'query',
            required: false,
            description: 'comma-separated names (up to 50): events matching one of them',
            schema: { type: 'string' },
          })),
          {
            name: 'function',
            in: 'query',
            required: false,
            description: 'events that name this kernel function',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': {
            description: 'a page of events in log order',
            ...json({
              type: 'object',
              required: ['items', 'head', 'scanned', 'nextAfter'],
              properties: {
                items: { type: 'array', items: ref('ConsoleEvent') },
                head: { type: 'integer' },
                scanned: { type: 'integer' },
                nextAfter: { type: ['integer', 'null'] },
              },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/events/stream': {
      get: {
        operationId: 'eventStream',
        description:
          'The log live as Server-Sent Events: `id` = log position, `event` = type, `data` = a ConsoleEvent. Resumes after `Last-Event-ID` (or `?after=`); further back than 10,000 events it sends `event: reset` and goes on from the head. At most 4 streams per credential and 64 in all (429); a client whose unsent output passes 1 MiB is dropped.',
        parameters: [
          {
            name: 'Last-Event-ID',
            in: 'header',
            required: false,
            schema: { type: 'string', pattern: '^[0-9]{1,15}$' },
          },
          {
            name: 'after',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 0 },
          },
        ],
        responses: {
          '200': {
            description: 'the stream',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
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
          rollout: {
            oneOf: [
              { type: 'null' },
              {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  state: { enum: ['running', 'held', 'completed', 'rolled-back'] },
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
      ConsoleFleetRow: {
        type: 'object',
        properties: {
          nodeId: { type: 'string' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          profile: { type: 'string' },
          attachPath: { type: ['string', 'null'] },
          kernelRelease: { type: 'string' },
          health: { enum: ['healthy', 'stale', 'drift', 'unapproved', 'unknown'] },
          lastSeen: { type: ['string', 'null'] },
          generation: { type: 'integer' },
          observedGeneration: { type: ['integer', 'null'] },
          busiestTrampoline: { type: 'integer' },
          cells: {
            type: 'object',
            additionalProperties: {
              type: 'object',
              properties: {
                state: { enum: ['attached', 'pending', 'rejected', 'trampoline-full', 'none'] },
                attached: { type: 'integer' },
                pending: { type: 'integer' },
                rejected: { type: 'integer' },
              },
            },
          },
        },
      },
      ConsoleEvent: {
        type: 'object',
        properties: {
          position: { type: 'integer' },
          type: { type: 'string' },
          occurredAt: { type: 'string' },
          recordedAt: { type: 'string' },
          actor: { type: 'string' },
          streamId: { type: 'string' },
          nodeId: { type: ['string', 'null'] },
          policy: { type: ['string', 'null'] },
          rolloutId: { type: ['string', 'null'] },
          function: { type: ['string', 'null'] },
          summary: { type: 'string' },
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
