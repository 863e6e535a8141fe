/**
 * What the coordinator signs of an assignment (docs/fleet-protocol.md, "Signed assignments"):
 * the canonical bytes of every field of the message except `signature` itself (node id, epoch,
 * generation, issuedAt, every policy with its spec and plan, the cause), behind a domain prefix
 * so that the signature of an assignment can never stand for any other message. Pure: the keys
 * and Ed25519 live at the edge (infra/security/assignment-keys.ts).
 *
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, `undefined` members
 * left out, numbers as `JSON.stringify` writes them. Signed on the JSON value as sent (the
 * payload before any schema fills defaults), so the agent checks exactly what it received.
 */
import { encodeUtf8 } from '../lib/utf8.js';

export const ASSIGNMENT_SIGNATURE_DOMAIN = 'tramway.assignment.v1\n';
export const ASSIGNMENT_SIGNATURE_ALG = 'ed25519';

/** `{ alg, value }`: the Ed25519 signature (base64) of `assignmentSigningBytes` */
export interface AssignmentSignature {
  readonly alg: typeof ASSIGNMENT_SIGNATURE_ALG;
  readonly value: string;
}

const canonical = (value: unknown, depth: number): string => {
  if (depth > 64) throw new RangeError('assignment nested too deep to sign');
  if (value === null || typeof value === 'boolean' || typeof value === 'string')
    return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError('a non-finite number cannot be signed');
    return JSON.stringify(value);
  }
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonical(v, depth + 1))).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v, depth + 1)}`).join(',')}}`;
  }
  throw new TypeError(`a ${typeof value} cannot be signed`);
};

/** The canonical JSON text of a JSON value (exported for tests and the docs' example). */
export const canonicalJson = (value: unknown): string => canonical(value, 0);

/**
 * The bytes signed for an assignment message: the domain prefix and the canonical JSON of every
 * member but `signature`. Throws on a value JSON cannot carry.
 */
export const assignmentSigningBytes = (message: Readonly<Record<string, unknown>>): Uint8Array => {
  const { signature: _signature, ...signed } = message;
  return encodeUtf8(`${ASSIGNMENT_SIGNATURE_DOMAIN}${canonicalJson(signed)}`);
};

/**
 * Orders two assignments' (epoch, generation): a higher epoch always wins (the coordinator took
 * the node back), then the higher generation. Negative: `a` is older.
 */
export const compareAssignmentOrder = (
  a: { readonly epoch: number; readonly generation: number },
  b: { readonly epoch: number; readonly generation: number },
): number => (a.epoch !== b.epoch ? a.epoch - b.epoch : a.generation - b.generation);
