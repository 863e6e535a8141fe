/**
 * What an API operation answers: an HTTP status and a JSON body. Errors are RFC 9457 problem
 * details (docs/fleet-protocol.md, "Errors"): `application/problem+json` with `type`, `title`,
 * `status`, `detail`, `instance` (the request path, added when sent) and the extension members
 * `code` (an ApiErrorCode), `errors` (a list of problems) or `details` (anything else).
 */
export interface ApiResult {
  readonly status: number;
  readonly body: unknown;
  /** headers of its own (e.g. `Allow` on a 405) */
  readonly headers?: Readonly<Record<string, string>>;
}

export const ApiErrorCode = {
  InvalidRequest: 'InvalidRequest',
  InvalidPolicy: 'InvalidPolicy',
  InvalidProgramObject: 'InvalidProgramObject',
  PayloadTooLarge: 'PayloadTooLarge',
  PlanTooLarge: 'PlanTooLarge',
  PlanRefused: 'PlanRefused',
  NotFound: 'NotFound',
  MethodNotAllowed: 'MethodNotAllowed',
  Conflict: 'Conflict',
  AgentUnavailable: 'AgentUnavailable',
  NotReady: 'NotReady',
  RequestTimeout: 'RequestTimeout',
  HeadersTooLarge: 'HeadersTooLarge',
  Internal: 'Internal',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  UnsupportedMediaType: 'UnsupportedMediaType',
  MisdirectedRequest: 'MisdirectedRequest',
  TooManyRequests: 'TooManyRequests',
  OutOfRange: 'OutOfRange',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** Where problem types live: `PROBLEM_TYPE_BASE` + the code in kebab case (stable, documented). */
export const PROBLEM_TYPE_BASE = 'https://tramway.dev/problems/';

/** `PlanTooLarge` → `plan-too-large` */
export const problemSlug = (code: ApiErrorCode): string =>
  code.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** `PlanTooLarge` → `Plan too large` */
const titleOf = (code: ApiErrorCode): string => {
  const words = problemSlug(code).replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/** An RFC 9457 problem (without `instance`, which the server adds from the request path). */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  readonly code: ApiErrorCode;
  readonly errors?: readonly string[];
  readonly details?: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const isProblem = (body: unknown): body is Problem =>
  typeof body === 'object' &&
  body !== null &&
  typeof (body as Problem).type === 'string' &&
  typeof (body as Problem).code === 'string' &&
  typeof (body as Problem).detail === 'string';

export const success = (body: unknown, status = 200): ApiResult => ({ status, body });

/** A problem answer; `details` that are a list of strings become `errors`, others `details`. */
export const failure = (
  status: number,
  code: ApiErrorCode,
  message: string,
  details?: unknown,
  headers?: Readonly<Record<string, string>>,
): ApiResult => {
  const list = Array.isArray(details) && details.every((d) => typeof d === 'string');
  const body: Problem = {
    type: `${PROBLEM_TYPE_BASE}${problemSlug(code)}`,
    title: titleOf(code),
    status,
    detail: message,
    code,
    ...(details === undefined ? {} : list ? { errors: details as string[] } : { details }),
  };
  return { status, body, ...(headers === undefined ? {} : { headers }) };
};
