/**
 * The NATS subjects of the fleet (docs/fleet-protocol.md, "Subjects and messages"), built by
 * pure functions: nothing else concatenates subjects. A node id must be one subject token.
 */

const NODE_TOKEN = /^[A-Za-z0-9_:@-]+$/;

/** Throws when `nodeId` cannot be one subject token (a dot, a wildcard, a space). */
const token = (nodeId: string): string => {
  if (!NODE_TOKEN.test(nodeId))
    throw new Error(
      `node id ${JSON.stringify(nodeId)} cannot be a subject token: use letters, digits and _:@- only`,
    );
  return nodeId;
};

/** True when `nodeId` can be used in the fleet subjects. */
export const isSubjectSafeNodeId = (nodeId: string): boolean => NODE_TOKEN.test(nodeId);

export const FleetSubjects = {
  /** agent -> coordinator, publish: `FactBatch` */
  facts: (nodeId: string): string => `tramway.facts.${token(nodeId)}`,
  /** every node's facts (the coordinator's subscription) */
  allFacts: (): string => 'tramway.facts.*',
  /**
   * agent -> JetStream, one `FactBatch` of one fact per message, `Nats-Msg-Id` = the fact's id:
   * the facts stream (at least once; docs/fleet-protocol.md, "Facts and their acknowledgement")
   */
  factLog: (nodeId: string): string => `tramway.factlog.${token(nodeId)}`,
  /** every node's fact-log subject (the facts stream's subjects, the coordinator's consumer) */
  allFactLogs: (): string => 'tramway.factlog.*',
  /** agent -> coordinator, publish: `Heartbeat` */
  heartbeat: (nodeId: string): string => `tramway.hb.${token(nodeId)}`,
  allHeartbeats: (): string => 'tramway.hb.*',
  /** coordinator -> agent, request: `PlanRequest` -> `NodePlan` */
  plan: (nodeId: string): string => `tramway.agent.${token(nodeId)}.plan`,
  /** coordinator -> agent, request: `Assignment` -> `AssignReply` */
  assign: (nodeId: string): string => `tramway.agent.${token(nodeId)}.assign`,
  /** coordinator -> agent, request: `ModuleRequest` -> `ModuleReply` (sim nodes) */
  module: (nodeId: string): string => `tramway.agent.${token(nodeId)}.module`,
  /** coordinator -> agent, request: `{}` -> `NodeActualState` */
  state: (nodeId: string): string => `tramway.agent.${token(nodeId)}.state`,
  /** every request subject of one node (what that node's NATS user may subscribe to) */
  agentRequests: (nodeId: string): string => `tramway.agent.${token(nodeId)}.>`,
  /**
   * agent -> coordinator, request: `AssignmentRequest` -> `Assignment | null`. One subject per
   * node, so the server's permissions let a node ask only for its own assignment.
   */
  assignment: (nodeId: string): string => `tramway.coord.assignment.${token(nodeId)}`,
  /** every node's assignment requests (the coordinator's responder) */
  allAssignments: (): string => 'tramway.coord.assignment.*',
} as const;

/**
 * The durable consumer of the facts stream (the coordinator's; kept by the server across its
 * restarts, so what it had not acknowledged is delivered again).
 */
export const FACTS_CONSUMER = 'tramway-coordinator';

/**
 * The node id in a `tramway.facts.<id>`, `tramway.factlog.<id>`, `tramway.hb.<id>`, `tramway.coord.assignment.<id>` or
 * `tramway.agent.<id>.*` subject.
 */
export const nodeIdOfSubject = (subject: string): string | undefined => {
  const parts = subject.split('.');
  if (parts[0] !== 'tramway') return undefined;
  if ((parts[1] === 'facts' || parts[1] === 'factlog' || parts[1] === 'hb') && parts.length === 3)
    return parts[2];
  if (parts[1] === 'agent' && parts.length === 4) return parts[2];
  if (parts[1] === 'coord' && parts[2] === 'assignment' && parts.length === 4) return parts[3];
  return undefined;
};
