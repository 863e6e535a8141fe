/**
 * Cursor pagination of the list endpoints (docs/fleet-protocol.md, "Lists"): `?limit=` (1 to
 * `MAX_PAGE_LIMIT`, default `DEFAULT_PAGE_LIMIT`) and `?cursor=` (opaque: the base64url of the
 * last key of the page before). The answer is `{ items, nextCursor }`, `nextCursor` null on the
 * last page. Items are in key order, so a cursor stays valid while items come and go: the next
 * page starts after its key.
 */
import type { ApiResult } from './api-result.js';
import { ApiErrorCode, failure, success } from './api-result.js';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

const encodeCursor = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

const decodeCursor = (cursor: string): string | undefined => {
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(cursor)) return undefined;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  // a cursor is exactly what encodeCursor made: anything else was not issued here
  return key !== '' && encodeCursor(key) === cursor ? key : undefined;
};

/** Whether `cursor` is one this API issued (an `encodeCursor` of a key). */
export const isIssuedCursor = (cursor: string): boolean => decodeCursor(cursor) !== undefined;

/**
 * The page of `items` (any order; sorted here by `keyOf`, unique keys) that `query` asks for, or
 * a 400 problem for a bad `limit` or `cursor`.
 */
export const paginate = <T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  query: URLSearchParams,
): ApiResult => {
  const problems: string[] = [];
  const limitText = query.get('limit');
  let limit = DEFAULT_PAGE_LIMIT;
  if (limitText !== null) {
    limit = /^[0-9]{1,7}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE_LIMIT))
      problems.push(`query.limit: an integer from 1 to ${MAX_PAGE_LIMIT}`);
  }
  const cursorText = query.get('cursor');
  const after = cursorText === null ? undefined : decodeCursor(cursorText);
  if (cursorText !== null && after === undefined)
    problems.push('query.cursor: not a cursor this API issued (use nextCursor of the page before)');
  if (problems.length > 0)
    return failure(400, ApiErrorCode.InvalidRequest, 'invalid pagination', problems);
  const sorted = [...items].sort((a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const start = after === undefined ? 0 : sorted.findIndex((i) => keyOf(i) > after);
  const rest = start < 0 ? [] : sorted.slice(start);
  const pageItems = rest.slice(0, limit);
  const more = rest.length > limit;
  const page: Page<T> = {
    items: pageItems,
    nextCursor: more ? encodeCursor(keyOf(pageItems[pageItems.length - 1]!)) : null,
  };
  return success(page);
};

/** Pages a list answer (a 200 whose body is an array); any other answer passes unchanged. */
export const paged = <T>(
  result: ApiResult,
  keyOf: (item: T) => string,
  query: URLSearchParams,
): ApiResult =>
  result.status === 200 && Array.isArray(result.body)
    ? paginate(result.body as T[], keyOf, query)
    : result;
