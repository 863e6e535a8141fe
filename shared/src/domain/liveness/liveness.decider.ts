/**
 * Whether the coordinator hears a node, as the decider that owns the stream `liveness-<nodeId>`:
 * a node silent for longer than the stale limit is marked stale (rollouts wait for it, drift is
 * not checked on it), and marked alive again once heard. Heartbeats are a live signal, not events:
 * the shell passes when it last heard the node.
 */
import type { Decider, Decision } from '../decider.js';
import { accept, nothing } from '../decider.js';
import { isoOfEpochMs } from '../../lib/iso-instant.js';
import type { FleetRecordedEvent, NodeMarkedAlive, NodeMarkedStale } from '../fleet.events.js';

export type LivenessEvent = NodeMarkedStale | NodeMarkedAlive;

export interface LivenessState {
  readonly stale: boolean;
  /** how many times the node was marked stale (ids of the marks) */
  readonly marks: number;
}

export type JudgeLiveness = Readonly<{
  type: 'JudgeLiveness';
  data: Readonly<{
    nodeId: string;
    /** now, epoch ms */
    nowMs: number;
    /** when the node was last heard (undefined: not since the coordinator started) */
    lastHeardMs: number | undefined;
    /** when the coordinator started listening, epoch ms: the silence of a node never heard */
    listeningSinceMs: number;
    staleAfterMs: number;
  }>;
}>;

export const initialLivenessState = (): LivenessState => ({ stale: false, marks: 0 });

const iso = isoOfEpochMs;

export const decideLiveness = (
  command: JudgeLiveness,
  state: LivenessState,
): Decision<LivenessEvent> => {
  const { nodeId, nowMs, lastHeardMs, listeningSinceMs, staleAfterMs } = command.data;
  const seen = lastHeardMs ?? listeningSinceMs;
  // a node the log left stale stays stale until it is heard again
  const isStale = (lastHeardMs === undefined && state.stale) || nowMs - seen > staleAfterMs;
  if (isStale && !state.stale) {
    return accept([
      {
        id: `stale:${nodeId}:${state.marks + 1}`,
        event: {
          type: 'NodeMarkedStale',
          data: {
            nodeId,
            lastSeen: lastHeardMs === undefined ? null : iso(lastHeardMs),
            silentMs: Math.max(0, nowMs - seen),
          },
        },
      },
    ]);
  }
  if (!isStale && state.stale) {
    return accept([
      {
        id: `alive:${nodeId}:${state.marks}`,
        event: { type: 'NodeMarkedAlive', data: { nodeId, lastSeen: iso(seen) } },
      },
    ]);
  }
  return nothing();
};

export const evolveLiveness = (state: LivenessState, event: FleetRecordedEvent): LivenessState => {
  switch (event.type) {
    case 'NodeMarkedStale':
      return { stale: true, marks: state.marks + 1 };
    case 'NodeMarkedAlive':
      return { ...state, stale: false };
    default:
      return state;
  }
};

export const livenessDecider: Decider<LivenessState, JudgeLiveness, LivenessEvent> = {
  initialState: initialLivenessState,
  decide: decideLiveness,
  evolve: evolveLiveness,
};
