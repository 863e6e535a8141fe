/**
 * Audit queries over the fleet read model (ARCHITECTURE.md, "Who uses it": history of a
 * function, a program, a policy, an actor). Every answer comes from the log through the read
 * model, ordered by global position. Indexes: migrations/read-model/0001_*.sql.
 */
import { sql } from 'kysely';
import type { FleetReadModel } from '../read-model/fleet-read-model.js';

/** One event of the log as the audit shows it. */
export interface AuditEvent {
  readonly position: number;
  readonly type: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly actor: string;
  readonly streamId: string;
  readonly nodeId: string | null;
  readonly summary: string;
}

export type FunctionAction = 'connected' | 'disconnected' | 'attach-failed';

/** One change of what sits on a function of a node. */
export interface FunctionHistoryEntry {
  readonly position: number;
  readonly at: string;
  readonly action: FunctionAction;
  readonly actor: string;
  readonly nodeId: string;
  readonly function: string;
  readonly linkId: number | null;
  readonly programId: number | null;
  readonly programName: string;
  readonly policy: string | null;
  /** the trampoline key `objId:btfId` (null for a failure that was not resolved) */
  readonly trampoline: string | null;
  readonly cookie: string | null;
  /** the release reason, or the failure's summary */
  readonly detail: string | null;
}

export interface ActorQuery {
  readonly actor: string;
  /** inclusive lower bound on occurredAt, ISO 8601 */
  readonly since?: string;
  /** inclusive upper bound on occurredAt, ISO 8601 */
  readonly until?: string;
  /** at most this many events (default 1000) */
  readonly limit?: number;
}

const EVENT_COLUMNS = [
  'position',
  'type',
  'occurred_at',
  'recorded_at',
  'actor',
  'stream_id',
  'node_id',
  'summary',
] as const;

type EventRow = {
  position: number;
  type: string;
  occurred_at: string;
  recorded_at: string;
  actor: string;
  stream_id: string;
  node_id: string | null;
  summary: string;
};

const toAuditEvent = (r: EventRow): AuditEvent => ({
  position: r.position,
  type: r.type,
  occurredAt: r.occurred_at,
  recordedAt: r.recorded_at,
  actor: r.actor,
  streamId: r.stream_id,
  nodeId: r.node_id,
  summary: r.summary,
});

/**
 * Which links (and so programs) connected to and disconnected from `fn` on `nodeId`, when and by
 * whom, plus the link creations that failed on it, in log order.
 */
export const functionHistory = async (
  rm: FleetReadModel,
  query: { readonly nodeId: string; readonly function: string },
): Promise<readonly FunctionHistoryEntry[]> => {
  const connections = await rm.db
    .selectFrom('rm_connections_v1 as c')
    .innerJoin('rm_links_v1 as l', 'l.created_position', 'c.created_position')
    .select([
      'c.created_position',
      'c.released_position',
      'c.released_at',
      'c.released_by',
      'c.link_id',
      'c.obj_id',
      'c.btf_id',
      'c.cookie',
      'l.program_id',
      'l.program_name',
      'l.policy',
      'l.created_at',
      'l.created_by',
      'l.release_reason',
    ])
    .where('c.node_id', '=', query.nodeId)
    .where('c.function', '=', query.function)
    .orderBy('c.created_position')
    .execute();
  const failures = await rm.db
    .selectFrom('rm_events_v1')
    .select(['position', 'occurred_at', 'actor', 'program_name', 'policy_name', 'summary'])
    .where('node_id', '=', query.nodeId)
    .where('function', '=', query.function)
    .where('type', '=', 'LinkCreateFailed')
    .orderBy('position')
    .execute();

  const entries: FunctionHistoryEntry[] = [];
  for (const c of connections) {
    const common = {
      nodeId: query.nodeId,
      function: query.function,
      linkId: c.link_id,
      programId: c.program_id,
      programName: c.program_name,
      policy: c.policy,
      trampoline: `${c.obj_id}:${c.btf_id}`,
      cookie: c.cookie,
    };
    entries.push({
      ...common,
      position: c.created_position,
      at: c.created_at,
      action: 'connected',
      actor: c.created_by,
      detail: null,
    });
    if (c.released_position !== null) {
      entries.push({
        ...common,
        position: c.released_position,
        at: c.released_at ?? '',
        action: 'disconnected',
        actor: c.released_by ?? '',
        detail: c.release_reason,
      });
    }
  }
  for (const f of failures) {
    entries.push({
      position: f.position,
      at: f.occurred_at,
      action: 'attach-failed',
      actor: f.actor,
      nodeId: query.nodeId,
      function: query.function,
      linkId: null,
      programId: null,
      programName: f.program_name ?? '',
      policy: f.policy_name,
      trampoline: null,
      cookie: null,
      detail: f.summary,
    });
  }
  return entries.sort((a, b) => a.position - b.position);
};

/**
 * The history of a program by name: loads, unloads, links created (and their releases) and
 * failed link creations, optionally on one node.
 */
export const programHistory = async (
  rm: FleetReadModel,
  query: { readonly name: string; readonly nodeId?: string },
): Promise<readonly AuditEvent[]> => {
  let direct = rm.db
    .selectFrom('rm_events_v1')
    .select(EVENT_COLUMNS)
    .where('program_name', '=', query.name);
  if (query.nodeId !== undefined) direct = direct.where('node_id', '=', query.nodeId);
  let releases = rm.db
    .selectFrom('rm_links_v1 as l')
    .innerJoin('rm_events_v1 as e', 'e.position', 'l.released_position')
    .select(EVENT_COLUMNS.map((c) => `e.${c}` as const))
    .where('l.program_name', '=', query.name);
  if (query.nodeId !== undefined) releases = releases.where('l.node_id', '=', query.nodeId);
  const rows = await direct.unionAll(releases).orderBy('position').execute();
  return dedupe(rows.map(toAuditEvent));
};

/** The history of a policy: applied, removed, its rollouts and their waves, links made for it. */
export const policyHistory = async (
  rm: FleetReadModel,
  query: { readonly name: string },
): Promise<readonly AuditEvent[]> => {
  const rows = await rm.db
    .selectFrom('rm_events_v1')
    .select(EVENT_COLUMNS)
    .where('policy_name', '=', query.name)
    .unionAll(
      rm.db
        .selectFrom('rm_rollouts_v1 as r')
        .innerJoin('rm_events_v1 as e', 'e.rollout_id', 'r.rollout_id')
        .select(EVENT_COLUMNS.map((c) => `e.${c}` as const))
        .where('r.policy', '=', query.name),
    )
    .orderBy('position')
    .execute();
  return dedupe(rows.map(toAuditEvent));
};

/** Everything `actor` did between `since` and `until` (by occurredAt, both inclusive). */
export const actorActivity = async (
  rm: FleetReadModel,
  query: ActorQuery,
): Promise<readonly AuditEvent[]> => {
  let q = rm.db.selectFrom('rm_events_v1').select(EVENT_COLUMNS).where('actor', '=', query.actor);
  if (query.since !== undefined) q = q.where('occurred_ms', '>=', Date.parse(query.since));
  if (query.until !== undefined) q = q.where('occurred_ms', '<=', Date.parse(query.until));
  const rows = await q
    .orderBy('occurred_ms')
    .orderBy('position')
    .limit(query.limit ?? 1000)
    .execute();
  return rows.map(toAuditEvent);
};

/** The distinct actors of the log with their event counts (for discovery in the CLI). */
export const actors = async (
  rm: FleetReadModel,
): Promise<readonly { readonly actor: string; readonly events: number }[]> =>
  rm.db
    .selectFrom('rm_events_v1')
    .select(['actor', sql<number>`count(*)`.as('events')])
    .groupBy('actor')
    .orderBy('actor')
    .execute();

/** A union may list the same event twice (an event row that also matches the join). */
const dedupe = (events: readonly AuditEvent[]): AuditEvent[] =>
  events.filter((e, i) => i === 0 || events[i - 1]?.position !== e.position);
