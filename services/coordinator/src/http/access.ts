/**
 * Who may call what (docs/security.md, "Roles"): the role each route needs, and the identity a
 * request's credential gives. Pure: the HTTP shell passes the headers and the verified client
 * certificate's subject in.
 *
 * - `public`: the OpenAPI document, `/healthz` and `/readyz` (they reveal nothing of the fleet).
 * - viewer: every read (nodes, status, metrics, the audit; tokens are admin's).
 * - operator: plan, apply, rollback, delete a policy, resume, module load/unload, push a
 *   program object.
 * - admin: tokens, node approval, and everything else.
 */
import type { AccessRole } from '@tramway/shared/domain';
import { isAccessRole, roleAllows } from '@tramway/shared/domain';

export type RouteAccess = AccessRole | 'public';

/**
 * The role of every route, by `METHOD template`. A route missing here needs admin (safe by
 * default). `POST /v1/nodes/{id}/approve` and `/reset` are listed before their routes exist (node
 * admission and take-back: admin).
 */
export const ROUTE_ROLES: Readonly<Record<string, RouteAccess>> = Object.freeze({
  'GET /openapi.json': 'public',
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'viewer',
  'GET /v1/nodes': 'viewer',
  'GET /v1/policies': 'viewer',
  'GET /v1/policies/{name}': 'viewer',
  'GET /v1/policies/{name}/status': 'viewer',
  'GET /v1/events/stream': 'viewer',
  'GET /v1/console/whoami': 'viewer',
  'GET /v1/console/fleet': 'viewer',
  'GET /v1/console/nodes/{id}': 'viewer',
  'GET /v1/console/functions/{name}': 'viewer',
  'GET /v1/console/rollouts': 'viewer',
  'GET /v1/console/events': 'viewer',
  'GET /v1/programs': 'viewer',
  'GET /v1/programs/{digest}': 'viewer',
  'GET /v1/programs/{digest}/object': 'viewer',
  'GET /v1/audit/range': 'viewer',
  'GET /v1/audit/state': 'viewer',
  'GET /v1/audit/history': 'viewer',
  'GET /v1/audit/functions/{name}': 'viewer',
  'GET /v1/audit/plans/{node}': 'viewer',
  'POST /v1/plan': 'operator',
  'POST /v1/programs': 'operator',
  'PUT /v1/programs': 'operator',
  'POST /v1/policies': 'operator',
  'POST /v1/policies/{name}/rollback': 'operator',
  'DELETE /v1/policies/{name}': 'operator',
  'POST /v1/rollouts/{id}/resume': 'operator',
  'POST /v1/nodes/{id}/modules/{module}/load': 'operator',
  'POST /v1/nodes/{id}/modules/{module}/unload': 'operator',
  'POST /v1/nodes/{id}/approve': 'admin',
  'POST /v1/nodes/{id}/reset': 'admin',
  'GET /v1/tokens': 'admin',
  'POST /v1/tokens': 'admin',
  'DELETE /v1/tokens/{name}': 'admin',
});

export const requiredRole = (method: string, template: string): RouteAccess => {
  const key = `${method} ${template}`;
  return Object.hasOwn(ROUTE_ROLES, key) ? ROUTE_ROLES[key]! : 'admin';
};

/** An authenticated caller: the log's actor and the role its credential carries. */
export interface Identity {
  /** `token:<name>` or `cert:<CN>` */
  readonly actor: string;
  readonly role: AccessRole;
  readonly via: 'token' | 'cert';
}

export const mayCall = (identity: Identity, needed: RouteAccess): boolean =>
  needed === 'public' || roleAllows(identity.role, needed);

/** The bearer token of an `Authorization` header; '' for a malformed one; undefined for none. */
export const bearerOf = (header: string | string[] | undefined): string | undefined => {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? (header[0] ?? '') : header;
  const m = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(value);
  return m ? m[1]! : '';
};

/** A certificate subject field: the first value when OpenSSL gives several. */
const field = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v[0] : v;

const CN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/**
 * The identity of a verified client certificate: CN is the name, OU the role. Undefined with a
 * reason when CN or OU do not say it.
 */
export const certIdentity = (subject: {
  readonly CN?: string | string[];
  readonly OU?: string | string[];
}): Identity | { readonly problem: string } => {
  const cn = field(subject.CN);
  const ou = field(subject.OU);
  if (cn === undefined || !CN.test(cn))
    return { problem: 'the client certificate has no usable CN (1-64 letters, digits, ._@-)' };
  if (!isAccessRole(ou))
    return { problem: `the client certificate's OU must be a role: viewer, operator or admin` };
  return { actor: `cert:${cn}`, role: ou, via: 'cert' };
};

/** Letters, digits and ._:@/- : what `x-tramway-on-behalf-of` may name. */
export const ON_BEHALF_OF = /^[A-Za-z0-9._:@/-]{1,128}$/;
