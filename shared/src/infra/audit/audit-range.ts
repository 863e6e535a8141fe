/**
 * Which part of time the log covers, and the state of the fleet or of one node at a point of it,
 * with a clear refusal for a point outside it ("the log covers … (position 1) to … (position
 * 7005); node web-1 first appears at …"). Used alike by `tramway audit state --db` (a local log)
 * and the coordinator's `GET /v1/audit/state`, so both answer the same thing.
 */
import type { FleetState, NodeView, TimeTarget } from '../../projections/index.js';
import type { EventStore } from '../event-store/event-store.port.js';
import type { FleetReadModel } from '../read-model/fleet-read-model.js';
import { fleetStateAt } from './time-travel.js';

/** One end of the log: a fleet event's position and the log's clock when it was recorded. */
export interface LogPoint {
  readonly position: number;
  readonly recordedAt: string;
}

/** The fleet events of the log (null ends for an empty log). */
export interface LogRange {
  readonly first: LogPoint | null;
  readonly last: LogPoint | null;
  readonly events: number;
}

export type AuditRefusal = {
  readonly ok: false;
  /** OutOfRange: before the log begins or past its end; NotKnown: no such node at that point */
  readonly code: 'OutOfRange' | 'NotKnown';
  readonly message: string;
  readonly range: LogRange;
  /** for NotKnown: where the node first appears in the log (null: never) */
  readonly firstSeen?: LogPoint | null;
};

export type AuditStateAnswer =
  | {
      readonly ok: true;
      readonly position: number;
      readonly recordedAt: string | null;
      readonly state: FleetState;
      /** the node asked for, when one was */
      readonly node?: NodeView;
    }
  | AuditRefusal;

/** The first and last fleet events of the read model (brought up to date by the caller). */
export const logRange = async (rm: FleetReadModel): Promise<LogRange> => {
  const ends = await rm.db
    .selectFrom('rm_events_v1')
    .select((eb) => [
      eb.fn.min('position').as('first'),
      eb.fn.max('position').as('last'),
      eb.fn.countAll<number>().as('events'),
    ])
    .executeTakeFirst();
  const pointAt = async (position: number | null | undefined): Promise<LogPoint | null> => {
    if (position === null || position === undefined) return null;
    const row = await rm.db
      .selectFrom('rm_events_v1')
      .select(['position', 'recorded_at'])
      .where('position', '=', position)
      .executeTakeFirst();
    return row ? { position: row.position, recordedAt: row.recorded_at } : null;
  };
  return {
    first: await pointAt(ends?.first as number | null),
    last: await pointAt(ends?.last as number | null),
    events: Number(ends?.events ?? 0),
  };
};

/** The first fleet event that names `nodeId` (its registration, usually), or null. */
export const nodeFirstSeen = async (
  rm: FleetReadModel,
  nodeId: string,
): Promise<LogPoint | null> => {
  const row = await rm.db
    .selectFrom('rm_events_v1')
    .select(['position', 'recorded_at'])
    .where('node_id', '=', nodeId)
    .orderBy('position')
    .limit(1)
    .executeTakeFirst();
  return row ? { position: row.position, recordedAt: row.recorded_at } : null;
};

/** `the log covers 2026-12-02T10:01:03.000Z (position 1) to … (position 7005)` */
export const rangeText = (range: LogRange): string =>
  range.first === null || range.last === null
    ? 'the log holds no fleet event yet'
    : `the log covers ${range.first.recordedAt} (position ${range.first.position}) to ${range.last.recordedAt} (position ${range.last.position})`;

/**
 * Why `target` lies outside `range`, or undefined when it is inside. A time after the last event
 * is inside (the log as it stands now); a position past the last one is not (it has not happened).
 */
export const outOfRange = (range: LogRange, target: TimeTarget): string | undefined => {
  if (range.first === null || range.last === null) return rangeText(range);
  if ('at' in target) {
    if (Date.parse(target.at) < Date.parse(range.first.recordedAt))
      return `${target.at} is before the log begins: ${rangeText(range)}`;
    return undefined;
  }
  if (target.position < range.first.position)
    return `position ${target.position} is before the log begins: ${rangeText(range)}`;
  if (target.position > range.last.position)
    return `position ${target.position} is past the end of the log: ${rangeText(range)}`;
  return undefined;
};

/**
 * The fleet (or one node) as it stood at `target`, or why not: outside the log's range, or the
 * node not known yet at that point (saying where it first appears). Snapshots cached in the read
 * model make the next look at the past start near it.
 */
export const auditStateAt = async (
  store: EventStore,
  rm: FleetReadModel,
  target: TimeTarget,
  nodeId?: string,
): Promise<AuditStateAnswer> => {
  const range = await logRange(rm);
  const outside = outOfRange(range, target);
  if (outside !== undefined) return { ok: false, code: 'OutOfRange', message: outside, range };
  const { state } = await fleetStateAt(store, target, { snapshots: rm });
  const base = { ok: true as const, position: state.position, recordedAt: state.recordedAt, state };
  if (nodeId === undefined) return base;
  const node = Object.hasOwn(state.nodes, nodeId) ? state.nodes[nodeId] : undefined;
  if (node) return { ...base, node };
  const firstSeen = await nodeFirstSeen(rm, nodeId);
  const recorded = state.recordedAt ? `recorded ${state.recordedAt}` : 'before any event';
  const where =
    'at' in target
      ? `${target.at} (position ${state.position}, ${recorded})`
      : `position ${target.position} (${recorded})`;
  return {
    ok: false,
    code: 'NotKnown',
    message: `node ${nodeId} is not known at ${where}: ${
      firstSeen === null
        ? 'it never appears in the log'
        : `it first appears at ${firstSeen.recordedAt} (position ${firstSeen.position})`
    }; ${rangeText(range)}`,
    range,
    firstSeen,
  };
};
