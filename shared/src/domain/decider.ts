/**
 * The decider shape every stream-owning aggregate of the fleet follows (STYLE.md §4): `decide`
 * validates a command against the state (the fold of the aggregate's own stream) and returns the
 * events to append, each with its deterministic id, or a rejection as data; `evolve` folds one
 * recorded event into the state. Both are pure and total: time and ids enter through commands.
 */
import type { FleetEvent, FleetRecordedEvent } from './fleet.events.js';

/** An event a decider wants appended, with the id that makes its append idempotent. */
export interface Decided<E extends FleetEvent = FleetEvent> {
  readonly id: string;
  readonly event: E;
}

/** Why a command was refused: a code the edge maps to its answer, and words for a person. */
export interface Rejection {
  readonly code: 'NotFound' | 'Conflict' | 'Invalid';
  readonly message: string;
}

/** `{ ok: true, events: [] }` means "nothing to do": every command is idempotent. */
export type Decision<E extends FleetEvent = FleetEvent> =
  | { readonly ok: true; readonly events: readonly Decided<E>[] }
  | { readonly ok: false; readonly rejection: Rejection };

export interface Decider<S, C, E extends FleetEvent = FleetEvent> {
  initialState(): S;
  decide(command: C, state: S): Decision<E>;
  /** folds one event of the log; events of other aggregates leave the state as it is */
  evolve(state: S, event: FleetRecordedEvent): S;
}

export const accept = <E extends FleetEvent>(events: readonly Decided<E>[]): Decision<E> => ({
  ok: true,
  events,
});

export const nothing = <E extends FleetEvent>(): Decision<E> => ({ ok: true, events: [] });

export const reject = <E extends FleetEvent>(
  code: Rejection['code'],
  message: string,
): Decision<E> => ({ ok: false, rejection: { code, message } });
