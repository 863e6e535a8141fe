/**
 * What a request must look like before anyone reads it (docs/fleet-protocol.md, "Requests"):
 * a Host this coordinator answers to (DNS rebinding), an Origin, when a browser sends one, of
 * that same set (cross-site requests), and a body only as JSON or YAML (a `text/plain` form
 * post is how a page posts cross-site without asking). Pure.
 */

/** Media types a body may have. */
export const BODY_TYPES: readonly string[] = [
  'application/json',
  'application/yaml',
  'application/x-yaml',
];

/** The media type of a Content-Type header, lowercased, without parameters ('' when absent). */
export const mediaTypeOf = (header: string | undefined): string =>
  (header ?? '').split(';')[0]!.trim().toLowerCase();

export const acceptsBodyType = (header: string | undefined): boolean =>
  BODY_TYPES.includes(mediaTypeOf(header));

const defaultPort = (scheme: 'http' | 'https'): number => (scheme === 'https' ? 443 : 80);

/** `host:port` as the set holds it: lowercase, IPv6 in brackets, the port always written. */
const normalize = (host: string, port: number): string => {
  const h = host.toLowerCase();
  return `${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
};

/** `name`, `name:port`, `[v6]` or `[v6]:port`, split; undefined when it is none of them. */
const splitHost = (value: string): { host: string; port: number | undefined } | undefined => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65_535) return undefined;
  return { host: m[1]!, port };
};

/**
 * The `host:port` values this coordinator answers to: loopback names on its port, the host it
 * listens on (unless a wildcard), and the configured names (`name` means on its port, or
 * `name:port`).
 */
export const allowedHostSet = (
  listenHost: string,
  port: number,
  extra: readonly string[],
): ReadonlySet<string> => {
  const set = new Set<string>();
  for (const h of ['127.0.0.1', 'localhost', '[::1]']) set.add(normalize(h, port));
  if (!['0.0.0.0', '::', '[::]', ''].includes(listenHost)) set.add(normalize(listenHost, port));
  for (const e of extra) {
    const s = splitHost(e);
    if (s) set.add(normalize(s.host, s.port ?? port));
  }
  return set;
};

/** Whether a Host header names this coordinator. */
export const hostAllowed = (
  header: string | undefined,
  scheme: 'http' | 'https',
  allowed: ReadonlySet<string>,
): boolean => {
  if (header === undefined) return false;
  const s = splitHost(header);
  return s !== undefined && allowed.has(normalize(s.host, s.port ?? defaultPort(scheme)));
};

/** Whether an Origin header (present) is this coordinator itself. */
export const originAllowed = (
  origin: string,
  scheme: 'http' | 'https',
  allowed: ReadonlySet<string>,
): boolean => {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== `${scheme}:` || url.pathname !== '/' || url.username !== '') return false;
  const port = url.port === '' ? defaultPort(scheme) : Number(url.port);
  return allowed.has(normalize(url.hostname, port));
};
