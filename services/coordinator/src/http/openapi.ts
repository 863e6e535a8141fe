/**
 * The OpenAPI 3.1 document of the coordinator's HTTP API (docs/fleet-protocol.md, "Coordinator
 * HTTP API"), served at `GET /openapi.json`. Generated, not written: the paths from the route
 * table (api-routes.ts) the router serves, the schemas from the zod schemas the router validates
 * with (api-schemas.ts, zod's own `z.toJSONSchema`), the roles from access.ts. `npm run
 * lint:openapi` lints it with Redocly's recommended rules (CI does).
 */
import { z } from 'zod';
import { requiredRole } from './access.js';
import type { ApiRoute } from './api-routes.js';
import { API_ROUTES } from './api-routes.js';
import type { ApiErrorCode } from './api-result.js';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE } from './api-result.js';
import { API_SCHEMAS } from './api-schemas.js';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './pagination.js';

type Json = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';

/** Rewrites zod's `#/$defs/X` references to the document's components, in place. */
const pointAtComponents = (node: unknown): void => {
  if (Array.isArray(node)) {
    node.forEach(pointAtComponents);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const obj = node as Json;
  if (typeof obj['$ref'] === 'string' && obj['$ref'].startsWith('#/$defs/'))
    obj['$ref'] = COMPONENTS + obj['$ref'].slice('#/$defs/'.length);
  for (const value of Object.values(obj)) pointAtComponents(value);
};

/**
 * zod's JSON Schema of what a schema accepts (`io: 'input'`): for a request what the router
 * takes; for an answer what a client must expect (a loose object stays open to new fields,
 * where zod's `output` view would close it). A named schema is a reference to its component.
 */
const JSON_SCHEMA_OPTIONS = {
  target: 'draft-2020-12',
  io: 'input',
  unrepresentable: 'throw',
  metadata: API_SCHEMAS,
} as const;

const schemaOf = (schema: z.ZodType): Json => {
  const id = API_SCHEMAS.get(schema)?.id;
  if (id !== undefined) return { $ref: COMPONENTS + id };
  const json = z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as Json;
  delete json['$schema'];
  // the named schemas it uses are components already
  delete json['$defs'];
  pointAtComponents(json);
  return json;
};

/** `components.schemas`: every named schema. */
const componentSchemas = (): Record<string, Json> => {
  const all = z.toJSONSchema(API_SCHEMAS, { ...JSON_SCHEMA_OPTIONS, uri: (id) => COMPONENTS + id })
    .schemas as Record<string, Json>;
  for (const s of Object.values(all)) {
    delete s['$schema'];
    delete s['$id'];
  }
  return all;
};

interface ErrorAnswer {
  readonly description: string;
  readonly codes: readonly ApiErrorCode[];
}

/** Errors of every route: what the router refuses before any handler runs. */
const EVERY_ROUTE: Readonly<Record<string, ErrorAnswer>> = {
  '400': {
    description:
      'a body that is not valid JSON or nested too deeply, a query or body its schema refuses, or an invalid x-tramway-on-behalf-of',
    codes: ['InvalidRequest'],
  },
  '403': {
    description: 'a cross-origin request (an Origin that is not this coordinator)',
    codes: ['Forbidden'],
  },
  '413': { description: 'the body is over the size limit', codes: ['PayloadTooLarge'] },
  '415': {
    description:
      'a body that is not application/json or application/yaml (application/octet-stream where the route takes bytes)',
    codes: ['UnsupportedMediaType'],
  },
  '421': {
    description: 'a Host header that does not name this coordinator (HTTP_ALLOWED_HOSTS)',
    codes: ['MisdirectedRequest'],
  },
};

/** Errors of every route that needs a credential. */
const AUTHENTICATED: Readonly<Record<string, ErrorAnswer>> = {
  '401': {
    description: 'no credential, or an unknown or revoked one',
    codes: ['Unauthorized'],
  },
  '403': {
    description:
      "the credential's role is too low (the detail names the role needed), or a non-admin sent x-tramway-on-behalf-of",
    codes: ['Forbidden'],
  },
  '429': {
    description:
      'over the request rate of the credential, or too many failed authentications from the address',
    codes: ['TooManyRequests'],
  },
};

/** What a route can be refused with, by status: the shared errors and its own. */
export const documentedErrors = (route: ApiRoute): Readonly<Record<string, ErrorAnswer>> => {
  const merged = new Map<string, { descriptions: string[]; codes: Set<ApiErrorCode> }>();
  const add = (errors: Readonly<Record<string, ErrorAnswer | undefined>>): void => {
    for (const [status, e] of Object.entries(errors)) {
      if (e === undefined) continue;
      const m = merged.get(status) ?? { descriptions: [], codes: new Set() };
      m.descriptions.push(e.description);
      for (const c of e.codes) m.codes.add(c);
      merged.set(status, m);
    }
  };
  add(EVERY_ROUTE);
  if (requiredRole(route.method, route.path) !== 'public') add(AUTHENTICATED);
  add(route.errors ?? {});
  return Object.fromEntries(
    [...merged.entries()]
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, m]) => [
        status,
        { description: m.descriptions.join('; or '), codes: [...m.codes].sort() },
      ]),
  );
};

const HEADERS_OF: Readonly<Record<string, Json>> = {
  '401': {
    'WWW-Authenticate': {
      description: 'Bearer realm="tramway"',
      schema: { type: 'string' },
    },
  },
  '429': {
    'Retry-After': {
      description: 'seconds until a request may succeed',
      schema: { type: 'integer', minimum: 1 },
    },
  },
};

/** A problem answer of `status` whose `code` is one of `codes`. */
const problemAnswer = (status: string, e: ErrorAnswer): Json => ({
  description: `${e.description} (${e.codes.join(', ')})`,
  ...(HEADERS_OF[status] === undefined ? {} : { headers: HEADERS_OF[status] }),
  content: {
    [PROBLEM_CONTENT_TYPE]: {
      schema: {
        allOf: [
          { $ref: `${COMPONENTS}Problem` },
          {
            type: 'object',
            properties: { status: { const: Number(status) }, code: { enum: e.codes } },
          },
        ],
      },
    },
  },
});

const ON_BEHALF_OF = {
  name: 'x-tramway-on-behalf-of',
  in: 'header',
  required: false,
  description:
    "admins only: the person the request is made for, recorded as the events' metadata.onBehalfOf; the actor stays the credential's identity (token:<name> or cert:<CN>)",
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:@/-]{1,128}$' },
};

const parametersOf = (route: ApiRoute): Json[] => {
  const params: Json[] = [];
  for (const [, name] of route.path.matchAll(/\{([^}]+)\}/g)) {
    params.push({
      name,
      in: 'path',
      required: true,
      description: route.params?.[name!] ?? name,
      schema: { type: 'string' },
    });
  }
  for (const [name, schema] of Object.entries(route.query?.shape ?? {})) {
    const s = schema as z.ZodType;
    const { description, ...rest } = schemaOf(s);
    params.push({
      name,
      in: 'query',
      required: !s.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    });
  }
  if (route.onBehalfOf) params.push(ON_BEHALF_OF);
  return params;
};

const operationOf = (route: ApiRoute): Json => {
  const role = requiredRole(route.method, route.path);
  const parameters = parametersOf(route);
  const responses: Json = {};
  for (const [status, answer] of Object.entries(route.responses)) {
    responses[status] =
      'binary' in answer
        ? {
            description: answer.description,
            content: { [answer.mediaType]: { schema: { type: 'string', format: 'binary' } } },
          }
        : 'text' in answer
          ? {
              description: answer.description,
              content: { [answer.mediaType ?? 'text/plain']: { schema: { type: 'string' } } },
            }
          : {
              description: answer.description,
              content: { 'application/json': { schema: schemaOf(answer.schema) } },
            };
  }
  for (const [status, e] of Object.entries(documentedErrors(route)))
    responses[status] = problemAnswer(status, e);
  responses['default'] = problemAnswer('default', {
    description:
      'what the HTTP layer refuses before routing (a request too slow, headers too large), or an internal error',
    codes: ['RequestTimeout', 'HeadersTooLarge', 'Internal'],
  });
  const body = route.body;
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    tags: [tagOf(route.path)],
    'x-role': role,
    ...(role === 'public' ? { security: [] } : {}),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(body === undefined
      ? {}
      : {
          requestBody: {
            required: body.required,
            content: body.binary
              ? {
                  [body.binary.mediaType]: {
                    schema: {
                      type: 'string',
                      format: 'binary',
                      description: body.binary.description,
                      maxLength: body.binary.maxBytes,
                    },
                  },
                }
              : {
                  'application/json': { schema: schemaOf(body.schema) },
                  ...(body.yamlPolicy
                    ? {
                        'application/yaml': {
                          schema: { type: 'string', description: 'the policy as YAML text' },
                        },
                      }
                    : {}),
                },
          },
        }),
    responses,
  };
};

const TAGS = [
  { name: 'policies', description: 'Plan, apply, read and roll back policies' },
  { name: 'rollouts', description: 'Rollouts of policy versions' },
  { name: 'nodes', description: 'Nodes: admission, take-back, kernel modules' },
  { name: 'tokens', description: 'API tokens (admin)' },
  { name: 'programs', description: 'Program objects: compiled BPF ELF, content addressed' },
  { name: 'service', description: 'Probes, metrics and this document' },
] as const;

const tagOf = (path: string): string => {
  const first = path.split('/')[2];
  if (first === 'plan' || first === 'policies') return 'policies';
  if (first === 'rollouts' || first === 'nodes' || first === 'tokens' || first === 'programs')
    return first;
  return 'service';
};

/** The document's shape, as far as its readers (the router, tests) look into it. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: Json;
  readonly servers: readonly Json[];
  readonly security: readonly Json[];
  readonly tags: readonly Json[];
  /** path → lowercase method → operation */
  readonly paths: Readonly<Record<string, Readonly<Record<string, Json>>>>;
  readonly components: {
    readonly securitySchemes: Readonly<Record<string, Json>>;
    readonly schemas: Readonly<Record<string, Json>>;
  };
}

const pathsOf = (routes: readonly ApiRoute[]): Record<string, Record<string, Json>> => {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes)
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operationOf(route);
  return paths;
};

/** The document of `routes` (the coordinator's table by default). */
export const generateOpenApi = (routes: readonly ApiRoute[] = API_ROUTES): OpenApiDocument => {
  const schemas = componentSchemas();
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tramway coordinator',
      version: '1.0.0',
      description: `Policies, plans, rollouts and nodes of a Tramway fleet (docs/fleet-protocol.md). Generated from the route table and the zod schemas the coordinator validates requests with. Errors are RFC 9457 problem details (application/problem+json: type ${PROBLEM_TYPE_BASE}<code in kebab case>, title, status, detail, instance, code, and errors or details). A known path asked with another method is a 405 (MethodNotAllowed) with Allow; an unknown path a 404 (NotFound). Lists are paged: ?limit= (1-${MAX_PAGE_LIMIT}, default ${DEFAULT_PAGE_LIMIT}) and ?cursor= (the nextCursor of the page before) answer { items, nextCursor }. Every operation but this document, /healthz and /readyz needs a credential: a bearer token, or over HTTPS a client certificate (CN = name, OU = role); x-role on each operation is the role it needs (docs/security.md).`,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: 'http://127.0.0.1:7070', description: 'a local coordinator (HTTP_PORT)' }],
    security: [{ bearer: [] }, { mtls: [] }],
    tags: TAGS,
    paths: pathsOf(routes),
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
      schemas,
    },
  };
};

export const OPENAPI_DOCUMENT: OpenApiDocument = generateOpenApi();
