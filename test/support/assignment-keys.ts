/**
 * The assignment signing keys of the tests (docs/fleet-protocol.md, "Signed assignments"): one
 * Ed25519 pair per test process, for in-process coordinators and agents, and written once as
 * `assignment-signing.key` / `assignment-signing.pub` in a temp dir for the spawned processes of
 * the harness (test/support/fleet-processes.ts), which use them by default.
 */
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssignmentKeyPair } from '@tramway/shared/infra';
import {
  ASSIGNMENT_SIGNING_KEY_FILE,
  ASSIGNMENT_VERIFY_KEY_FILE,
  generateAssignmentKeyPair,
} from '@tramway/shared/infra';

let pair: AssignmentKeyPair | undefined;
let files: { dir: string; signingKey: string; verifyKey: string } | undefined;

/** The test process's key pair (the same one its key files hold). */
export const testAssignmentKeys = (): AssignmentKeyPair => (pair ??= generateAssignmentKeyPair());

/** The key files of the test process's pair (a security dir of its own, written once). */
export const testAssignmentKeyFiles = (): {
  readonly dir: string;
  readonly signingKey: string;
  readonly verifyKey: string;
} => {
  if (files === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tramway-assignment-keys-'));
    const keys = testAssignmentKeys();
    files = {
      dir,
      signingKey: join(dir, ASSIGNMENT_SIGNING_KEY_FILE),
      verifyKey: join(dir, ASSIGNMENT_VERIFY_KEY_FILE),
    };
    writeFileSync(files.signingKey, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    writeFileSync(files.verifyKey, keys.publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return files;
};

/** Another pair: what a forger who does not hold the coordinator's key signs with. */
export const otherAssignmentKeys = (): { readonly privateKey: KeyObject } =>
  generateAssignmentKeyPair();
