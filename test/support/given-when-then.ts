/**
 * Given/When/Then for the fleet's stream-owning deciders (STYLE.md §8), after Emmett's
 * `DeciderSpecification.for`:
 *
 *   deciderSpec(rolloutDecider)
 *     .given([{ type: 'RolloutStarted', data }, ...])
 *     .when(command)
 *     .then([{ id, event }, ...]) | .thenRejects('Conflict', /held/) | .thenNothingHappened()
 *
 * `given` takes plain `{ type, data }` events (optionally with an `id`, `metadata` overrides such
 * as `occurredAt` / `actor`, or the `streamId` an older log recorded them in) and wraps them into
 * recorded envelopes the way a log would: its own stream by default, increasing stream versions
 * and global positions, one second between events. `then` also checks that what was decided is
 * what the log would take (each event passes its wire schema, one decision appends to one stream)
 * and that evolving the decided events onto the state is total; it returns that state.
 */
import { expect } from 'vitest';
import { CURRENT_SCHEMA_VERSION, encodeFleetEvent } from '@tramway/shared/contracts';
import type {
  Decided,
  Decider,
  Decision,
  FleetEvent,
  FleetRecordedEvent,
  Rejection,
} from '@tramway/shared/domain';
import { streamOf } from '@tramway/shared/domain';
import type { EventMetadata } from '@tramway/shared/lib';

/** An event of the log as a test states it: the event, and what to override of its envelope. */
export type GivenEvent<E extends FleetEvent = FleetEvent> = E & {
  readonly id?: string;
  readonly streamId?: string;
  readonly metadata?: Partial<EventMetadata>;
};

/** When the first given event occurred; each next one is a second later unless told. */
export const GIVEN_START_MS = Date.parse('2026-12-01T10:00:00.000Z');
export const GIVEN_ACTOR = 'coordinator';

/** Where a log left off: the next event's global position, and each stream's version. */
interface LogPosition {
  readonly nextPosition: number;
  readonly versions: ReadonlyMap<string, number>;
}

const START: LogPosition = { nextPosition: 1, versions: new Map() };

/**
 * Wraps events into recorded envelopes as a log would: the event's own stream (or `streamId`),
 * the next version of that stream, the next global position, `occurredAt` one second after the
 * previous event (unless told) and `recordedAt` equal to it.
 */
export const recordEvents = (
  events: readonly GivenEvent[],
  from: LogPosition = START,
): { readonly recorded: FleetRecordedEvent[]; readonly next: LogPosition } => {
  const versions = new Map(from.versions);
  let position = from.nextPosition;
  const recorded = events.map((given) => {
    const { id, streamId, metadata, ...event } = given;
    const stream = streamId ?? streamOf(event as FleetEvent);
    const version = (versions.get(stream) ?? 0) + 1;
    versions.set(stream, version);
    const occurredAt =
      metadata?.occurredAt ?? new Date(GIVEN_START_MS + position * 1000).toISOString();
    const globalPosition = position++;
    return {
      id: id ?? `given-${globalPosition}`,
      type: event.type,
      schemaVersion: CURRENT_SCHEMA_VERSION[event.type],
      data: event.data,
      metadata: { actor: GIVEN_ACTOR, ...metadata, occurredAt },
      streamId: stream,
      streamVersion: version,
      globalPosition,
      recordedAt: occurredAt,
    } as FleetRecordedEvent;
  });
  return { recorded, next: { nextPosition: position, versions } };
};

/** Folds recorded events from the decider's initial state. */
export const foldEvents = <S>(
  decider: Pick<Decider<S, never>, 'initialState' | 'evolve'>,
  events: readonly FleetRecordedEvent[],
): S => events.reduce((s, e) => decider.evolve(s, e), decider.initialState());

/** The envelope the shell would give the events of one command (`metadata.now` / `actor`). */
const envelopeOf = (command: unknown): Partial<EventMetadata> => {
  const metadata = (command as { metadata?: { now?: unknown; actor?: unknown } }).metadata;
  return {
    ...(typeof metadata?.now === 'string' ? { occurredAt: metadata.now } : {}),
    ...(typeof metadata?.actor === 'string' ? { actor: metadata.actor } : {}),
  };
};

/**
 * Records what a decision decided as the shell would append it: each event through its wire
 * schema (throws when the log would refuse it) and all of them in one stream (the aggregate's).
 */
export const recordDecided = (
  decided: readonly Decided[],
  command: unknown,
  from: LogPosition,
): { readonly recorded: FleetRecordedEvent[]; readonly next: LogPosition } => {
  const envelope = envelopeOf(command);
  const streams = new Set<string>();
  const given = decided.map(({ id, event }) => {
    const encoded = encodeFleetEvent(event, {
      id,
      metadata: { occurredAt: new Date(GIVEN_START_MS).toISOString(), actor: GIVEN_ACTOR },
    });
    streams.add(encoded.streamId);
    return {
      type: encoded.event.type,
      data: encoded.event.data,
      id,
      metadata: envelope,
    } as GivenEvent;
  });
  if (streams.size > 1) {
    throw new Error(`one decision appends to one stream, not to ${[...streams].join(', ')}`);
  }
  return recordEvents(given, from);
};

export interface Then<S, E extends FleetEvent> {
  /** the decision, for what the helpers below do not say */
  readonly decision: Decision<E>;
  /** the state the command was decided on */
  readonly state: S;
  /** decided exactly these events (ids included); returns the state after them */
  then(expected: readonly Decided<E>[]): S;
  /** refused with `code` (and a message matching `message`, when given) */
  thenRejects(code: Rejection['code'], message?: RegExp | string): Rejection;
  /** accepted, with nothing to do */
  thenNothingHappened(): void;
}

export const deciderSpec = <S, C, E extends FleetEvent>(decider: Decider<S, C, E>) => ({
  given: (events: readonly GivenEvent[]) => {
    const { recorded, next } = recordEvents(events);
    const state = foldEvents(decider, recorded);
    return {
      /** the state the given events fold to */
      state,
      when: (command: C): Then<S, E> => {
        const decision = decider.decide(command, state);
        return {
          decision,
          state,
          then: (expected) => {
            expect(decision).toStrictEqual({ ok: true, events: expected });
            if (!decision.ok) throw new Error('unreachable');
            const after = recordDecided(decision.events, command, next).recorded;
            let evolved = state;
            expect(() => {
              evolved = after.reduce((s, e) => decider.evolve(s, e), state);
            }).not.toThrow();
            return evolved;
          },
          thenRejects: (code, message) => {
            expect(decision.ok, 'the command was accepted').toBe(false);
            if (decision.ok) throw new Error('unreachable');
            expect(decision.rejection.code).toBe(code);
            if (message !== undefined) expect(decision.rejection.message).toMatch(message);
            return decision.rejection;
          },
          thenNothingHappened: () => {
            expect(decision).toStrictEqual({ ok: true, events: [] });
          },
        };
      },
    };
  },
});
