/**
 * How a node of a wave stands (docs/fleet-protocol.md, "status"): failed when the agent reported
 * a failed attach for the policy at or after the generation the wave gave it, converged when it
 * observed that generation without one, stale when its heartbeats stopped, else pending.
 */
export type NodeStanding = 'converged' | 'pending' | 'failed' | 'stale';

export const judgeNode = (input: {
  readonly generation: number | undefined;
  /**
   * the generation the node observed according to its facts in the log (NodeReconciled: the
   * projection's observedGeneration), never a heartbeat's claim; 0 for a generation never issued
   */
  readonly observedGeneration: number;
  /** highest generation at which the agent reported a failed attach for this policy */
  readonly failedGeneration: number | undefined;
  readonly stale: boolean;
}): NodeStanding => {
  const { generation, failedGeneration } = input;
  if (
    generation !== undefined &&
    failedGeneration !== undefined &&
    failedGeneration >= generation
  ) {
    return 'failed';
  }
  if (generation !== undefined && input.observedGeneration >= generation) return 'converged';
  return input.stale ? 'stale' : 'pending';
};

/**
 * What a standing counts for in the rollout's gate: converged is a success, failed a failure.
 * Pending and stale count for nothing yet: a node whose heartbeats are late has not answered, it
 * has not failed, so it neither counts against the failure gate nor completes the wave; it is
 * judged when it is heard again and observed its generation (or failed to attach).
 */
export const reportedOutcome = (standing: NodeStanding): 'succeeded' | 'failed' | undefined =>
  standing === 'converged' ? 'succeeded' : standing === 'failed' ? 'failed' : undefined;

/** The actor of the decisions the coordinator takes on its own (every decision has one). */
export const COORDINATOR_ACTOR = 'coordinator';
