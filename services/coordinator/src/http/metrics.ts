/**
 * The HTTP API's own series (docs/metrics.md), on the coordinator's registry: requests refused
 * before they ran, by reason, and the duration of every request by route template and status
 * class. Labels are closed sets: the reasons below, the route table's templates (`unmatched`
 * for a path no route knows), the API's methods, the status classes.
 */
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import { closedLabel, statusClass } from '@tramway/shared/lib';

/** Why the HTTP API refused a request before running it (tramway_http_denied_total). */
export const DENIED_REASONS = [
  'unauthenticated',
  'forbidden',
  'rate_limited',
  'bad_origin',
  'bad_host',
  'unsupported_media_type',
] as const;
export type DeniedReason = (typeof DENIED_REASONS)[number];

/** The `route` label of a request that matched no route. */
export const UNMATCHED_ROUTE = 'unmatched';

const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD']);
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface HttpMetrics {
  denied(reason: DeniedReason): void;
  /** one answered request; `route` is its template or `UNMATCHED_ROUTE` */
  request(method: string, route: string, status: number, seconds: number): void;
}

/**
 * The HTTP series on `registry`, declared on first use (a coordinator that serves HTTP again
 * after a stop keeps counting on the same series).
 */
export const httpMetricsOn = (registry: Registry, routes: readonly string[]): HttpMetrics => {
  const known = new Set([...routes, UNMATCHED_ROUTE]);
  const denied =
    (registry.getSingleMetric('tramway_http_denied_total') as Counter<'reason'> | undefined) ??
    new Counter({
      name: 'tramway_http_denied_total',
      help: 'HTTP requests refused before they ran, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    });
  // every reason is a series from the start (0), so a dashboard sees the ones never hit
  for (const reason of DENIED_REASONS) denied.inc({ reason }, 0);
  const duration =
    (registry.getSingleMetric('tramway_http_request_duration_seconds') as
      Histogram<'method' | 'route' | 'status_class'> | undefined) ??
    new Histogram({
      name: 'tramway_http_request_duration_seconds',
      help: 'HTTP requests from accept to the last byte written, by method, route template and status class.',
      labelNames: ['method', 'route', 'status_class'],
      buckets: HTTP_BUCKETS,
      registers: [registry],
    });
  return {
    denied: (reason) => denied.inc({ reason }),
    request: (method, route, status, seconds) =>
      duration.observe(
        {
          method: closedLabel(METHODS, method),
          route: closedLabel(known, route),
          status_class: statusClass(status),
        },
        seconds,
      ),
  };
};
