/**
 * The shell of the admission decider (docs/fleet-protocol.md, "Admission"): a node registered in
 * the log is admitted at once when its credential allows it (`autoApprove`, recorded as approved
 * by `coordinator`), else recorded pending until a person approves it. Only an approved node is
 * given assignments and counts in rollouts and waves.
 */
import { AUTO_APPROVED_REASON, COORDINATOR_ACTOR, FleetStreams } from '@tramway/shared/domain';
import type { Logger } from '@tramway/shared/infra';
import type { FleetLog } from '../log/fleet-log.js';

export interface AdmissionOptions {
  /** whether a node heard for the first time is approved without a person (default: every node) */
  autoApprove(nodeId: string): boolean;
}

/** The embedded mode's and the default policy: every node is approved as it registers. */
export const APPROVE_EVERY_NODE: AdmissionOptions = { autoApprove: () => true };

export type NodeAdmissionStatus = 'unknown' | 'pending' | 'approved';

export const createNodeAdmission = (deps: {
  readonly log: FleetLog;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly options: AdmissionOptions;
  /** a node was approved: send it what it is assigned */
  readonly onApproved: (nodeId: string) => Promise<void>;
}) => {
  const { log } = deps;
  const cache = log.deciders.admission;
  /**
   * A node with no admission decision that the log already gave assignments was admitted by the
   * version that did (before admission existed): approved without a new event, so a log of that
   * version replays and resumes exactly as it did. Only the coordinator issues assignments, and
   * now only to admitted nodes, so no other node can be in that state.
   */
  const statusOf = (nodeId: string): NodeAdmissionStatus => {
    const status = cache.get(FleetStreams.admission(nodeId)).state.status;
    if (status !== 'unknown') return status;
    const assigned = log.deciders.assignment.get(FleetStreams.assignment(nodeId)).state;
    return assigned.generation > 0 ? 'approved' : 'unknown';
  };
  const isAdmitted = (nodeId: string): boolean => statusOf(nodeId) === 'approved';

  /** Decides the admission of every registered node with none yet (a tick). */
  const admitAll = async (): Promise<void> => {
    for (const node of Object.values(log.fleet().nodes)) {
      if (!node.registered || statusOf(node.nodeId) !== 'unknown') continue;
      let autoApprove = false;
      try {
        autoApprove = deps.options.autoApprove(node.nodeId);
      } catch (error) {
        deps.logger.error('autoApprove failed: node left pending', {
          nodeId: node.nodeId,
          error: String(error),
        });
      }
      const decision = await log.execute(
        cache,
        FleetStreams.admission(node.nodeId),
        {
          type: 'AdmitNode',
          data: {
            nodeId: node.nodeId,
            autoApprove,
            reason: autoApprove ? AUTO_APPROVED_REASON : 'waiting for approval',
          },
        },
        { actor: COORDINATOR_ACTOR, occurredAt: deps.now().toISOString() },
      );
      if (!decision.ok || decision.events.length === 0) continue;
      if (autoApprove) {
        deps.logger.info('node approved', { nodeId: node.nodeId, reason: AUTO_APPROVED_REASON });
        await deps.onApproved(node.nodeId);
      } else deps.logger.warn('node pending approval', { nodeId: node.nodeId });
    }
  };

  /** A person approves a pending node. */
  const approve = async (
    nodeId: string,
    actor: string,
    reason: string | undefined,
  ): Promise<{ ok: true; changed: boolean } | { ok: false; code: 'NotFound'; message: string }> => {
    const decision = await log.execute(
      cache,
      FleetStreams.admission(nodeId),
      { type: 'ApproveNode', data: { nodeId, reason: reason ?? `approved by ${actor}` } },
      { actor, occurredAt: deps.now().toISOString() },
    );
    if (!decision.ok) return { ok: false, code: 'NotFound', message: decision.rejection.message };
    if (decision.events.length > 0) {
      deps.logger.info('node approved', { nodeId, actor });
      await deps.onApproved(nodeId);
    }
    return { ok: true, changed: decision.events.length > 0 };
  };

  return { statusOf, isAdmitted, admitAll, approve };
};

export type NodeAdmission = ReturnType<typeof createNodeAdmission>;
