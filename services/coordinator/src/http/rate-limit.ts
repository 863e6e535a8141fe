/**
 * Token buckets keyed by credential or remote address (docs/fleet-protocol.md, "Limits"): each
 * key holds up to `burst` requests and earns `perSecond` back. Time is passed in. Full buckets
 * are forgotten when the table grows, so a flood of keys costs bounded memory.
 */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export interface RateLimiter {
  /** takes one; `retryAfterS` when the bucket is empty */
  take(
    key: string,
    nowMs: number,
  ): { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number };
  /** whether `take` would succeed, without taking */
  allows(
    key: string,
    nowMs: number,
  ): { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number };
}

const MAX_KEYS = 10_000;

export const createRateLimiter = (limit: RateLimit): RateLimiter => {
  const buckets = new Map<string, { tokens: number; atMs: number }>();
  const refill = (key: string, nowMs: number): { tokens: number; atMs: number } => {
    const b = buckets.get(key);
    if (b === undefined) return { tokens: limit.burst, atMs: nowMs };
    const earned = (Math.max(0, nowMs - b.atMs) / 1000) * limit.perSecond;
    return { tokens: Math.min(limit.burst, b.tokens + earned), atMs: nowMs };
  };
  const wait = (tokens: number): number =>
    limit.perSecond > 0 ? Math.max(1, Math.ceil((1 - tokens) / limit.perSecond)) : 3600;
  const prune = (nowMs: number): void => {
    if (buckets.size < MAX_KEYS) return;
    for (const [key] of buckets) {
      if (refill(key, nowMs).tokens >= limit.burst) buckets.delete(key);
    }
    // still full of busy keys: forget the oldest (Map keeps insertion order)
    for (const [key] of buckets) {
      if (buckets.size < MAX_KEYS) break;
      buckets.delete(key);
    }
  };
  return {
    take: (key, nowMs) => {
      const b = refill(key, nowMs);
      if (b.tokens < 1) {
        buckets.set(key, b);
        return { ok: false, retryAfterS: wait(b.tokens) };
      }
      if (!buckets.has(key)) prune(nowMs);
      buckets.set(key, { tokens: b.tokens - 1, atMs: nowMs });
      return { ok: true };
    },
    allows: (key, nowMs) => {
      if (!buckets.has(key)) return { ok: true };
      const b = refill(key, nowMs);
      return b.tokens >= 1 ? { ok: true } : { ok: false, retryAfterS: wait(b.tokens) };
    },
  };
};
