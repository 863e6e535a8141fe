/**
 * On whose behalf an agent acted (docs/fleet-protocol.md, "Who did it"): an agent's fact carries
 * the id of the AssignmentIssued it carried out as its `causationId`; that assignment names the
 * person or decision it was issued for (`initiatedBy`, else its own actor). Reads the envelopes
 * from the log (the read model keeps no metadata beyond the actor) and the cause's position from
 * the read model.
 */
import type { EventStore } from '../event-store/event-store.port.js';
import type { RecordedEvent } from '../../lib/index.js';
import type { FleetReadModel } from '../read-model/fleet-read-model.js';

const eventAt = async (store: EventStore, position: number): Promise<RecordedEvent | undefined> => {
  for await (const e of store.readAll({ after: position - 1, limit: 1 }))
    return e.globalPosition === position ? e : undefined;
  return undefined;
};

/** The person or decision behind each event at `positions` (null: nobody else, or unknown). */
export const onBehalfOf = async (
  rm: FleetReadModel,
  store: EventStore,
  positions: readonly number[],
): Promise<ReadonlyMap<number, string | null>> => {
  const causes = new Map<string, Promise<string | null>>();
  const causeOf = (eventId: string): Promise<string | null> => {
    let known = causes.get(eventId);
    if (known === undefined) {
      known = (async () => {
        const row = await rm.db
          .selectFrom('rm_events_v1')
          .select('position')
          .where('event_id', '=', eventId)
          .executeTakeFirst();
        const cause = row === undefined ? undefined : await eventAt(store, row.position);
        if (cause === undefined) return null;
        const by = (cause.data as { initiatedBy?: unknown }).initiatedBy;
        return typeof by === 'string' ? by : cause.metadata.actor;
      })();
      causes.set(eventId, known);
    }
    return known;
  };
  const out = new Map<number, string | null>();
  for (const position of new Set(positions)) {
    const event = await eventAt(store, position);
    const causationId = event?.metadata.causationId;
    out.set(
      position,
      causationId === undefined || !event?.metadata.actor.startsWith('agent:')
        ? null
        : await causeOf(causationId),
    );
  }
  return out;
};

/** `entries` with `onBehalfOf` filled from the log. */
export const withOnBehalfOf = async <E extends { readonly position: number }>(
  rm: FleetReadModel,
  store: EventStore,
  entries: readonly E[],
): Promise<readonly (E & { readonly onBehalfOf: string | null })[]> => {
  const by = await onBehalfOf(
    rm,
    store,
    entries.map((e) => e.position),
  );
  return entries.map((e) => ({ ...e, onBehalfOf: by.get(e.position) ?? null }));
};
