/**
 * What the coordinator needs of the log across the deciders' streams, to judge nodes and to
 * stamp its decisions: the generation each rollout gave each node (from AssignmentIssued's
 * correlation id), the failed attaches per node and policy, the version in force before each
 * policy's latest apply (a rollout records it), each policy's latest rollout, and the request
 * each rollout acts on. The deciders' own state is the fold of their streams
 * (shared/src/domain/*\/*.decider.ts). A pure fold (STYLE.md §1.2).
 */
import type { FleetRecordedEvent } from '@tramway/shared/domain';
import { ownEntry } from '@tramway/shared/lib';

export interface CoordinatorState {
  readonly position: number;
  /** rollout -> node -> generation issued by that rollout */
  readonly rolloutGenerations: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** node -> policy -> highest generation at which an attach of it failed */
  readonly failures: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /**
   * rollout -> the policy version the nodes ran before it (null: a new policy); for rollouts
   * recorded before RolloutStarted carried it
   */
  readonly rolloutPrevious: Readonly<Record<string, number | null>>;
  /** policy -> the version in force (absent once removed) */
  readonly currentVersion: Readonly<Record<string, number>>;
  /** policy -> the version in force before the last PolicyApplied */
  readonly previousVersion: Readonly<Record<string, number | null>>;
  /** policy -> its latest rollout */
  readonly latestRollout: Readonly<Record<string, string>>;
  /**
   * rollout -> the request it currently acts on: the actor of its latest PolicyApplied or
   * PolicyRemoved (apply, rollback) and that event's id
   */
  readonly rolloutCause: Readonly<
    Record<string, { readonly actor: string; readonly eventId: string }>
  >;
  /** how many events were folded (metrics) */
  readonly events: number;
}

export const initialCoordinatorState = (): CoordinatorState => ({
  position: 0,
  rolloutGenerations: {},
  failures: {},
  rolloutPrevious: {},
  currentVersion: {},
  previousVersion: {},
  latestRollout: {},
  rolloutCause: {},
  events: 0,
});

const setIn = <V>(
  outer: Readonly<Record<string, Readonly<Record<string, V>>>>,
  a: string,
  b: string,
  value: V,
): Record<string, Readonly<Record<string, V>>> => ({
  ...outer,
  [a]: { ...ownEntry(outer, a), [b]: value },
});

/**
 * A policy decision recorded for a rollout (its correlation id) becomes the rollout's cause: the
 * person it was for (`metadata.onBehalfOf`), else its actor.
 */
const causeOf = (
  state: CoordinatorState,
  event: FleetRecordedEvent,
): CoordinatorState['rolloutCause'] => {
  const rolloutId = event.metadata.correlationId;
  if (rolloutId === undefined) return state.rolloutCause;
  // an admin acting for someone (x-tramway-on-behalf-of) initiates on that person's behalf
  const actor = event.metadata.onBehalfOf ?? event.metadata.actor;
  return { ...state.rolloutCause, [rolloutId]: { actor, eventId: event.id } };
};

/** One step of the fold; events at or before `state.position` are ignored (re-delivery). */
export const evolveCoordinator = (
  state: CoordinatorState,
  event: FleetRecordedEvent,
): CoordinatorState => {
  if (event.globalPosition <= state.position) return state;
  const next = { ...state, position: event.globalPosition, events: state.events + 1 };
  switch (event.type) {
    case 'PolicyApplied': {
      const { name, version } = event.data;
      const current = ownEntry(state.currentVersion, name);
      return {
        ...next,
        rolloutCause: causeOf(state, event),
        currentVersion: { ...state.currentVersion, [name]: version },
        previousVersion:
          current === version
            ? state.previousVersion
            : { ...state.previousVersion, [name]: current ?? null },
      };
    }
    case 'PolicyRemoved':
    case 'PolicyDeleted': {
      const { [event.data.name]: _removed, ...rest } = state.currentVersion;
      return {
        ...next,
        rolloutCause: causeOf(state, event),
        currentVersion: rest,
        previousVersion: { ...state.previousVersion, [event.data.name]: null },
      };
    }
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
      const previous = ownEntry(ownEntry(state.failures, nodeId) ?? {}, policy) ?? -1;
      if (observedGeneration <= previous) return next;
      return { ...next, failures: setIn(state.failures, nodeId, policy, observedGeneration) };
    }
    case 'RolloutStarted': {
      // the policy's former latest rollout has ended (a new one waits for that): what is kept
      // per rollout goes with it, so memory follows the policies, not their history
      const former = ownEntry(state.latestRollout, event.data.policy);
      const drop = <V>(rec: Readonly<Record<string, V>>): Readonly<Record<string, V>> => {
        if (former === undefined || former === event.data.rolloutId || !Object.hasOwn(rec, former))
          return rec;
        const { [former]: _gone, ...rest } = rec;
        return rest;
      };
      return {
        ...next,
        latestRollout: { ...state.latestRollout, [event.data.policy]: event.data.rolloutId },
        rolloutPrevious: {
          ...drop(state.rolloutPrevious),
          [event.data.rolloutId]: ownEntry(state.previousVersion, event.data.policy) ?? null,
        },
        rolloutGenerations: drop(state.rolloutGenerations),
        rolloutCause: drop(state.rolloutCause),
      };
    }
    default:
      return next;
  }
};
