/**
 * The assignment signing keys of the tests (docs/fleet-protocol.md, "Signed assignments"): one
 * Ed25519 pair per test process, for in-process coordinators and agents, and written once as
 * `assignment-signing.key` / `assignment-signing.pub` in a temp dir for the spawned processes of
 * the harness (test/support/fleet-processes.ts), which use them by default.
 */
import type { KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssignmentKeyPair } from '@tramway/shared/infra';
import {
  ASSIGNMENT_SIGNING_KEY_FILE,
  ASSIGNMENT_VERIFY_KEY_FILE,
  assignmentKeyPairIn,
  generateAssignmentKeyPair,
} from '@tramway/shared/infra';

let pair: AssignmentKeyPair | undefined;
let files: { dir: string; signingKey: string; verifyKey: string } | undefined;

/** The test process's key pair (written to disk on first `testAssignmentKeyFiles()`). */
export const testAssignmentKeys = (): AssignmentKeyPair => {
  if (files !== undefined) return (pair ??= assignmentKeyPairIn(files.dir));
  return (pair ??= generateAssignmentKeyPair());
};

/** The key files of the test process's pair (a security dir of its own). */
export const testAssignmentKeyFiles = (): {
  readonly dir: string;
  readonly signingKey: string;
  readonly verifyKey: string;
} => {
  if (files === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tramway-assignment-keys-'));
    files = {
      dir,
      signingKey: join(dir, ASSIGNMENT_SIGNING_KEY_FILE),
      verifyKey: join(dir, ASSIGNMENT_VERIFY_KEY_FILE),
    };
    // the pair in memory, if any, is replaced by the one written here (first use wins)
    pair = assignmentKeyPairIn(dir);
  }
  return files;
};

/** Another pair: what a forger who does not hold the coordinator's key signs with. */
export const otherAssignmentKeys = (): { readonly privateKey: KeyObject } =>
  generateAssignmentKeyPair();
