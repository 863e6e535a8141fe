/**
 * The state of every aggregate of one decider, kept current from the log (the follower feeds it
 * every event in global order). An aggregate's state is the fold of its events; its version is
 * that of its stream, which its next append expects. Events an older log recorded in another
 * stream (liveness and drift in the node stream) fold into the state without moving the version.
 */
import type { Decider, FleetEvent, FleetRecordedEvent } from '@tramway/shared/domain';

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
}

export const createDeciderCache = <S, C, E extends FleetEvent>(
  decider: Decider<S, C, E>,
  streamOf: (event: FleetRecordedEvent) => string | undefined,
): DeciderCache<S, C, E> => {
  const aggregates = new Map<string, Aggregate<S>>();
  const get = (streamId: string): Aggregate<S> =>
    aggregates.get(streamId) ?? { state: decider.initialState(), version: 0 };
  return {
    decider,
    streamOf,
    fold: (event) => {
      const streamId = streamOf(event);
      if (streamId === undefined) return;
      const current = get(streamId);
      aggregates.set(streamId, {
        state: decider.evolve(current.state, event),
        version: event.streamId === streamId ? event.streamVersion : current.version,
      });
    },
    get,
    all: () => aggregates.entries(),
  };
};
