/**
 * The Ed25519 keys of signed assignments (docs/fleet-protocol.md, "Signed assignments"), at the
 * edge: the coordinator signs every assignment it sends with `assignment-signing.key` (PKCS8
 * PEM), agents check it with `assignment-signing.pub` (SPKI PEM). What is signed is
 * `assignmentSigningBytes` (contracts/assignment-signature.ts): the canonical bytes of every
 * field of the message but the signature.
 */
import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ASSIGNMENT_SIGNATURE_ALG,
  assignmentSigningBytes,
} from '../../contracts/assignment-signature.js';

export const ASSIGNMENT_SIGNING_KEY_FILE = 'assignment-signing.key';
export const ASSIGNMENT_VERIFY_KEY_FILE = 'assignment-signing.pub';

export interface AssignmentKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const ed25519 = (key: KeyObject, what: string, file: string): KeyObject => {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(
      `${file}: ${what} is ${key.asymmetricKeyType ?? 'not asymmetric'}, not ed25519`,
    );
  return key;
};

/** The coordinator's signing key from a PKCS8 PEM file (throws naming the file). */
export const loadAssignmentSigningKey = (file: string): KeyObject =>
  ed25519(createPrivateKey(readFileSync(file)), 'the signing key', file);

/** The agents' verify key from an SPKI PEM file (throws naming the file). */
export const loadAssignmentVerifyKey = (file: string): KeyObject =>
  ed25519(createPublicKey(readFileSync(file)), 'the verify key', file);

export const generateAssignmentKeyPair = (): AssignmentKeyPair => generateKeyPairSync('ed25519');

/**
 * The key pair kept in `dir` (the embedded mode's data dir): read when both files are there,
 * else generated and written (the private key 0600).
 */
export const assignmentKeyPairIn = (dir: string): AssignmentKeyPair => {
  const keyFile = join(dir, ASSIGNMENT_SIGNING_KEY_FILE);
  const pubFile = join(dir, ASSIGNMENT_VERIFY_KEY_FILE);
  if (existsSync(keyFile) && existsSync(pubFile))
    return {
      privateKey: loadAssignmentSigningKey(keyFile),
      publicKey: loadAssignmentVerifyKey(pubFile),
    };
  const pair = generateAssignmentKeyPair();
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  writeFileSync(pubFile, pair.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return pair;
};

/**
 * Which key file to use: the explicit one, else `<securityDir>/<file>` when a security dir is
 * set (TRAMWAY_SECURITY_DIR), else none.
 */
export const assignmentKeyFile = (
  explicit: string | undefined,
  securityDir: string | undefined,
  file: typeof ASSIGNMENT_SIGNING_KEY_FILE | typeof ASSIGNMENT_VERIFY_KEY_FILE,
): string | undefined =>
  explicit !== undefined && explicit !== ''
    ? explicit
    : securityDir !== undefined && securityDir !== ''
      ? join(securityDir, file)
      : undefined;

/** The message with its signature: what the coordinator sends. */
export const signAssignment = <T extends object>(
  key: KeyObject,
  message: T,
): T & { signature: { alg: 'ed25519'; value: string } } => {
  // the canonical bytes are those of the JSON value it is read as (undefined members left out,
  // an undefined array element as null), so the message is signed as it is
  const { signature: _previous, ...unsigned } = message as T & { signature?: unknown };
  const value = sign(null, assignmentSigningBytes(unsigned), key).toString('base64');
  return { ...(unsigned as T), signature: { alg: ASSIGNMENT_SIGNATURE_ALG, value } };
};

export type SignatureCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: 'unsigned' | 'bad-signature'; readonly reason: string };

/** Checks the signature of a received assignment payload (the JSON value as received). */
export const verifyAssignment = (key: KeyObject, payload: unknown): SignatureCheck => {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    return { ok: false, error: 'unsigned', reason: 'not an object' };
  const signature = (payload as { signature?: unknown }).signature;
  if (signature === undefined || signature === null)
    return { ok: false, error: 'unsigned', reason: 'the assignment carries no signature' };
  const { alg, value } = signature as { alg?: unknown; value?: unknown };
  if (alg !== ASSIGNMENT_SIGNATURE_ALG || typeof value !== 'string')
    return { ok: false, error: 'bad-signature', reason: 'not an ed25519 signature' };
  let good = false;
  try {
    good = verify(
      null,
      assignmentSigningBytes(payload as Record<string, unknown>),
      key,
      Buffer.from(value, 'base64'),
    );
  } catch {
    good = false;
  }
  return good
    ? { ok: true }
    : {
        ok: false,
        error: 'bad-signature',
        reason: "the signature does not match the coordinator's key",
      };
};
