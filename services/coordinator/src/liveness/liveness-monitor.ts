/**
 * Liveness: when each node was last heard (a heartbeat or a fact) and the generation its
 * heartbeats report, both live signals kept in memory, and the shell of the liveness decider
 * that records a node stale when it falls silent and alive when it is heard again.
 */
import { COORDINATOR_ACTOR, FleetStreams } from '@tramway/shared/domain';
import type { Logger } from '@tramway/shared/infra';
import type { FleetLog } from '../log/fleet-log.js';
import { ownEntry } from '@tramway/shared/lib';

export interface LivenessMonitor {
  /** the node was heard now; `observedGeneration` when a heartbeat of its current boot says it */
  heard(nodeId: string, observedGeneration?: number): void;
  lastHeardMs(nodeId: string): number | undefined;
  /** the node's observed generation: its facts' or its heartbeats', whichever is higher */
  observedOf(nodeId: string): number;
  isStale(nodeId: string): boolean;
  /** records every change of liveness due now */
  judgeAll(): Promise<void>;
  /** the coordinator started listening */
  startListening(): void;
}

export const createLivenessMonitor = (deps: {
  readonly log: FleetLog;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly staleAfterMs: number;
}): LivenessMonitor => {
  const { log } = deps;
  const lastSeen = new Map<string, number>();
  const heartbeatGeneration = new Map<string, number>();
  let listeningSinceMs = 0;
  const cache = log.deciders.liveness;
  const isStale = (nodeId: string): boolean => cache.get(FleetStreams.liveness(nodeId)).state.stale;
  return {
    heard: (nodeId, observedGeneration) => {
      lastSeen.set(nodeId, deps.now().getTime());
      if (observedGeneration !== undefined) heartbeatGeneration.set(nodeId, observedGeneration);
    },
    lastHeardMs: (nodeId) => lastSeen.get(nodeId),
    observedOf: (nodeId) =>
      Math.max(
        ownEntry(log.fleet().nodes, nodeId)?.observedGeneration ?? 0,
        heartbeatGeneration.get(nodeId) ?? 0,
      ),
    isStale,
    startListening: () => {
      listeningSinceMs = deps.now().getTime();
    },
    judgeAll: async () => {
      const nowMs = deps.now().getTime();
      for (const node of Object.values(log.fleet().nodes)) {
        if (!node.registered) continue;
        const before = isStale(node.nodeId);
        const decision = await log.execute(
          cache,
          FleetStreams.liveness(node.nodeId),
          {
            type: 'JudgeLiveness',
            data: {
              nodeId: node.nodeId,
              nowMs,
              lastHeardMs: lastSeen.get(node.nodeId),
              listeningSinceMs,
              staleAfterMs: deps.staleAfterMs,
            },
          },
          { actor: COORDINATOR_ACTOR, occurredAt: new Date(nowMs).toISOString() },
        );
        if (!decision.ok || decision.events.length === 0) continue;
        if (!before) deps.logger.warn('node marked stale', { nodeId: node.nodeId });
        else deps.logger.info('node alive again', { nodeId: node.nodeId });
      }
    },
  };
};
