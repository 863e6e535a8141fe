/**
 * The coordinator's HTTP API over node:http (docs/fleet-protocol.md, "Coordinator HTTP API"):
 * JSON in and out, bodies validated at the edge, errors as `{ error: { code, message, details? } }`,
 * never a stack trace. The actor of a decision comes from the `x-tramway-actor` header.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FleetCoordinator } from '../fleet-coordinator.js';

/** The actor of a request that names none. */
export const DEFAULT_ACTOR = 'user:anonymous';
import type { Logger } from '@tramway/shared/infra';
import { MAX_NESTING_DEPTH, nestingExceeds } from '@tramway/shared/lib';
import type { ApiResult } from './api-result.js';
import { ApiErrorCode, failure, success } from './api-result.js';
import { renderMetrics } from './metrics.js';
import { OPENAPI_DOCUMENT } from './openapi.js';

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
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxBodyBytes: MAX_BODY_BYTES,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
};
const ACTOR = /^[A-Za-z0-9._:@/-]{1,128}$/;

export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** the parsed JSON body (undefined when empty) */
  readonly body: unknown;
}

type Handler = (req: RouteRequest, params: readonly string[]) => Promise<ApiResult> | ApiResult;

interface Route {
  readonly method: 'GET' | 'POST';
  /** the path as in OPENAPI_DOCUMENT, `{x}` for a parameter */
  readonly template: string;
  readonly handler: Handler;
}

const actorOf = (req: RouteRequest): string | ApiResult => {
  const raw = req.headers['x-tramway-actor'];
  if (raw === undefined) return DEFAULT_ACTOR;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || !ACTOR.test(value)) {
    return failure(400, ApiErrorCode.InvalidRequest, 'invalid x-tramway-actor header', [
      'headers.x-tramway-actor: 1-128 chars of letters, digits and ._:@/-',
    ]);
  }
  return value;
};

const withActor =
  (
    run: (req: RouteRequest, params: readonly string[], actor: string) => Promise<ApiResult>,
  ): Handler =>
  (req, params) => {
    const actor = actorOf(req);
    return typeof actor === 'string' ? run(req, params, actor) : actor;
  };

export const createRoutes = (coordinator: FleetCoordinator): readonly Route[] => [
  { method: 'POST', template: '/v1/plan', handler: (req) => coordinator.api.plan(req.body) },
  {
    method: 'POST',
    template: '/v1/policies',
    handler: withActor((req, _p, actor) => coordinator.api.apply(req.body, actor)),
  },
  {
    method: 'GET',
    template: '/v1/policies/{name}/status',
    handler: (_req, [name]) => coordinator.api.status(name!),
  },
  {
    method: 'POST',
    template: '/v1/policies/{name}/rollback',
    handler: withActor((req, [name], actor) =>
      coordinator.api.rollback(name!, req.body ?? {}, actor),
    ),
  },
  {
    method: 'POST',
    template: '/v1/rollouts/{id}/resume',
    handler: withActor((_req, [id], actor) => coordinator.api.resume(id!, actor)),
  },
  { method: 'GET', template: '/v1/nodes', handler: () => coordinator.api.nodes() },
  {
    method: 'POST',
    template: '/v1/nodes/{id}/modules/{module}/load',
    handler: (_req, [id, module]) => coordinator.api.module(id!, module!, 'load'),
  },
  {
    method: 'POST',
    template: '/v1/nodes/{id}/modules/{module}/unload',
    handler: (_req, [id, module]) => coordinator.api.module(id!, module!, 'unload'),
  },
  {
    method: 'GET',
    template: '/metrics',
    handler: () =>
      success(
        renderMetrics({
          fleet: coordinator.fleet(),
          staleNodes: coordinator.staleNodes().length,
          appended: coordinator.appendedCount(),
          refused: coordinator.refusedMessages(),
        }),
      ),
  },
  { method: 'GET', template: '/openapi.json', handler: () => success(OPENAPI_DOCUMENT) },
];

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

/** Finds the route of a request and runs it; 404 / 405 otherwise. */
export const dispatch = async (routes: readonly Route[], req: RouteRequest): Promise<ApiResult> => {
  const matching = routes
    .map((r) => ({ r, params: matchTemplate(r.template, req.path) }))
    .filter((m) => m.params !== undefined);
  if (matching.length === 0) return failure(404, ApiErrorCode.NotFound, `no route ${req.path}`);
  const hit = matching.find((m) => m.r.method === req.method);
  if (!hit) {
    return failure(404, ApiErrorCode.NotFound, `${req.method} ${req.path}: method not allowed`, {
      allowed: matching.map((m) => m.r.method),
    });
  }
  return hit.r.handler(req, hit.params!);
};

/** The body's text, or `undefined` once it is over `limit` bytes (the rest is not kept). */
const readBody = (req: IncomingMessage, limit: number): Promise<string | undefined> =>
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
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const tooLarge = (limit: number): ApiResult =>
  failure(413, ApiErrorCode.PayloadTooLarge, `the body is larger than ${limit} bytes`, [
    `body: at most ${limit} bytes`,
  ]);

const send = (res: ServerResponse, result: ApiResult, close = false): void => {
  const text = typeof result.body === 'string';
  const payload = text ? (result.body as string) : JSON.stringify(result.body);
  res.writeHead(result.status, {
    'content-type': text ? 'text/plain; version=0.0.4; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(payload);
};

/**
 * Answers a request whose body is over the limit without reading the rest: `Connection: close`,
 * the 413, then the rest of the body is discarded (not buffered) until it ends or the request
 * timeout, so the client reads the answer instead of a reset.
 */
const refuseBody = (req: IncomingMessage, res: ServerResponse, limit: number): void => {
  req.resume();
  send(res, tooLarge(limit), true);
};

/** `undefined`: the body was over the limit (the caller answers 413 and closes). */
const handle = async (
  routes: readonly Route[],
  req: IncomingMessage,
  log: Logger,
  limits: HttpLimits,
): Promise<ApiResult | undefined> => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let raw: string | undefined;
  try {
    raw = await readBody(req, limits.maxBodyBytes);
  } catch (error) {
    return failure(
      400,
      ApiErrorCode.InvalidRequest,
      error instanceof Error ? error.message : 'unreadable body',
    );
  }
  if (raw === undefined) return undefined;
  let body: unknown;
  if (raw.trim() !== '') {
    const type = req.headers['content-type'] ?? 'application/json';
    if (/yaml/i.test(type)) {
      body = { policy: raw };
    } else if (nestingExceeds(raw)) {
      return failure(400, ApiErrorCode.InvalidRequest, 'the body is nested too deeply', [
        `body: at most ${MAX_NESTING_DEPTH} levels of [ and {`,
      ]);
    } else {
      try {
        body = JSON.parse(raw) as unknown;
      } catch (error) {
        return failure(400, ApiErrorCode.InvalidRequest, 'the body is not valid JSON', [
          `body: ${error instanceof Error ? error.message : String(error)}`,
        ]);
      }
    }
  }
  try {
    return await dispatch(routes, {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      body,
    });
  } catch (error) {
    log.error('request failed', {
      path: url.pathname,
      error: error instanceof Error ? error.message : String(error),
    });
    return failure(500, ApiErrorCode.Internal, 'internal error; see the coordinator log');
  }
};

export interface HttpApi {
  readonly url: string;
  close(): Promise<Error | undefined>;
}

export interface HttpAddress {
  readonly host: string;
  readonly port: number;
  /** each missing one is `DEFAULT_HTTP_LIMITS`' */
  readonly limits?: Partial<HttpLimits>;
}

/** Listens on host:port (port 0: any free port) and serves the routes. */
export const listenHttpApi = (
  coordinator: FleetCoordinator,
  address: HttpAddress,
  log: Logger,
): Promise<HttpApi> => {
  const routes = createRoutes(coordinator);
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...address.limits };
  const server: Server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // how often node:http checks the two timeouts above (its default, 30 s, would let a
      // short request timeout run for up to 30 s more)
      connectionsCheckingInterval: Math.max(
        10,
        Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)),
      ),
    },
    (req, res) => {
      handle(routes, req, log, limits).then(
        (result) =>
          result === undefined ? refuseBody(req, res, limits.maxBodyBytes) : send(res, result),
        (error: unknown) => {
          log.error('response failed', { error: String(error) });
          send(res, failure(500, ApiErrorCode.Internal, 'internal error'));
        },
      );
    },
  );
  server.maxConnections = limits.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = address.host.includes(':') ? `[${address.host}]` : address.host;
      resolve({
        url: `http://${host}:${port}`,
        close: () =>
          new Promise((done) => {
            server.close((error) => done(error ?? undefined));
            server.closeAllConnections();
          }),
      });
    });
  });
};
