/** What an API operation answers: an HTTP status and a JSON body (docs/fleet-protocol.md, "Errors"). */
export interface ApiResult {
  readonly status: number;
  readonly body: unknown;
}

export const ApiErrorCode = {
  InvalidRequest: 'InvalidRequest',
  InvalidPolicy: 'InvalidPolicy',
  PayloadTooLarge: 'PayloadTooLarge',
  PlanTooLarge: 'PlanTooLarge',
  PlanRefused: 'PlanRefused',
  NotFound: 'NotFound',
  Conflict: 'Conflict',
  AgentUnavailable: 'AgentUnavailable',
  Internal: 'Internal',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  UnsupportedMediaType: 'UnsupportedMediaType',
  MisdirectedRequest: 'MisdirectedRequest',
  TooManyRequests: 'TooManyRequests',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

export const success = (body: unknown, status = 200): ApiResult => ({ status, body });

export const failure = (
  status: number,
  code: ApiErrorCode,
  message: string,
  details?: unknown,
): ApiResult => ({
  status,
  body: { error: { code, message, ...(details === undefined ? {} : { details }) } },
});
