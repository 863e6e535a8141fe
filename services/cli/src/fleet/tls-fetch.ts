/**
 * `fetch` over node:https with the CLI's own trust: a CA file (the coordinator's certificate is
 * signed by the fleet's CA, not a public one) and, for mTLS, a client certificate and key. The
 * global fetch cannot take these without a dependency, so this answers the few calls the
 * client makes (method, headers, a string body, a signal) with a standard `Response`.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface ClientTls {
  /** PEM CA that signed the coordinator's certificate */
  readonly caFile?: string;
  /** PEM client certificate and key (mTLS; CN = name, OU = role) */
  readonly certFile?: string;
  readonly keyFile?: string;
}

const NO_BODY = new Set([101, 204, 205, 304]);

export const createTlsFetch = (tls: ClientTls): typeof fetch => {
  const ca = tls.caFile === undefined ? undefined : readFileSync(tls.caFile);
  const cert = tls.certFile === undefined ? undefined : readFileSync(tls.certFile);
  const key = tls.keyFile === undefined ? undefined : readFileSync(tls.keyFile);
  const tlsFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const req = request(
        url,
        {
          method: init?.method ?? 'GET',
          headers,
          ...(ca === undefined ? {} : { ca }),
          ...(cert === undefined ? {} : { cert }),
          ...(key === undefined ? {} : { key }),
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 500;
            resolve(
              new Response(NO_BODY.has(status) ? null : Buffer.concat(chunks), {
                status,
                headers: Object.entries(res.headers).flatMap(([k, v]) =>
                  v === undefined
                    ? []
                    : (Array.isArray(v) ? v : [v]).map((x) => [k, x] as [string, string]),
                ),
              }),
            );
          });
        },
      );
      req.on('error', (error) => reject(new TypeError('fetch failed', { cause: error })));
      if (typeof init?.body === 'string') req.end(init.body);
      else req.end();
    });
  return tlsFetch as typeof fetch;
};
