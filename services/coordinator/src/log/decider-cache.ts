/**
 * The state of every aggregate of one decider, kept current from the log (the follower feeds it
 * every event in global order). An aggregate's state is the fold of its events; its version is
 * that of its stream, which its next append expects. Events an older log recorded in another
 * stream (liveness and drift in the node stream) fold into the state without moving the version.
 */
import type {
  Decider,
  FleetEvent,
  FleetEventType,
  FleetRecordedEvent,
} from '@tramway/shared/domain';
import { streamOf } from '@tramway/shared/domain';

export interface Aggregate<S> {
  readonly state: S;
  /** version of the aggregate's stream (0: empty) */
  readonly version: number;
}

export interface DeciderCache<S, C, E extends FleetEvent> {
  readonly decider: Decider<S, C, E>;
  /** the aggregate's stream for an event of this decider, undefined for other events */
  streamOf(event: FleetRecordedEvent): string | undefined;
  fold(event: FleetRecordedEvent): void;
  get(streamId: string): Aggregate<S>;
  all(): IterableIterator<[string, Aggregate<S>]>;
  /**
   * Replaces a known aggregate's state by `f(state)` at the same version: only to drop what the
   * decider will never need again (memory), never to change a decision
   */
  trim(streamId: string, f: (state: S) => S): void;
  /**
   * Forgets an aggregate the coordinator will not decide on again (an ended rollout that is no
   * longer its policy's latest): `get` answers the initial state for it afterwards
   */
  drop(streamId: string): void;
  /** how many aggregates are held */
  size(): number;
}

/** A cache of the aggregates of `decider`, whose streams hold the events of these types. */
export const createDeciderCache = <S, C, E extends FleetEvent>(
  decider: Decider<S, C, E>,
  types: readonly E['type'][],
): DeciderCache<S, C, E> => {
  const owned: ReadonlySet<FleetEventType> = new Set(types);
  const aggregateOf = (event: FleetRecordedEvent): string | undefined =>
    owned.has(event.type) ? streamOf(event) : undefined;
  const aggregates = new Map<string, Aggregate<S>>();
  const get = (streamId: string): Aggregate<S> =>
    aggregates.get(streamId) ?? { state: decider.initialState(), version: 0 };
  return {
    decider,
    streamOf: aggregateOf,
    fold: (event) => {
      const streamId = aggregateOf(event);
      if (streamId === undefined) return;
      const current = get(streamId);
      aggregates.set(streamId, {
        state: decider.evolve(current.state, event),
        version: event.streamId === streamId ? event.streamVersion : current.version,
      });
    },
    get,
    all: () => aggregates.entries(),
    trim: (streamId, f) => {
      const current = aggregates.get(streamId);
      if (current !== undefined)
        aggregates.set(streamId, { state: f(current.state), version: current.version });
    },
    drop: (streamId) => {
      aggregates.delete(streamId);
    },
    size: () => aggregates.size,
  };
};
