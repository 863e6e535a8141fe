/**
 * The shell of the node assignment decider: gives nodes a policy version (or takes it away) as
 * their next generation, and sends each node its assignment as its stream holds it (every policy
 * version with its spec and the plan recorded for it), signed (`sign`: the coordinator's
 * Ed25519 key, docs/fleet-protocol.md "Signed assignments"). Only admitted nodes are given or
 * sent anything. A node that reports a generation the coordinator never issued is taken back
 * with a new epoch (`takeBack`), once per claim.
 */
import type { Assignment, PolicySpec } from '@tramway/shared/domain';
import {
  COORDINATOR_ACTOR,
  FleetStreams,
  assignmentMessage,
  validatePolicySpec,
} from '@tramway/shared/domain';
import type { FleetBus, Logger } from '@tramway/shared/infra';
import { FleetSubjects, decodeMessageOrThrow } from '@tramway/shared/contracts';
import type { FleetLog } from '../log/fleet-log.js';
import { errorText } from '@tramway/shared/infra';
import { ownEntry } from '@tramway/shared/lib';

/** assignments issued or sent concurrently */
const BATCH = 64;

export const inBatches = async <T>(
  items: readonly T[],
  work: (item: T) => Promise<void>,
): Promise<void> => {
  for (let i = 0; i < items.length; i += BATCH) {
    await Promise.all(items.slice(i, i + BATCH).map(work));
  }
};

/** validated specs kept by `specOf` */
export const SPEC_CACHE_SIZE = 4;

export const createNodeAssignments = (deps: {
  readonly log: FleetLog;
  readonly bus: FleetBus;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly timeoutMs: number;
  /** the assignment as sent: signed with the coordinator's key */
  readonly sign: (assignment: Assignment) => Assignment;
  /** whether the node is admitted (approved) */
  readonly isAdmitted: (nodeId: string) => boolean;
}) => {
  const { log, logger } = deps;
  const { policy: policies, assignment: assignments } = log.deciders;
  const nowIso = (): string => deps.now().toISOString();

  /**
   * validated specs by `name@version` (a version's spec never changes), the most recently used
   * `SPEC_CACHE_SIZE` of them: a miss validates again from the policy's aggregate, which keeps
   * every version some node holds (fleet-log.ts)
   */
  const specs = new Map<string, PolicySpec>();
  const specOf = (name: string, version: number): PolicySpec | undefined => {
    const key = `${name}@${version}`;
    const known = specs.get(key);
    if (known) {
      specs.delete(key);
      specs.set(key, known);
      return known;
    }
    const versions = policies.get(FleetStreams.policy(name)).state.versions;
    const raw = ownEntry(versions, String(version));
    if (raw === undefined) return undefined;
    const parsed = validatePolicySpec(raw);
    if (!parsed.ok) return undefined;
    specs.set(key, parsed.value);
    if (specs.size > SPEC_CACHE_SIZE) specs.delete(specs.keys().next().value!);
    return parsed.value;
  };

  /**
   * The latest signed assignment of each node, by (epoch, generation): a generation's message
   * never changes, and the coordinator sends it again (restart, fetch, drift) more often than it
   * issues one; one entry per node.
   */
  const signedByNode = new Map<string, { order: string; message: Assignment }>();

  /**
   * The assignment a node is sent: its stream's state, with the specs and recorded plans, signed;
   * null for a node not admitted or never assigned.
   */
  const assignmentOf = (nodeId: string): Assignment | null => {
    if (!deps.isAdmitted(nodeId)) return null;
    const state = assignments.get(FleetStreams.assignment(nodeId)).state;
    const order = `${state.epoch}:${state.generation}`;
    const cached = signedByNode.get(nodeId);
    if (cached?.order === order) return cached.message;
    const message = assignmentMessage(state, specOf);
    if (message === null) return null;
    const signed = deps.sign(message);
    signedByNode.set(nodeId, { order, message: signed });
    return signed;
  };

  const sendAssignment = async (nodeId: string): Promise<void> => {
    const assignment = assignmentOf(nodeId);
    if (!assignment) return;
    try {
      const reply = decodeMessageOrThrow(
        'AssignReply',
        await deps.bus.request(FleetSubjects.assign(nodeId), assignment, {
          timeoutMs: deps.timeoutMs,
        }),
      );
      if (reply.accepted || reply.error === 'replayed')
        logger.debug('assignment sent', { nodeId, generation: assignment.generation, reply });
      else logger.warn('assignment refused by the node', { nodeId, reply });
    } catch (error) {
      // The node will be judged pending/stale; the drift check re-sends to nodes behind.
      logger.warn('assignment not delivered', { nodeId, error: errorText(error) });
    }
  };

  /** Gives each node `version` of the policy (null: removes it), then sends what changed. */
  const assignNodes = async (
    rolloutId: string,
    nodeIds: readonly string[],
    policy: string,
    version: number | null,
  ): Promise<void> => {
    const spec = version === null ? null : (specOf(policy, version) ?? null);
    if (version !== null && spec === null) {
      logger.error('policy version not in the log', { policy, version, rolloutId });
      return;
    }
    const cause = ownEntry(log.coordinator().rolloutCause, rolloutId);
    await inBatches(nodeIds, async (nodeId) => {
      if (!ownEntry(log.fleet().nodes, nodeId) || !deps.isAdmitted(nodeId)) return;
      const decision = await log.execute(
        assignments,
        FleetStreams.assignment(nodeId),
        {
          type: 'AssignPolicy',
          data: {
            nodeId,
            policy,
            version,
            spec,
            rolloutId,
            initiatedBy: cause?.actor ?? COORDINATOR_ACTOR,
          },
        },
        {
          actor: COORDINATOR_ACTOR,
          occurredAt: nowIso(),
          correlationId: rolloutId,
          causationId: cause?.eventId,
        },
      );
      if (decision.ok && decision.events.length > 0) await sendAssignment(nodeId);
    });
  };

  /** The latest generation issued to the node (0: none). */
  const issuedGenerationOf = (nodeId: string): number =>
    assignments.get(FleetStreams.assignment(nodeId)).state.generation;

  /**
   * Takes the node back: a new epoch and its links as the next generation, recorded with why,
   * then sent. With `claimedGeneration` (a generation the node reported that was never issued)
   * this is decided once per claim, so a node that keeps claiming it makes no loop.
   */
  const takeBack = async (
    nodeId: string,
    reason: string,
    actor: string,
    claimedGeneration?: number,
  ): Promise<boolean> => {
    const decision = await log.execute(
      assignments,
      FleetStreams.assignment(nodeId),
      {
        type: 'TakeBackNode',
        data: {
          nodeId,
          reason,
          initiatedBy: actor,
          ...(claimedGeneration === undefined ? {} : { claimedGeneration }),
        },
      },
      { actor, occurredAt: nowIso() },
    );
    if (!decision.ok || decision.events.length === 0) return false;
    logger.warn('node taken back with a new epoch', {
      nodeId,
      reason,
      epoch: assignments.get(FleetStreams.assignment(nodeId)).state.epoch,
    });
    await sendAssignment(nodeId);
    return true;
  };

  /**
   * Every admitted node whose facts report a generation above the latest the coordinator issued
   * it (it runs an assignment the coordinator never issued) is taken back (a tick).
   */
  const takeBackUnissued = async (): Promise<void> => {
    for (const node of Object.values(log.fleet().nodes)) {
      const observed = node.observedGeneration;
      if (observed === null || !deps.isAdmitted(node.nodeId)) continue;
      const issued = issuedGenerationOf(node.nodeId);
      if (observed <= issued) continue;
      await takeBack(
        node.nodeId,
        `the node reported generation ${observed}, which the coordinator never issued (latest issued: ${issued})`,
        COORDINATOR_ACTOR,
        observed,
      );
    }
  };

  return {
    specOf,
    assignmentOf,
    sendAssignment,
    assignNodes,
    issuedGenerationOf,
    takeBack,
    takeBackUnissued,
  };
};

export type NodeAssignments = ReturnType<typeof createNodeAssignments>;
