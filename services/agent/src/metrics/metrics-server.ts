/**
 * The agent's `/metrics` endpoint (docs/metrics.md, "Agent"): a small node:http server that
 * answers `GET /metrics` with the agent's registry and nothing else. Off unless configured
 * (TRAMWAY_METRICS_LISTEN or METRICS_PORT), and on 127.0.0.1 by default: without credentials,
 * it is meant for a scraper on the node itself (docs/security.md, "Surfaces").
 */
import type { Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '@tramway/shared/infra';
import { Registry } from 'prom-client';

export interface MetricsListen {
  readonly host: string;
  /** 0: a free port */
  readonly port: number;
}

export interface MetricsServer {
  /** `http://host:port` as bound */
  readonly url: string;
  close(): Promise<Error | undefined>;
}

/** What one scraper may cost the agent. */
const LIMITS = { maxConnections: 16, headersTimeoutMs: 5000, requestTimeoutMs: 10_000 };

const answer = (
  res: ServerResponse,
  status: number,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): void => {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
};

/**
 * Serves `render()` on `GET /metrics` (HEAD too; a 503 while it yields undefined: the agent
 * is not built yet); another path is a 404, another method a 405
 * with `Allow`. Rejects with an `AppError` (`MetricsListenFailed`, the OS's reason) when the
 * address cannot be bound.
 */
export const listenMetrics = (
  listen: MetricsListen,
  render: () => Promise<string | undefined>,
): Promise<MetricsServer> => {
  const server: Server = createServer(
    {
      headersTimeout: LIMITS.headersTimeoutMs,
      requestTimeout: LIMITS.requestTimeoutMs,
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      let path = '/';
      try {
        path = new URL(req.url ?? '/', 'http://x').pathname;
      } catch {
        // an unparsable target is no path we serve
      }
      // a body is never read: the connection closes after the answer
      if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'])
        res.setHeader('connection', 'close');
      if (path !== '/metrics') return answer(res, 404, `no route ${path}: only GET /metrics\n`);
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return answer(res, 405, `${req.method} /metrics: method not allowed\n`, {
          allow: 'GET, HEAD',
        });
      render().then(
        (text) => {
          if (text === undefined) return answer(res, 503, 'the agent is starting\n');
          res.writeHead(200, {
            'content-type': Registry.PROMETHEUS_CONTENT_TYPE,
            'content-length': Buffer.byteLength(text),
          });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (error: unknown) =>
          answer(
            res,
            500,
            `metrics not rendered: ${error instanceof Error ? error.message : String(error)}\n`,
          ),
      );
    },
  );
  server.maxConnections = LIMITS.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new AppError(
          `cannot serve metrics on ${listen.host}:${listen.port}: ${error.code ?? error.message}`,
          { code: 'MetricsListenFailed', retryable: false, cause: error },
        ),
      ),
    );
    server.listen(listen.port, listen.host, () => {
      const { port } = server.address() as AddressInfo;
      const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
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
