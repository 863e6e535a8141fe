/**
 * The shell of the node assignment decider: gives nodes a policy version (or takes it away) as
 * their next generation, and sends each node its assignment as its stream holds it (every policy
 * version with its spec and the plan recorded for it).
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

  /** The assignment a node is sent: its stream's state, with the specs and recorded plans. */
  const assignmentOf = (nodeId: string): Assignment | null =>
    assignmentMessage(assignments.get(FleetStreams.assignment(nodeId)).state, specOf);

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
      logger.debug('assignment sent', { nodeId, generation: assignment.generation, reply });
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
      if (!ownEntry(log.fleet().nodes, nodeId)) return;
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

  return { specOf, assignmentOf, sendAssignment, assignNodes };
};

export type NodeAssignments = ReturnType<typeof createNodeAssignments>;
