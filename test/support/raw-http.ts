/**
 * One HTTP(S) request with exactly the headers given (Host and Origin included, which fetch
 * will not forge), answered as status, headers and parsed body (JSON when it parses, else the
 * text). For the security tier and the HTTP conventions and limits tests.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { checkServerIdentity } from 'node:tls';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  // the API's JSON (or metrics text), read by the tests
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

export interface RawOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** sent with its content-length, unless `headers` asks for transfer-encoding */
  readonly body?: string | Buffer;
  /** the loopback address to send from (limits kept per address) */
  readonly localAddress?: string;
  /** https: CA, client certificate and key (PEM text) */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export const rawRequest = (
  url: string,
  method: string,
  options: RawOptions = {},
): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      u,
      {
        method,
        headers: {
          ...(options.body === undefined || options.headers?.['transfer-encoding'] !== undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(options.body)) }),
          ...options.headers,
        },
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.cert === undefined ? {} : { cert: options.cert }),
        ...(options.key === undefined ? {} : { key: options.key }),
        agent: false,
        // the server's certificate is checked against the URL's host, not a forged Host header
        checkServerIdentity: (_host: string, cert: PeerCertificate) =>
          checkServerIdentity(u.hostname, cert),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // metrics text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
