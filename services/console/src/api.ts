/**
 * The console's client of the coordinator's HTTP API: same origin, the bearer token kept for the
 * browser tab (sessionStorage: gone when the tab closes, never sent to another site), errors read
 * as the API's problem details (docs/fleet-protocol.md, "Errors").
 */

const TOKEN_KEY = 'tramway.token';

export const storedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export const storeToken = (token: string): void => sessionStorage.setItem(TOKEN_KEY, token);
export const forgetToken = (): void => sessionStorage.removeItem(TOKEN_KEY);

/** What a token looks like (the API's bearer syntax); anything else is refused before sending. */
export const TOKEN_SYNTAX = /^[A-Za-z0-9._~+/=-]{1,512}$/;

/**
 * Takes a one-time sign-in link's token out of the address (`#token=…`, what `npm start`
 * prints), keeps it for this tab and removes it from the address bar and history.
 */
export const takeTokenFromFragment = (): boolean => {
  const m = /^#token=([^&]+)(?:&(.*))?$/.exec(location.hash);
  if (!m) return false;
  const token = decodeURIComponent(m[1]!);
  const rest = m[2] === undefined ? '#/fleet' : `#${m[2]}`;
  history.replaceState(null, '', `${location.pathname}${location.search}${rest}`);
  if (!TOKEN_SYNTAX.test(token)) return false;
  storeToken(token);
  return true;
};

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly errors: readonly string[];
  constructor(status: number, code: string, message: string, errors: readonly string[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

const problemOf = async (res: Response): Promise<ApiError> => {
  try {
    const body = (await res.json()) as { code?: string; detail?: string; errors?: string[] };
    return new ApiError(
      res.status,
      body.code ?? String(res.status),
      body.detail ?? res.statusText,
      body.errors ?? [],
    );
  } catch {
    return new ApiError(res.status, String(res.status), res.statusText);
  }
};

/** Called when the API says the token is no good (401): the page asks for another. */
let onUnauthorized: (message: string) => void = () => undefined;
export const whenUnauthorized = (f: (message: string) => void): void => {
  onUnauthorized = f;
};

export const apiFetch = async <T>(
  path: string,
  init: { method?: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> => {
  const token = storedToken();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    cache: 'no-store',
    credentials: 'omit',
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  });
  if (!res.ok) {
    const problem = await problemOf(res);
    if (res.status === 401) onUnauthorized(problem.message);
    throw problem;
  }
  return (await res.json()) as T;
};

/** Every page of a cursor-paged list (at most `max` items). */
export const allPages = async <T, P extends { items: T[]; nextCursor: string | null }>(
  path: string,
  max = 20_000,
): Promise<{ first: P; items: T[] }> => {
  const sep = path.includes('?') ? '&' : '?';
  const first = await apiFetch<P>(`${path}${sep}limit=1000`);
  const items = [...first.items];
  let cursor = first.nextCursor;
  while (cursor !== null && items.length < max) {
    const page = await apiFetch<P>(`${path}${sep}limit=1000&cursor=${encodeURIComponent(cursor)}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  }
  return { first, items };
};

export const q = (params: Record<string, string | number | undefined | null>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text === '' ? '' : `?${text}`;
};
