/**
 * On whose behalf an event was recorded (docs/fleet-protocol.md, "Who did it"): a decision an
 * admin took for someone carries it as `metadata.onBehalfOf`; an agent's fact carries
 * the id of the AssignmentIssued it carried out as its `causationId`; that assignment names the
 * person or decision it was issued for (`initiatedBy`, else its own actor). Reads the envelopes
 * from the log: the read model keeps no metadata beyond the actor.
 */
import type { EventStore } from '../event-store/event-store.port.js';
import type { RecordedEvent } from '../../lib/index.js';
import { FleetStreams } from '../../domain/fleet-streams.js';

const eventAt = async (store: EventStore, position: number): Promise<RecordedEvent | undefined> => {
  for await (const e of store.readAll({ after: position - 1, limit: 1 }))
    return e.globalPosition === position ? e : undefined;
  return undefined;
};

/**
 * The person or decision behind each event at `positions` (null: an event not by an agent, or
 * without a cause in the log). The cause is looked up in the node's assignment stream (one event
 * per generation, read once per node).
 */
export const onBehalfOf = async (
  store: EventStore,
  positions: readonly number[],
): Promise<ReadonlyMap<number, string | null>> => {
  const assignments = new Map<string, Promise<ReadonlyMap<string, string>>>();
  const initiatorsOf = (nodeId: string): Promise<ReadonlyMap<string, string>> => {
    let known = assignments.get(nodeId);
    if (known === undefined) {
      known = (async () => {
        const byId = new Map<string, string>();
        let stream: readonly RecordedEvent[] = [];
        try {
          stream = await store.readStream(FleetStreams.assignment(nodeId));
        } catch {
          // a node id the stream naming refuses has no assignment stream
        }
        for (const e of stream) {
          const by = (e.data as { initiatedBy?: unknown }).initiatedBy;
          byId.set(e.id, typeof by === 'string' ? by : e.metadata.actor);
        }
        return byId;
      })();
      assignments.set(nodeId, known);
    }
    return known;
  };
  const out = new Map<number, string | null>();
  for (const position of new Set(positions)) {
    const event = await eventAt(store, position);
    // a decision an admin took for someone (x-tramway-on-behalf-of) names them itself
    const named = event?.metadata.onBehalfOf;
    if (named !== undefined) {
      out.set(position, named);
      continue;
    }
    const causationId = event?.metadata.causationId;
    const nodeId = (event?.data as { nodeId?: unknown } | undefined)?.nodeId;
    out.set(
      position,
      causationId === undefined ||
        typeof nodeId !== 'string' ||
        !event!.metadata.actor.startsWith('agent:')
        ? null
        : ((await initiatorsOf(nodeId)).get(causationId) ?? null),
    );
  }
  return out;
};

/** `entries` with `onBehalfOf` filled from the log. */
export const withOnBehalfOf = async <E extends { readonly position: number }>(
  store: EventStore,
  entries: readonly E[],
): Promise<readonly (E & { readonly onBehalfOf: string | null })[]> => {
  const by = await onBehalfOf(
    store,
    entries.map((e) => e.position),
  );
  return entries.map((e) => ({ ...e, onBehalfOf: by.get(e.position) ?? null }));
};
