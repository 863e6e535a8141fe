/**
 * The roles of people's credentials (docs/security.md, "Roles"), ordered: viewer < operator <
 * admin. A viewer reads (nodes, status, audit, metrics); an operator also plans, applies, rolls
 * back, resumes and loads or unloads modules; an admin also manages tokens and approves nodes.
 */
export const ACCESS_ROLES = ['viewer', 'operator', 'admin'] as const;
export type AccessRole = (typeof ACCESS_ROLES)[number];

export const isAccessRole = (value: unknown): value is AccessRole =>
  typeof value === 'string' && (ACCESS_ROLES as readonly string[]).includes(value);

/** Whether a credential of role `held` may do what needs role `needed`. */
export const roleAllows = (held: AccessRole, needed: AccessRole): boolean =>
  ACCESS_ROLES.indexOf(held) >= ACCESS_ROLES.indexOf(needed);

/** A token name: what `token-<name>` and the actor `token:<name>` are made of. */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** SHA-256, lowercase hex. */
export const TOKEN_HASH = /^[0-9a-f]{64}$/;
