/**
 * Drift repair: asks every live node what its kernel holds, compares it with what the log says it
 * should (`findDrift`), records what is new through the drift decider, and re-issues the node's
 * assignment as a new generation so it reconciles again. A node behind its generation is sent its
 * assignment again instead (it may have been lost).
 */
import type { DriftItem } from '@tramway/shared/domain';
import { COORDINATOR_ACTOR, FleetStreams, findDrift } from '@tramway/shared/domain';
import type { NodeActualState } from '@tramway/shared/contracts';
import { FleetSubjects, decodeMessageOrThrow } from '@tramway/shared/contracts';
import type { FleetBus, Logger } from '@tramway/shared/infra';
import type { FleetLog } from '../log/fleet-log.js';
import type { LivenessMonitor } from '../liveness/liveness-monitor.js';
import type { RolloutRunner } from '../rollout/rollout-runner.js';
import { errorText } from '@tramway/shared/infra';
import { ownEntry } from '@tramway/shared/lib';

export interface DriftReport {
  readonly nodeId: string;
  readonly items: readonly DriftItem[];
  readonly repaired: boolean;
}

export const createDriftRepair = (deps: {
  readonly log: FleetLog;
  readonly bus: FleetBus;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly timeoutMs: number;
  readonly liveness: LivenessMonitor;
  readonly runner: RolloutRunner;
}) => {
  const { log, logger } = deps;

  const requestState = async (nodeId: string): Promise<NodeActualState> =>
    decodeMessageOrThrow(
      'NodeActualState',
      await deps.bus.request(FleetSubjects.state(nodeId), {}, { timeoutMs: deps.timeoutMs }),
    );

  const checkNode = async (nodeId: string): Promise<DriftReport | undefined> => {
    const node = ownEntry(log.fleet().nodes, nodeId);
    const assignment = node?.assignment;
    if (!node || !assignment) return undefined;
    let actual: NodeActualState;
    try {
      actual = await requestState(nodeId);
    } catch (error) {
      logger.warn('state not fetched', { nodeId, error: errorText(error) });
      return undefined;
    }
    if (actual.observedGeneration < assignment.generation) {
      // Behind: the assignment may have been lost; sending it again is harmless.
      await deps.runner.sendAssignment(nodeId);
      return undefined;
    }
    const failed = new Set(
      Object.entries(ownEntry(log.coordinator().failures, nodeId) ?? {})
        .filter(([, g]) => g >= assignment.generation)
        .map(([p]) => p),
    );
    const items = findDrift({
      desired: assignment.links,
      generation: assignment.generation,
      failedPolicies: failed,
      loggedLinkIds: Object.values(node.links).map((l) => l.linkId),
      actual,
    });
    if (items.length === 0) return undefined;
    const at = deps.now().toISOString();
    const stream = FleetStreams.drift(nodeId);
    const recorded = await log.execute(
      log.deciders.drift,
      stream,
      {
        type: 'RecordDrift',
        data: {
          nodeId,
          generation: assignment.generation,
          observedGeneration: actual.observedGeneration,
          items,
        },
      },
      { actor: COORDINATOR_ACTOR, occurredAt: at },
    );
    if (!recorded.ok) return undefined;
    // Repair what was just recorded, or the drift recorded at this very generation by a
    // coordinator that stopped before repairing it (its repair would have moved the generation on).
    const last = log.deciders.drift.get(stream).state;
    const cause =
      recorded.events[0]?.id ??
      (last.observedGeneration === assignment.generation ? last.eventId : undefined);
    if (cause === undefined) return undefined;
    if (recorded.events.length > 0) logger.warn('drift found', { nodeId, items });
    else logger.warn('drift recorded before a restart not repaired yet', { nodeId, items });
    const reissued = await log.execute(
      log.deciders.assignment,
      FleetStreams.assignment(nodeId),
      {
        type: 'ReissueAssignment',
        data: {
          nodeId,
          reason: `drift repair: generation ${assignment.generation} again as a new generation`,
          initiatedBy: COORDINATOR_ACTOR,
        },
      },
      { actor: COORDINATOR_ACTOR, occurredAt: at, causationId: cause },
    );
    if (reissued.ok && reissued.events.length > 0) await deps.runner.sendAssignment(nodeId);
    return { nodeId, items, repaired: true };
  };

  /** Checks every live node with an assignment, one after another. */
  const checkAll = async (): Promise<DriftReport[]> => {
    const reports: DriftReport[] = [];
    for (const node of Object.values(log.fleet().nodes)) {
      if (!node.registered || deps.liveness.isStale(node.nodeId)) continue;
      const report = await checkNode(node.nodeId);
      if (report) reports.push(report);
    }
    return reports;
  };

  return { checkAll };
};
