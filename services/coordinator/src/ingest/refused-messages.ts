/**
 * Counts the messages of agents the coordinator refused, by reason (`/metrics`:
 * `tramway_refused_messages_total{reason}`): a node speaking for another node, a batch holding
 * something other than that node's facts, a message that does not decode.
 */
export const RefusedReason = {
  /** the payload's node differs from the subject's node (a node speaking for another) */
  NodeMismatch: 'node-mismatch',
  /** a fact batch holding an event that is not a node fact, or does not decode */
  InvalidFacts: 'invalid-facts',
  /** the message is not the subject's message type */
  Malformed: 'malformed',
} as const;
export type RefusedReason = (typeof RefusedReason)[keyof typeof RefusedReason];

export interface RefusedMessages {
  count(reason: RefusedReason): void;
  /** every reason (0 for one never counted) and how often, in a fixed order */
  counts(): readonly (readonly [RefusedReason, number])[];
}

export const createRefusedMessages = (): RefusedMessages => {
  const byReason = new Map<RefusedReason, number>();
  return {
    count: (reason) => byReason.set(reason, (byReason.get(reason) ?? 0) + 1),
    counts: () => Object.values(RefusedReason).map((r) => [r, byReason.get(r) ?? 0] as const),
  };
};
