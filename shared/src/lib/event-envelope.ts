/**
 * The envelope every event in the log carries (ARCHITECTURE.md, "Events and the log").
 * Pure types: the domain, projections, contracts and stores all speak in these.
 */

/** Who or what caused an event, when, and as part of which flow. */
export interface EventMetadata {
  /** when the fact happened (ISO 8601, UTC), as told by whoever observed it */
  readonly occurredAt: string;
  /** who did it: `user:alice`, `agent:node-17`, `coordinator` */
  readonly actor: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /**
   * the person an admin acted for (`x-tramway-on-behalf-of`); `actor` stays the authenticated
   * identity (docs/security.md, "On behalf of")
   */
  readonly onBehalfOf?: string;
}

/** An event about to be appended. `id` is the idempotency key. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  readonly id: string;
  readonly type: Type;
  readonly schemaVersion: number;
  readonly data: Data;
  readonly metadata: EventMetadata;
}

/** An event as the log holds it. */
export interface RecordedEvent<Type extends string = string, Data = unknown> extends NewEvent<
  Type,
  Data
> {
  readonly streamId: string;
  /** 1-based version of this event within its stream */
  readonly streamVersion: number;
  /** total order over the whole log: strictly increasing, not necessarily dense */
  readonly globalPosition: number;
  /** when the log stored it (ISO 8601, UTC) */
  readonly recordedAt: string;
}
