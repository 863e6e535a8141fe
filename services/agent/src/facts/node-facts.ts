/**
 * The facts an agent reports (ARCHITECTURE.md, "Events and the log"), each with a deterministic
 * event id: the same fact re-published (after a restart, a lost reply) has the same id, and the
 * log stores it once. Ids are scoped by node and boot id, because kernel ids restart at 1 on a
 * new boot. Pure.
 */
import type { FleetEvent, PolicyReconcileOutcome, RecordedPlan } from '@tramway/shared/domain';
import type { AttachPath, Errno, MultiLinkProfile } from '@tramway/shared/lib';
import { errnoNumber } from '@tramway/shared/lib';
import type { HeldLink, LinkGroup } from '../reconcile/agent-policy.js';

/** A fleet event with its idempotency key. */
export interface IdentifiedFact {
  readonly id: string;
  readonly event: FleetEvent;
}

export interface FactScope {
  readonly nodeId: string;
  readonly bootId: string;
}

const idOf = (s: FactScope, ...parts: readonly (string | number)[]): string =>
  [s.nodeId, s.bootId, ...parts].join('/');

/** A short stable digest of a JSON-able value (FNV-1a, 32 bits, hex): content-keyed ids. */
export const digest = (value: unknown): string => {
  const text = JSON.stringify(value);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
};

export const nodeRegistered = (
  s: FactScope,
  data: {
    labels: Readonly<Record<string, string>>;
    kernelRelease: string;
    profile: MultiLinkProfile;
    btfFingerprint: string;
  },
): IdentifiedFact => ({
  id: idOf(s, 'registered', digest(data)),
  event: { type: 'NodeRegistered', data: { nodeId: s.nodeId, bootId: s.bootId, ...data } },
});

export const kernelProfileDetected = (
  s: FactScope,
  data: {
    profile: MultiLinkProfile;
    attachPath: AttachPath;
    btfFingerprint: string;
  },
): IdentifiedFact => ({
  id: idOf(s, 'profile', digest(data)),
  event: { type: 'KernelProfileDetected', data: { nodeId: s.nodeId, ...data } },
});

export const nodeBooted = (s: FactScope): IdentifiedFact => ({
  id: idOf(s, 'booted'),
  event: { type: 'NodeBooted', data: { nodeId: s.nodeId, bootId: s.bootId } },
});

export const moduleLoaded = (s: FactScope, module: string, btfObjId: number): IdentifiedFact => ({
  id: idOf(s, 'module', module, btfObjId, 'loaded'),
  event: { type: 'ModuleLoaded', data: { nodeId: s.nodeId, module, btfObjId } },
});

export const moduleUnloaded = (s: FactScope, module: string, btfObjId: number): IdentifiedFact => ({
  id: idOf(s, 'module', module, btfObjId, 'unloaded'),
  event: { type: 'ModuleUnloaded', data: { nodeId: s.nodeId, module } },
});

export const programLoaded = (
  s: FactScope,
  programId: number,
  group: Pick<LinkGroup, 'program' | 'attachType'>,
): IdentifiedFact => ({
  id: idOf(s, 'prog', programId, 'loaded'),
  event: {
    type: 'ProgramLoaded',
    data: { nodeId: s.nodeId, programId, name: group.program, attachType: group.attachType },
  },
});

export const programUnloaded = (s: FactScope, programId: number, name: string): IdentifiedFact => ({
  id: idOf(s, 'prog', programId, 'unloaded'),
  event: { type: 'ProgramUnloaded', data: { nodeId: s.nodeId, programId, name } },
});

/** One coarse event per link with every connection (STYLE.md §4: a multi attach is all-or-nothing). */
export const linkCreated = (
  s: FactScope,
  link: HeldLink,
  generation: number,
  /** why it is reported other than as just created (adopted after a restart) */
  reason?: string,
): IdentifiedFact => ({
  id: idOf(s, 'link', link.linkId, 'created'),
  event: {
    type: 'LinkCreated',
    data: {
      nodeId: s.nodeId,
      linkId: link.linkId,
      programId: link.programId,
      programName: link.program,
      policy: link.policy,
      attachType: link.attachType,
      connections: link.connections,
      observedGeneration: generation,
      ...(reason === undefined ? {} : { reason }),
    },
  },
});

export const linkReleased = (
  s: FactScope,
  linkId: number,
  reason: string,
  generation: number,
): IdentifiedFact => ({
  id: idOf(s, 'link', linkId, 'released'),
  event: {
    type: 'LinkReleased',
    data: { nodeId: s.nodeId, linkId, reason, observedGeneration: generation },
  },
});

/**
 * A failed attach of a group (its program load or its link_create), or a target the kernel
 * refuses at resolution. Keyed by generation, group and target: reported once per generation.
 */
export const linkCreateFailed = (
  s: FactScope,
  input: {
    readonly group: Pick<LinkGroup, 'policy' | 'policyVersion' | 'key' | 'program' | 'attachType'>;
    readonly programId: number;
    readonly errno: Errno;
    readonly failing: {
      readonly object: string;
      readonly function: string;
      readonly btfId?: number;
    };
    readonly reason: string;
    readonly generation: number;
  },
): IdentifiedFact => {
  const { group, failing } = input;
  return {
    id: idOf(
      s,
      'failed',
      `g${input.generation}`,
      `${group.policy}@${group.policyVersion}`,
      group.key,
      `${failing.object}:${failing.function}`,
      input.errno,
    ),
    event: {
      type: 'LinkCreateFailed',
      data: {
        nodeId: s.nodeId,
        programId: input.programId,
        programName: group.program,
        policy: group.policy,
        attachType: group.attachType,
        errno: errnoNumber(input.errno),
        failingTarget: {
          function: failing.function,
          ...(failing.object === 'vmlinux' ? {} : { module: failing.object }),
          ...(failing.btfId === undefined ? {} : { btfId: failing.btfId }),
        },
        reason: input.reason,
        observedGeneration: input.generation,
      },
    },
  };
};

/**
 * The outcome of a reconcile pass. `sequence` counts the outcomes reported in this boot, so an
 * outcome that returns to an earlier one is a new fact, and one re-published keeps its id.
 */
export const nodeReconciled = (
  s: FactScope,
  sequence: number,
  data: { observedGeneration: number; policies: readonly PolicyReconcileOutcome[] },
): IdentifiedFact => ({
  id: idOf(s, 'reconciled', sequence),
  event: { type: 'NodeReconciled', data: { nodeId: s.nodeId, ...data } },
});

/**
 * A plan the agent made on its own for an assigned policy version, and why. `sequence` counts
 * the re-plans reported in this boot, so each change is a new fact and one re-published keeps
 * its id.
 */
export const nodeReplanned = (
  s: FactScope,
  sequence: number,
  data: {
    generation: number;
    policy: string;
    policyVersion: number;
    reason: string;
    plan: RecordedPlan;
  },
): IdentifiedFact => ({
  id: idOf(s, 'replanned', sequence),
  event: { type: 'NodeReplanned', data: { nodeId: s.nodeId, ...data } },
});
