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
import type { ApiResult } from './api-result.js';
import { ApiErrorCode, failure, success } from './api-result.js';
import { renderMetrics } from './metrics.js';
import { OPENAPI_DOCUMENT } from './openapi.js';

/** Largest request body accepted (a policy is a few KiB). */
export const MAX_BODY_BYTES = 1 << 20;
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

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RangeError(`the body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const send = (res: ServerResponse, result: ApiResult): void => {
  const text = typeof result.body === 'string';
  const payload = text ? (result.body as string) : JSON.stringify(result.body);
  res.writeHead(result.status, {
    'content-type': text ? 'text/plain; version=0.0.4; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
};

const handle = async (
  routes: readonly Route[],
  req: IncomingMessage,
  log: Logger,
): Promise<ApiResult> => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let raw: string;
  try {
    raw = await readBody(req);
  } catch (error) {
    return failure(
      400,
      ApiErrorCode.InvalidRequest,
      error instanceof Error ? error.message : 'unreadable body',
    );
  }
  let body: unknown;
  if (raw.trim() !== '') {
    const type = req.headers['content-type'] ?? 'application/json';
    if (/yaml/i.test(type)) {
      body = { policy: raw };
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

/** Listens on host:port (port 0: any free port) and serves the routes. */
export const listenHttpApi = (
  coordinator: FleetCoordinator,
  address: { readonly host: string; readonly port: number },
  log: Logger,
): Promise<HttpApi> => {
  const routes = createRoutes(coordinator);
  const server: Server = createServer((req, res) => {
    handle(routes, req, log).then(
      (result) => send(res, result),
      (error: unknown) => {
        log.error('response failed', { error: String(error) });
        send(res, failure(500, ApiErrorCode.Internal, 'internal error'));
      },
    );
  });
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
