/**
 * The coordinator's HTTP API over node:http (docs/fleet-protocol.md, "Coordinator HTTP API"):
 * JSON in and out, bodies validated at the edge, errors as RFC 9457 problem details
 * (`application/problem+json`, api-result.ts), never a stack trace. A known path asked with
 * another method is a 405 with `Allow`. Every route but the OpenAPI document, `/healthz` and
 * `/readyz` needs a credential (a bearer token
 * or, over HTTPS, a client certificate) whose role allows it (access.ts); the actor of a
 * decision is that credential's identity (docs/security.md, "People").
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { STATUS_CODES, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AuditApi } from '../audit/audit-api.js';
import type { FleetCoordinator } from '../fleet-coordinator.js';
import type { Logger } from '@tramway/shared/infra';
import { silentLogger } from '@tramway/shared/infra';
import { MAX_NESTING_DEPTH, nestingExceeds } from '@tramway/shared/lib';
import { formatPath } from '@tramway/shared/contracts';
import { z } from 'zod';
import { hashToken } from '../commands/access-tokens.js';
import type { Requester } from '../log/fleet-log.js';
import type { Identity, RouteAccess } from './access.js';
import { ON_BEHALF_OF, bearerOf, certIdentity, mayCall, requiredRole } from './access.js';
import type { ApiResult } from './api-result.js';
import { ApiErrorCode, PROBLEM_CONTENT_TYPE, failure, isProblem, success } from './api-result.js';
import type { DeniedReason, HttpMetrics } from './metrics.js';
import { UNMATCHED_ROUTE, httpMetricsOn } from './metrics.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import type { ApiRoute, OperationId } from './api-routes.js';
import { API_ROUTES, PROGRAM_OBJECT_MEDIA_TYPE } from './api-routes.js';
import { paged } from './pagination.js';
import type { RateLimit } from './rate-limit.js';
import { createRateLimiter } from './rate-limit.js';
import {
  acceptsBodyType,
  allowedHostSet,
  hostAllowed,
  mediaTypeOf,
  originAllowed,
} from './request-hygiene.js';
import { createConsoleHandlers } from './console-api.js';
import { createConsoleFiles } from './console-static.js';
import type { EventStreams } from './event-stream.js';
import { createEventStreams } from './event-stream.js';

/** Largest request body accepted (a policy is a few KiB). */
export const MAX_BODY_BYTES = 1 << 20;

/** What one client may cost the coordinator (docs/fleet-protocol.md, "Limits"). */
export interface HttpLimits {
  /** larger bodies are a 413, answered before or while reading */
  readonly maxBodyBytes: number;
  /** time to receive a request's headers (node:http `headersTimeout`) */
  readonly headersTimeoutMs: number;
  /** time to receive a whole request, body included (node:http `requestTimeout`) */
  readonly requestTimeoutMs: number;
  /** how long an idle keep-alive connection stays open */
  readonly keepAliveTimeoutMs: number;
  /** open connections at once; more are closed on accept */
  readonly maxConnections: number;
  /** requests per credential (token bucket); over it, 429 with Retry-After */
  readonly rate: RateLimit;
  /** failed authentications per remote address; over it, every request from it is a 429 */
  readonly authFailures: RateLimit;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxBodyBytes: MAX_BODY_BYTES,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  rate: { perSecond: 50, burst: 100 },
  authFailures: { perSecond: 1, burst: 20 },
};

export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** the parsed JSON body (undefined when empty) */
  readonly body: unknown;
  /** the query string (`limit` and `cursor` of the list endpoints) */
  readonly query?: URLSearchParams;
}

/** Who is asking: the authenticated identity, and whom an admin says it acts for. */
export interface Caller {
  readonly identity: Identity;
  readonly by: Requester;
}

type Handler = (
  req: RouteRequest,
  params: readonly string[],
  caller: Caller,
) => Promise<ApiResult> | ApiResult;

export interface Route {
  readonly method: ApiRoute['method'];
  /** the path as in API_ROUTES and the OpenAPI document, `{x}` for a parameter */
  readonly template: string;
  /** who may call it (access.ts ROUTE_ROLES) */
  readonly access: RouteAccess;
  /** its entry of the route table: schemas, answers, errors */
  readonly spec: ApiRoute;
  readonly handler: Handler;
  /**
   * a long-lived answer written to the response itself (Server-Sent Events): called once the
   * request is admitted and its (empty) body read, instead of `handler`
   */
  readonly stream?: (req: IncomingMessage, res: ServerResponse, caller: Caller) => void;
}

/** The problems of a zod refusal, `path: message`, each path under `prefix`. */
const problemsOf = (error: z.ZodError, prefix: string): string[] =>
  error.issues.flatMap((issue) => {
    const at = (...more: PropertyKey[]): string =>
      formatPath([...(prefix === '' ? [] : [prefix]), ...issue.path, ...more]) || 'body';
    // one line per unknown key, at its own path (as the policy's problems)
    return issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `${at(key)}: unknown field`)
      : [`${at()}: ${issue.message}`];
  });

/**
 * The query as its schema takes it: the value of an integer parameter written in decimal digits
 * as a number (`integers`: their names, worked out once per route), the others as text.
 */
const queryInput = (
  schema: z.ZodObject,
  integers: ReadonlySet<string>,
  query: URLSearchParams,
): Record<string, unknown> => {
  const input: Record<string, unknown> = {};
  for (const name of Object.keys(schema.shape)) {
    const text = query.get(name);
    if (text === null) continue;
    input[name] = integers.has(name) && /^-?[0-9]{1,15}$/.test(text) ? Number(text) : text;
  }
  return input;
};

/** The names of a query schema's integer parameters. */
const integerParams = (schema: z.ZodObject | undefined): ReadonlySet<string> =>
  new Set(
    Object.entries(schema?.shape ?? {})
      .filter(
        ([, field]) =>
          (z.toJSONSchema(field as z.ZodType, { io: 'input' }) as { type?: unknown }).type ===
          'integer',
      )
      .map(([name]) => name),
  );

/**
 * Runs `handler` once the query and the body are what the route's schemas say (a 400 listing
 * every problem otherwise). A body member the route delegates (the policy) is left to the
 * handler when present: it answers with its own code and the domain's messages.
 */
const validated = (spec: ApiRoute, handler: Handler): Handler => {
  const integers = integerParams(spec.query);
  return (req, params, caller) => {
    if (spec.query) {
      const parsed = spec.query.safeParse(queryInput(spec.query, integers, queryOf(req)));
      if (!parsed.success)
        return failure(
          400,
          ApiErrorCode.InvalidRequest,
          'invalid query',
          problemsOf(parsed.error, 'query'),
        );
    }
    const body = spec.body;
    // bytes (a program object) are the handler's to read; only JSON bodies have a schema
    if (body && body.binary === undefined && (req.body !== undefined || body.required)) {
      const parsed = body.schema.safeParse(req.body ?? {});
      if (!parsed.success) {
        const delegated =
          body.delegate !== undefined &&
          typeof req.body === 'object' &&
          req.body !== null &&
          (req.body as Record<string, unknown>)[body.delegate] !== undefined;
        const issues = parsed.error.issues.filter(
          (issue) => !(delegated && issue.path[0] === body.delegate),
        );
        if (issues.length > 0)
          return failure(
            400,
            ApiErrorCode.InvalidRequest,
            'invalid body',
            problemsOf(new z.ZodError(issues), ''),
          );
      }
    }
    return handler(req, params, caller);
  };
};

export const createRoutes = (
  coordinator: FleetCoordinator,
  streams: EventStreams = createEventStreams(coordinator.history, silentLogger),
): readonly Route[] => {
  const console = createConsoleHandlers(coordinator);
  // one handler per operation of the route table, no more, no fewer (the type says so)
  const handlers: Readonly<Record<OperationId, Handler>> = {
    planPolicy: (req) => coordinator.api.plan(req.body),
    listPolicies: (req) =>
      paged<{ name: string }>(coordinator.api.policies(), (p) => p.name, queryOf(req)),
    applyPolicy: (req, _p, { by }) => coordinator.api.apply(req.body, by),
    getPolicy: (_req, [name]) => coordinator.api.policy(name!),
    deletePolicy: (req, [name], { by }) => coordinator.api.deletePolicy(name!, req.body, by),
    policyStatus: (_req, [name]) => coordinator.api.status(name!),
    rollbackPolicy: (req, [name], { by }) => coordinator.api.rollback(name!, req.body ?? {}, by),
    resumeRollout: (_req, [id], { by }) => coordinator.api.resume(id!, by),
    listNodes: (req) =>
      paged<{ nodeId: string }>(coordinator.api.nodes(), (n) => n.nodeId, queryOf(req)),
    loadModule: (req, [id, module], { by }) =>
      coordinator.api.module(id!, module!, 'load', by, waitOf(req)),
    unloadModule: (req, [id, module], { by }) =>
      coordinator.api.module(id!, module!, 'unload', by, waitOf(req)),
    // the audit over HTTP (viewer): what `tramway audit` shows, from the coordinator's own log
    // program objects: bytes in (operator), summaries and bytes out (viewer)
    pushProgram: (req) => coordinator.programs.push(req.body),
    putProgram: (req) => coordinator.programs.push(req.body),
    listPrograms: async (req) =>
      paged<{ digest: string }>(await coordinator.programs.list(), (p) => p.digest, queryOf(req)),
    getProgram: (_req, [digest]) => coordinator.programs.info(digest!),
    getProgramObject: (_req, [digest]) => coordinator.programs.bytes(digest!),
    auditRange: () => withAudit(coordinator, (a) => a.range()),
    auditState: (req) => withAudit(coordinator, (a) => a.state(queryOf(req))),
    auditHistory: (req) => withAudit(coordinator, (a) => a.history(queryOf(req))),
    auditFunction: (req, [name]) =>
      withAudit(coordinator, (a) => a.functionHistory(name!, queryOf(req))),
    auditPlans: (req, [node]) => withAudit(coordinator, (a) => a.plans(node!, queryOf(req))),
    listTokens: (req) =>
      paged<{ name: string }>(coordinator.tokens.list(), (t) => t.name, queryOf(req)),
    createToken: (req, _p, { by }) => coordinator.tokens.issue(req.body, by),
    revokeToken: (req, [name], { by }) => coordinator.tokens.revoke(name!, req.body, by),
    // the Prometheus text exposition of the coordinator's registry (docs/metrics.md)
    metrics: async () => success(await coordinator.metrics.render()),
    // node admission and take-back (admin): the caller is recorded as the approver
    approveNode: (req, [id], { by }) => coordinator.api.approve(id!, req.body, by.actor),
    resetNode: (req, [id], { by }) => coordinator.api.reset(id!, req.body, by.actor),
    openapi: () => success(OPENAPI_DOCUMENT),
    // liveness: the process serves HTTP; readiness: the log is replayed and the bus answered.
    // Public, and they say nothing of the fleet.
    healthz: () => success({ status: 'ok' }),
    ...console,
    // the stream's admission: a refusal (too many streams), or a 200 after which, over HTTP, the
    // stream writes itself (through dispatch() the 200 is all there is)
    eventStream: (_req, _p, { identity }) =>
      streams.refuse(identity.actor) ?? success({ stream: 'text/event-stream' }),
    readyz: () => {
      const why = coordinator.notReady();
      return why === undefined
        ? success({ status: 'ready' })
        : failure(503, ApiErrorCode.NotReady, `not ready: ${why}`);
    },
  };
  return API_ROUTES.map((spec): Route => ({
    method: spec.method,
    template: spec.path,
    access: requiredRole(spec.method, spec.path),
    spec,
    handler: validated(spec, handlers[spec.operationId]),
    ...(spec.operationId === 'eventStream'
      ? {
          stream: (req: IncomingMessage, res: ServerResponse, { identity }: Caller) =>
            streams.open(req, res, identity.actor),
        }
      : {}),
  }));
};

const queryOf = (req: RouteRequest): URLSearchParams => req.query ?? new URLSearchParams();

/** `?wait=MS` of a module request (validated by MODULE_QUERY before the handler runs). */
const waitOf = (req: RouteRequest): number | undefined => {
  const text = queryOf(req).get('wait');
  return text === null ? undefined : Number(text);
};

/** The audit's answer, or a 503 when this coordinator keeps no audit read model. */
const withAudit = (
  coordinator: FleetCoordinator,
  then: (audit: AuditApi) => Promise<ApiResult>,
): Promise<ApiResult> | ApiResult =>
  coordinator.audit === undefined
    ? failure(
        503,
        ApiErrorCode.NotReady,
        'this coordinator keeps no audit read model (set AUDIT_READ_MODEL to a SQLite file)',
      )
    : then(coordinator.audit);

const matchTemplate = (template: string, path: string): string[] | undefined => {
  const t = template.split('/');
  const p = path.split('/');
  if (t.length !== p.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < t.length; i++) {
    const seg = t[i]!;
    if (seg.startsWith('{')) {
      if (p[i] === '') return undefined;
      try {
        params.push(decodeURIComponent(p[i]!));
      } catch {
        return undefined;
      }
    } else if (seg !== p[i]) return undefined;
  }
  return params;
};

type Found =
  | { readonly ok: true; readonly route: Route; readonly params: readonly string[] }
  | { readonly ok: false; readonly result: ApiResult };

/** The template of the route `path` matches, whatever the method (the metrics' `route` label). */
export const routeTemplateOf = (routes: readonly Route[], path: string): string =>
  routes.find((r) => matchTemplate(r.template, path) !== undefined)?.template ?? UNMATCHED_ROUTE;

/** The route of `method path`, or the 404 (no such path) or 405 (not with this method, `Allow`). */
export const findRoute = (routes: readonly Route[], method: string, path: string): Found => {
  const matching = routes
    .map((r) => ({ r, params: matchTemplate(r.template, path) }))
    .filter((m) => m.params !== undefined);
  if (matching.length === 0)
    return { ok: false, result: failure(404, ApiErrorCode.NotFound, `no route ${path}`) };
  const hit = matching.find((m) => m.r.method === method);
  if (!hit) {
    const allowed = [...new Set(matching.map((m) => m.r.method))];
    return {
      ok: false,
      result: failure(
        405,
        ApiErrorCode.MethodNotAllowed,
        `${method} ${path}: method not allowed (allowed: ${allowed.join(', ')})`,
        { allowed },
        { allow: allowed.join(', ') },
      ),
    };
  }
  return { ok: true, route: hit.r, params: hit.params! };
};

/** Finds the route of a request and runs it as `caller`; 404 / 405 otherwise. */
export const dispatch = async (
  routes: readonly Route[],
  req: RouteRequest,
  caller: Caller = {
    identity: { actor: 'test', role: 'admin', via: 'token' },
    by: { actor: 'test' },
  },
): Promise<ApiResult> => {
  const found = findRoute(routes, req.method, req.path);
  if (!found.ok) return found.result;
  return found.route.handler(req, found.params, caller);
};

/** The body's bytes, or `undefined` once it is over `limit` bytes (the rest is not kept). */
const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const tooLarge = (limit: number): ApiResult =>
  failure(413, ApiErrorCode.PayloadTooLarge, `the body is larger than ${limit} bytes`, [
    `body: at most ${limit} bytes`,
  ]);

/** An answer plus headers of its own, and whether the connection closes after it. */
interface Reply {
  readonly result: ApiResult;
  readonly headers?: Readonly<Record<string, string>>;
  /** the body was not read: close after answering, so its rest is not taken as a request */
  readonly close?: boolean;
  /** the route answers by writing to the response itself (an event stream) */
  readonly stream?: (res: ServerResponse) => void;
  /** who asked, once authenticated (the request log line says it; never the credential) */
  readonly identity?: Identity;
}

/** Writes the reply; a problem gets `instance` (the request path) and its own content type. */
const send = (res: ServerResponse, reply: Reply, path: string): void => {
  const { result } = reply;
  if (result.body instanceof Uint8Array) {
    // bytes (a program object): as they are
    res.writeHead(result.status, {
      'content-type': PROGRAM_OBJECT_MEDIA_TYPE,
      'content-length': result.body.length,
      ...result.headers,
      ...reply.headers,
      ...(reply.close ? { connection: 'close' } : {}),
    });
    res.end(result.body);
    return;
  }
  const text = typeof result.body === 'string';
  const problem = !text && result.status >= 400 && isProblem(result.body);
  const body = problem ? { ...(result.body as object), instance: path } : result.body;
  const payload = text ? (result.body as string) : JSON.stringify(body);
  res.writeHead(result.status, {
    'content-type': text
      ? 'text/plain; version=0.0.4; charset=utf-8'
      : problem
        ? PROBLEM_CONTENT_TYPE
        : 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...result.headers,
    ...reply.headers,
    ...(reply.close ? { connection: 'close' } : {}),
  });
  res.end(payload);
};

/** The request's path (no query), or `/` when it cannot be parsed. */
const pathOf = (req: IncomingMessage): string => {
  try {
    return new URL(req.url ?? '/', 'http://x').pathname;
  } catch {
    return '/';
  }
};

/** Whether the request says it carries a body (a length over 0, or chunked). */
const hasBody = (req: IncomingMessage): boolean =>
  Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Everything the request guard needs that lives as long as the server. */
interface Guard {
  readonly scheme: 'http' | 'https';
  allowedHosts(): ReadonlySet<string>;
  readonly rate: ReturnType<typeof createRateLimiter>;
  readonly authFailures: ReturnType<typeof createRateLimiter>;
  readonly metrics: HttpMetrics;
  readonly now: () => number;
}

/** A refused request: counted, logged (never with a secret), answered. */
const deny = (
  guard: Guard,
  log: Logger,
  req: IncomingMessage,
  reason: DeniedReason,
  reply: Reply,
  who?: string,
): Reply => {
  guard.metrics.denied(reason);
  log.warn('request denied', {
    reason,
    status: reply.result.status,
    method: req.method,
    path: new URL(req.url ?? '/', 'http://x').pathname,
    remote: req.socket.remoteAddress,
    ...(who === undefined ? {} : { identity: who }),
  });
  return { ...reply, close: reply.close ?? hasBody(req) };
};

/** `x-request-id` as sent when it is a plain token, else a new one; answered in the response. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const requestIdOf = (req: IncomingMessage): string => {
  const sent = header(req, 'x-request-id');
  return sent !== undefined && REQUEST_ID.test(sent) ? sent : randomUUID();
};

/** Probes and scrapes: their request lines are debug, not to drown the others. */
const PROBE_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One line per request: method, route template (the path only when no route matched, cut at
 * 200 characters), status, duration, who asked and how; never a credential, a query or a body.
 */
const logRequest = (
  log: Logger,
  routes: readonly Route[],
  req: IncomingMessage,
  path: string,
  reply: Reply,
  startedAt: number,
): void => {
  const method = req.method ?? 'GET';
  const found = findRoute(routes, method, path);
  const status = reply.result.status;
  const line = {
    method,
    ...(found.ok ? { route: found.route.template } : { route: null, path: path.slice(0, 200) }),
    status,
    durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
    ...(reply.identity === undefined
      ? { credential: 'none' }
      : { actor: reply.identity.actor, credential: reply.identity.via }),
    remote: req.socket.remoteAddress,
  };
  if (found.ok && PROBE_ROUTES.has(found.route.template) && status < 500)
    log.debug('request', line);
  else log.info('request', line);
};

const UNAUTHENTICATED_HEADERS = { 'www-authenticate': 'Bearer realm="tramway"' };

/** The verified client certificate's identity, if the connection has one. */
const certificateOf = (req: IncomingMessage): Identity | { problem: string } | undefined => {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  return certIdentity(cert.subject ?? {});
};

/**
 * Host, body type and Origin, the per-address limit of failed authentications, the credential,
 * the route and its role, `x-tramway-on-behalf-of`, and the per-credential rate: every check
 * that reads only the headers, before the body is read. Answers the route and its caller, or the
 * refusal.
 */
const admit = (
  routes: readonly Route[],
  req: IncomingMessage,
  coordinator: FleetCoordinator,
  guard: Guard,
  log: Logger,
):
  | { ok: true; route: Route; params: readonly string[]; caller: Caller }
  | { ok: false; reply: Reply } => {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  /** `who`: the authenticated identity, or what may be said of a credential refused */
  const no = (reason: DeniedReason, reply: Reply, who?: string | Identity) =>
    ({
      ok: false,
      reply: deny(
        guard,
        log,
        req,
        reason,
        typeof who === 'object' ? { ...reply, identity: who } : reply,
        typeof who === 'object' ? who.actor : who,
      ),
    }) as const;

  const host = header(req, 'host');
  if (!hostAllowed(host, guard.scheme, guard.allowedHosts())) {
    return no('bad_host', {
      result: failure(
        421,
        ApiErrorCode.MisdirectedRequest,
        `Host ${JSON.stringify(host ?? '')} is not a name of this coordinator (allowed: ${[
          ...guard.allowedHosts(),
        ].join(', ')}; add names with HTTP_ALLOWED_HOSTS)`,
      ),
    });
  }
  const found = findRoute(routes, method, path);
  // a route taking bytes (a program object) takes them only as its media type; the others JSON or YAML
  const binary = found.ok ? found.route.spec.body?.binary : undefined;
  const contentType = header(req, 'content-type');
  if (
    hasBody(req) &&
    (binary === undefined
      ? !acceptsBodyType(contentType)
      : mediaTypeOf(contentType) !== binary.mediaType)
  ) {
    return no('unsupported_media_type', {
      result: failure(
        415,
        ApiErrorCode.UnsupportedMediaType,
        `a body must be ${binary === undefined ? 'application/json or application/yaml' : binary.mediaType}, not ${JSON.stringify(
          contentType ?? '(none)',
        )}`,
      ),
    });
  }
  const origin = header(req, 'origin');
  if (origin !== undefined && !originAllowed(origin, guard.scheme, guard.allowedHosts())) {
    return no('bad_origin', {
      result: failure(
        403,
        ApiErrorCode.Forbidden,
        `cross-origin request from ${JSON.stringify(origin)} refused: the API serves no other site`,
      ),
    });
  }

  const access = found.ok ? found.route.access : 'viewer';
  const anonymous: Caller = {
    identity: { actor: 'anonymous', role: 'viewer', via: 'token' },
    by: { actor: 'anonymous' },
  };
  if (access === 'public') {
    return found.ok
      ? { ok: true, route: found.route, params: found.params, caller: anonymous }
      : { ok: false, reply: { result: found.result } };
  }

  const remote = req.socket.remoteAddress ?? 'unknown';
  const addressBudget = guard.authFailures.allows(remote, guard.now());
  if (!addressBudget.ok) {
    return no('rate_limited', {
      result: failure(
        429,
        ApiErrorCode.TooManyRequests,
        `too many failed authentications from ${remote}: retry in ${addressBudget.retryAfterS} s`,
      ),
      headers: { 'retry-after': String(addressBudget.retryAfterS) },
    });
  }
  /** `presented`: what the log line may say of the credential (never the secret) */
  const unauthenticated = (message: string, presented?: string) => {
    guard.authFailures.take(remote, guard.now());
    return no(
      'unauthenticated',
      {
        result: failure(401, ApiErrorCode.Unauthorized, message),
        headers: UNAUTHENTICATED_HEADERS,
      },
      presented,
    );
  };
  let identity: Identity;
  const bearer = bearerOf(req.headers['authorization']);
  if (bearer !== undefined) {
    const who = bearer === '' ? undefined : coordinator.tokens.authenticate(bearer);
    if (who === undefined) {
      return unauthenticated(
        bearer === ''
          ? 'malformed Authorization header: expected "Bearer <token>"'
          : 'unknown or revoked token',
        // a fingerprint to correlate attempts: 48 bits of the SHA-256, not the token
        bearer === '' ? undefined : `token sha256:${hashToken(bearer).slice(0, 12)}`,
      );
    }
    identity = { actor: `token:${who.name}`, role: who.role, via: 'token' };
  } else {
    const cert = certificateOf(req);
    if (cert === undefined) {
      return unauthenticated(
        'no credential: send "Authorization: Bearer <token>" (tramway token create; the first admin token is <data-dir>/admin.token)' +
          (guard.scheme === 'https' ? ' or a client certificate' : ''),
      );
    }
    if ('problem' in cert) return unauthenticated(cert.problem);
    identity = cert;
  }

  if (!found.ok) return { ok: false, reply: { result: found.result } };
  if (!mayCall(identity, access)) {
    return no(
      'forbidden',
      {
        result: failure(
          403,
          ApiErrorCode.Forbidden,
          `${identity.actor} (${identity.role}) may not ${method} ${found.route.template}: it needs the ${access} role`,
          { needed: access, role: identity.role },
        ),
      },
      identity,
    );
  }
  const onBehalfOf = header(req, 'x-tramway-on-behalf-of');
  if (onBehalfOf !== undefined) {
    if (identity.role !== 'admin') {
      return no(
        'forbidden',
        {
          result: failure(
            403,
            ApiErrorCode.Forbidden,
            `${identity.actor} (${identity.role}) may not act on behalf of someone: only an admin may send x-tramway-on-behalf-of`,
            { needed: 'admin', role: identity.role },
          ),
        },
        identity,
      );
    }
    if (!ON_BEHALF_OF.test(onBehalfOf)) {
      return {
        ok: false,
        reply: {
          result: failure(400, ApiErrorCode.InvalidRequest, 'invalid x-tramway-on-behalf-of', [
            'headers.x-tramway-on-behalf-of: 1-128 letters, digits and ._:@/-',
          ]),
          close: hasBody(req),
        },
      };
    }
  }
  const budget = guard.rate.take(identity.actor, guard.now());
  if (!budget.ok) {
    return no(
      'rate_limited',
      {
        result: failure(
          429,
          ApiErrorCode.TooManyRequests,
          `${identity.actor} is over its request rate: retry in ${budget.retryAfterS} s`,
        ),
        headers: { 'retry-after': String(budget.retryAfterS) },
      },
      identity,
    );
  }
  return {
    ok: true,
    route: found.route,
    params: found.params,
    caller: {
      identity,
      by:
        onBehalfOf === undefined
          ? { actor: identity.actor }
          : { actor: identity.actor, onBehalfOf },
    },
  };
};

/** Admits, then reads and parses the body and runs the route. */
const handle = async (
  routes: readonly Route[],
  req: IncomingMessage,
  coordinator: FleetCoordinator,
  guard: Guard,
  log: Logger,
  limits: HttpLimits,
): Promise<Reply> => {
  const admitted = admit(routes, req, coordinator, guard, log);
  if (!admitted.ok) return admitted.reply;
  const reply = await run(admitted, req, log, limits);
  return admitted.caller.identity.actor === 'anonymous'
    ? reply
    : { ...reply, identity: admitted.caller.identity };
};

/** Reads and parses the body of an admitted request, runs its route. */
const run = async (
  admitted: { route: Route; params: readonly string[]; caller: Caller },
  req: IncomingMessage,
  log: Logger,
  limits: HttpLimits,
): Promise<Reply> => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const binary = admitted.route.spec.body?.binary;
  const limit = binary?.maxBytes ?? limits.maxBodyBytes;
  let bytes: Buffer | undefined;
  try {
    bytes = await readBody(req, limit);
  } catch (error) {
    return {
      result: failure(
        400,
        ApiErrorCode.InvalidRequest,
        error instanceof Error ? error.message : 'unreadable body',
      ),
    };
  }
  if (bytes === undefined) return { result: tooLarge(limit), close: true };
  let body: unknown;
  const raw = binary === undefined ? bytes.toString('utf8') : '';
  if (binary !== undefined) {
    if (bytes.length > 0) body = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  } else if (raw.trim() !== '') {
    const type = req.headers['content-type'] ?? 'application/json';
    if (/yaml/i.test(type)) {
      body = { policy: raw };
    } else if (nestingExceeds(raw)) {
      return {
        result: failure(400, ApiErrorCode.InvalidRequest, 'the body is nested too deeply', [
          `body: at most ${MAX_NESTING_DEPTH} levels of [ and {`,
        ]),
      };
    } else {
      try {
        body = JSON.parse(raw) as unknown;
      } catch (error) {
        return {
          result: failure(400, ApiErrorCode.InvalidRequest, 'the body is not valid JSON', [
            `body: ${error instanceof Error ? error.message : String(error)}`,
          ]),
        };
      }
    }
  }
  const stream = admitted.route.stream;
  if (stream !== undefined) {
    if (body !== undefined)
      return {
        result: failure(400, ApiErrorCode.InvalidRequest, 'the event stream takes no body', [
          'body: none',
        ]),
      };
    // a refusal (too many streams, a bad query) is an ordinary answer; else the stream writes itself
    const refused = await admitted.route.handler(
      {
        method: req.method ?? 'GET',
        path: url.pathname,
        headers: req.headers,
        body,
        query: url.searchParams,
      },
      admitted.params,
      admitted.caller,
    );
    if (refused.status !== 200) return { result: refused };
    return { result: refused, stream: (res) => stream(req, res, admitted.caller) };
  }
  try {
    return {
      result: await admitted.route.handler(
        {
          method: req.method ?? 'GET',
          path: url.pathname,
          headers: req.headers,
          body,
          query: url.searchParams,
        },
        admitted.params,
        admitted.caller,
      ),
    };
  } catch (error) {
    log.error('request failed', {
      path: url.pathname,
      error: error instanceof Error ? error.message : String(error),
    });
    return {
      result: failure(500, ApiErrorCode.Internal, 'internal error; see the coordinator log'),
    };
  }
};

export interface HttpApi {
  readonly url: string;
  close(): Promise<Error | undefined>;
}

/** HTTPS for the API: PEM files; with `clientCaFile`, client certificates it signed are a credential. */
export interface HttpTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA of client certificates (CN = name, OU = role); none: bearer tokens only */
  readonly clientCaFile?: string;
}

export interface HttpAddress {
  readonly host: string;
  readonly port: number;
  /** each missing one is `DEFAULT_HTTP_LIMITS`' */
  readonly limits?: Partial<HttpLimits>;
  /** Host names (`name` or `name:port`) answered besides loopback and the listen host */
  readonly allowedHosts?: readonly string[];
  /** serve HTTPS (and accept client certificates) instead of HTTP */
  readonly tls?: HttpTls;
  /** the built console served at /ui (default services/console/dist) */
  readonly consoleDir?: string;
  /**
   * where the admin token lives: issued there on first start (0600) when no admin exists
   * (access-tokens.ts `bootstrap`); none: no bootstrap
   */
  readonly adminTokenFile?: string;
}

/** Listens on host:port (port 0: any free port) and serves the routes. */
export const listenHttpApi = (
  coordinator: FleetCoordinator,
  address: HttpAddress,
  log: Logger,
): Promise<HttpApi> => {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...address.limits };
  let allowed: ReadonlySet<string> = new Set();
  const streams = createEventStreams(coordinator.history, log);
  const routes = createRoutes(coordinator, streams);
  const guard: Guard = {
    scheme: address.tls ? 'https' : 'http',
    allowedHosts: () => allowed,
    rate: createRateLimiter(limits.rate),
    authFailures: createRateLimiter(limits.authFailures),
    metrics: httpMetricsOn(
      coordinator.metrics.registry,
      routes.map((r) => r.template),
    ),
    now: () => Date.now(),
  };
  const consoleFiles = createConsoleFiles(address.consoleDir);
  const options = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // how often node:http checks the two timeouts above (its default, 30 s, would let a
    // short request timeout run for up to 30 s more)
    connectionsCheckingInterval: Math.max(
      10,
      Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)),
    ),
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = performance.now();
    const path = pathOf(req);
    if (path === '/ui' || path.startsWith('/ui/')) {
      // the console's static files: no credential (they hold no fleet data), but the Host
      // check still applies (a rebinding DNS name must not read even the page)
      if (!hostAllowed(header(req, 'host'), guard.scheme, guard.allowedHosts())) {
        send(
          res,
          {
            result: failure(
              421,
              ApiErrorCode.MisdirectedRequest,
              'Host is not a name of this coordinator',
            ),
            close: true,
          },
          path,
        );
        return;
      }
      const answer = consoleFiles(req.method ?? 'GET', path);
      req.resume();
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      return;
    }
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    res.once('finish', () =>
      guard.metrics.request(
        req.method ?? 'GET',
        routeTemplateOf(routes, path),
        res.statusCode,
        (performance.now() - startedAt) / 1000,
      ),
    );
    const reqLog = log.child({ requestId });
    handle(routes, req, coordinator, guard, reqLog, limits).then(
      (reply) => {
        if (reply.close) req.resume();
        if (reply.stream !== undefined) {
          reqLog.info('event stream opened', { path });
          reply.stream(res);
          return;
        }
        send(res, reply, path);
        logRequest(reqLog, routes, req, path, reply, startedAt);
      },
      (error: unknown) => {
        reqLog.error('response failed', { error: String(error) });
        const reply = { result: failure(500, ApiErrorCode.Internal, 'internal error') };
        send(res, reply, path);
        logRequest(reqLog, routes, req, path, reply, startedAt);
      },
    );
  };
  const tls = address.tls;
  const server: Server = tls
    ? createHttpsServer(
        {
          ...options,
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          ...(tls.clientCaFile === undefined
            ? {}
            : { ca: readFileSync(tls.clientCaFile), requestCert: true }),
          // a connection without a certificate may still carry a bearer token
          rejectUnauthorized: false,
          minVersion: 'TLSv1.2',
        },
        onRequest,
      )
    : createServer(options, onRequest);
  server.maxConnections = limits.maxConnections;
  // what node:http refuses itself (a request too slow, unparsable headers) is a problem too
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, ApiErrorCode.RequestTimeout, 'the request was not received in time']
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, ApiErrorCode.HeadersTooLarge, 'the request headers are too large']
          : [400, ApiErrorCode.InvalidRequest, 'malformed HTTP request'];
    const payload = JSON.stringify(failure(status, code, message).body);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(payload)}\r\nconnection: close\r\n\r\n${payload}`,
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      allowed = allowedHostSet(address.host, port, address.allowedHosts ?? []);
      const host = address.host.includes(':') ? `[${address.host}]` : address.host;
      resolve({
        url: `${guard.scheme}://${host}:${port}`,
        close: () =>
          new Promise((done) => {
            streams.closeAll();
            server.close((error) => done(error ?? undefined));
            server.closeAllConnections();
          }),
      });
    });
  });
};
