/**
 * The few HTTP calls the CLI makes (method, headers, a string body, a signal), over node:http and
 * node:https rather than the global `fetch`:
 * - start-up: the global fetch loads undici on first use, about 100 ms of a `tramway nodes` that
 *   should start in well under 150 ms (bench/cli.bench.ts);
 * - trust: the coordinator's certificate is signed by the fleet's CA, not a public one, and mTLS
 *   needs a client certificate and key; the global fetch takes neither without a dependency.
 * The answer is read whole (bounded by MAX_ANSWER_BYTES) and offered as `status`, `ok`, `text()`.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';

export interface ClientTls {
  /** PEM CA that signed the coordinator's certificate */
  readonly caFile?: string;
  /** PEM client certificate and key (mTLS; CN = name, OU = role) */
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** What the client sends. */
export interface HttpCall {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text, or bytes (a program object) */
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
}

/** What the client reads of an answer; the global `Response` has it too (tests inject `fetch`). */
export interface HttpAnswer {
  readonly status: number;
  readonly ok: boolean;
  text(): Promise<string>;
}

export type HttpFetch = (url: string, call: HttpCall) => Promise<HttpAnswer>;

/** A larger answer is refused: no list of this API comes near it. */
export const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

/**
 * An `HttpFetch` over node:http / node:https (by the URL's scheme), https with the CA and client
 * certificate of `tls` when given. Network failures reject with `TypeError('fetch failed')` whose
 * `cause` is the socket error (`ECONNREFUSED`...), an abort with the signal's reason, as the global
 * fetch does.
 */
export const createNodeFetch = (tls: ClientTls = {}): HttpFetch => {
  const ca = tls.caFile === undefined ? undefined : readFileSync(tls.caFile);
  const cert = tls.certFile === undefined ? undefined : readFileSync(tls.certFile);
  const key = tls.keyFile === undefined ? undefined : readFileSync(tls.keyFile);
  return async (input, call) => {
    const url = new URL(input);
    // node:https (tls, crypto) is loaded only for an https:// URL: plain http starts faster
    const request =
      url.protocol === 'https:'
        ? (await import('node:https')).request
        : url.protocol === 'http:'
          ? httpRequest
          : null;
    if (request === null)
      throw new TypeError('fetch failed', { cause: new Error(`${url.protocol} URL`) });
    return new Promise((resolve, reject) => {
      const fail = (error: unknown): void =>
        reject(
          call.signal?.aborted === true
            ? (call.signal.reason as unknown)
            : new TypeError('fetch failed', { cause: error }),
        );
      const req = request(
        url,
        {
          method: call.method,
          headers: {
            ...call.headers,
            ...(call.body === undefined
              ? {}
              : { 'content-length': String(Buffer.byteLength(call.body)) }),
          },
          ...(ca === undefined ? {} : { ca }),
          ...(cert === undefined ? {} : { cert }),
          ...(key === undefined ? {} : { key }),
          ...(call.signal ? { signal: call.signal } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_ANSWER_BYTES) {
              res.destroy(new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('error', fail);
          res.on('end', () => {
            const status = res.statusCode ?? 500;
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status,
              ok: status >= 200 && status < 300,
              text: () => Promise.resolve(text),
            });
          });
        },
      );
      req.on('error', fail);
      req.end(call.body);
    });
  };
};
