/**
 * What the coordinator needs of the log beyond the fleet projection (shared/src/projections):
 * every policy version's spec (rollback goes back to one), the generation each rollout gave each
 * node (from AssignmentIssued's correlation id), the failed attaches per node and policy, when
 * waves completed (pauses), and which rollouts are rollbacks. A pure fold (STYLE.md §1.2).
 */
import type { FleetRecordedEvent, JsonValue } from '@tramway/shared/domain';

export interface CoordinatorState {
  readonly position: number;
  /** policy -> version -> spec */
  readonly policyVersions: Readonly<Record<string, Readonly<Record<string, JsonValue>>>>;
  /** rollout -> node -> generation issued by that rollout */
  readonly rolloutGenerations: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** node -> policy -> highest generation at which an attach of it failed */
  readonly failures: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** rollout -> wave -> when it completed (ISO) */
  readonly waveCompletedAt: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** rollback rollout -> the rollout it rolls back */
  readonly rollbackOf: Readonly<Record<string, string>>;
  /** policy -> its latest rollout */
  readonly latestRollout: Readonly<Record<string, string>>;
  /** how many events were folded (metrics) */
  readonly events: number;
}

export const initialCoordinatorState = (): CoordinatorState => ({
  position: 0,
  policyVersions: {},
  rolloutGenerations: {},
  failures: {},
  waveCompletedAt: {},
  rollbackOf: {},
  latestRollout: {},
  events: 0,
});

const setIn = <V>(
  outer: Readonly<Record<string, Readonly<Record<string, V>>>>,
  a: string,
  b: string,
  value: V,
): Record<string, Readonly<Record<string, V>>> => ({ ...outer, [a]: { ...outer[a], [b]: value } });

/** One step of the fold; events at or before `state.position` are ignored (re-delivery). */
export const evolveCoordinator = (
  state: CoordinatorState,
  event: FleetRecordedEvent,
): CoordinatorState => {
  if (event.globalPosition <= state.position) return state;
  const next = { ...state, position: event.globalPosition, events: state.events + 1 };
  switch (event.type) {
    case 'PolicyApplied':
      return {
        ...next,
        policyVersions: setIn(
          state.policyVersions,
          event.data.name,
          String(event.data.version),
          event.data.spec as JsonValue,
        ),
      };
    case 'AssignmentIssued': {
      const rolloutId = event.metadata.correlationId;
      if (rolloutId === undefined) return next;
      return {
        ...next,
        rolloutGenerations: setIn(
          state.rolloutGenerations,
          rolloutId,
          event.data.nodeId,
          event.data.generation,
        ),
      };
    }
    case 'LinkCreateFailed': {
      const { policy, observedGeneration, nodeId } = event.data;
      if (policy === undefined || observedGeneration === undefined) return next;
      const previous = state.failures[nodeId]?.[policy] ?? -1;
      if (observedGeneration <= previous) return next;
      return { ...next, failures: setIn(state.failures, nodeId, policy, observedGeneration) };
    }
    case 'WaveCompleted':
      return {
        ...next,
        waveCompletedAt: setIn(
          state.waveCompletedAt,
          event.data.rolloutId,
          String(event.data.wave),
          event.metadata.occurredAt,
        ),
      };
    case 'RolloutStarted': {
      const of = event.metadata.causationId;
      return {
        ...next,
        latestRollout: { ...state.latestRollout, [event.data.policy]: event.data.rolloutId },
        rollbackOf:
          of === undefined ? state.rollbackOf : { ...state.rollbackOf, [event.data.rolloutId]: of },
      };
    }
    default:
      return next;
  }
};
