/**
 * Program objects before any load (ARCHITECTURE.md, "Programs"): for each policy version about to
 * attach that names an object (`spec.program.object`), fetch it by digest and verify it (its
 * bytes have that sha256, they are a BPF ELF, it holds the program the policy names). A policy
 * whose object is missing or does not verify loads nothing; the reason goes into its
 * LinkCreateFailed facts. Each object is fetched once per pass.
 */
import type { Errno } from '@tramway/shared/kernel';
import type { ProgramObjectProblem, VerifiedProgramObject } from '@tramway/shared/infra';
import { errorText, verifyProgramObject } from '@tramway/shared/infra';
import type { AgentAssignment, LinkGroup } from './agent-policy.js';

/**
 * Where an agent fetches program objects by digest: the data dir's store (embedded), the fleet's
 * Object Store bucket (NATS), or the coordinator's API. Undefined: not stored there.
 */
export interface ProgramSource {
  get(digest: string): Promise<Uint8Array | undefined>;
}

/** The errno a refused object is reported with (LinkCreateFailed carries an errno). */
const ERRNO_OF: Readonly<
  Record<ProgramObjectProblem['kind'] | 'unreachable' | 'wrong-attach', Errno>
> = {
  'wrong-attach': 'EINVAL',
  missing: 'ENOENT',
  'no-program': 'ENOENT',
  mismatch: 'EBADMSG',
  invalid: 'ENOEXEC',
  unreachable: 'EIO',
};

export interface ProgramObjectRefusal {
  readonly errno: Errno;
  readonly reason: string;
}

export interface FetchedProgramObjects {
  /** by `<policy>@<version>` */
  readonly verified: ReadonlyMap<string, VerifiedProgramObject>;
  /** by `<policy>@<version>`: why it loads nothing */
  readonly refused: ReadonlyMap<string, ProgramObjectRefusal>;
}

export const fetchProgramObjects = async (
  source: ProgramSource | undefined,
  assignment: AgentAssignment,
  groups: readonly LinkGroup[],
): Promise<FetchedProgramObjects> => {
  const verified = new Map<string, VerifiedProgramObject>();
  const refused = new Map<string, ProgramObjectRefusal>();
  const bytesOf = new Map<string, Promise<Uint8Array | undefined>>();
  const wanted = new Set(groups.map((g) => `${g.policy}@${g.policyVersion}`));
  for (const policy of assignment.policies) {
    const key = `${policy.name}@${policy.version}`;
    const digest = policy.spec.program.object;
    if (digest === undefined || !wanted.has(key)) continue;
    const refuse = (kind: keyof typeof ERRNO_OF, message: string): void => {
      refused.set(key, { errno: ERRNO_OF[kind], reason: `program object refused: ${message}` });
    };
    if (source === undefined) {
      refuse('missing', `${digest}: this agent has no program store to fetch it from`);
      continue;
    }
    if (!bytesOf.has(digest)) bytesOf.set(digest, source.get(digest));
    let bytes: Uint8Array | undefined;
    try {
      bytes = await bytesOf.get(digest);
    } catch (error) {
      refuse('unreachable', `${digest}: fetching it failed: ${errorText(error)}`);
      continue;
    }
    const checked = verifyProgramObject(digest, policy.spec.program.name, bytes);
    if (!checked.ok) {
      refuse(checked.error.kind, checked.error.message);
      continue;
    }
    // the section says how the program was written to attach: fentry for an fentry policy
    // (fentry.multi too: single or multi is the node's path), unknown sections left to the loader
    const { attach, section, name } = checked.value.program;
    const asked = policy.spec.program.attach;
    if (attach !== 'unknown' && attach !== asked && attach !== `${asked}.multi`) {
      refuse(
        'wrong-attach',
        `program object ${digest}: ${name} is in section ${section} (${attach}), the policy attaches it as ${asked}`,
      );
      continue;
    }
    verified.set(key, checked.value);
  }
  return { verified, refused };
};
