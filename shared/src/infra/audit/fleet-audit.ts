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
  /** position of the LinkCreated of the link: link ids are reused after a reboot, this is not */
  readonly linkPosition: number | null;
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

/** At most this many entries per answer unless the caller says otherwise. */
export const DEFAULT_AUDIT_LIMIT = 1000;

/**
 * Merges the newest rows of several queries, each read newest first with `limit`, into the
 * newest `limit` entries of their union, oldest first. Exact: a query that hit its limit is
 * complete only down to its oldest row, so everything older than the highest such bound is
 * dropped before the cut.
 */
const newest = <E extends { readonly position: number }>(
  sets: readonly (readonly E[])[],
  limit: number,
  full: readonly boolean[],
): E[] => {
  const bound = Math.max(
    0,
    ...sets.map((rows, i) => (full[i] ? (rows[rows.length - 1]?.position ?? 0) : 0)),
  );
  const all = sets.flat().filter((e) => e.position >= bound);
  // one reboot disconnects several links at one position: order them by link
  all.sort((a, b) => a.position - b.position || tieBreak(a) - tieBreak(b));
  const unique = dedupe(all);
  return unique.slice(Math.max(0, unique.length - limit));
};

/**
 * Which links (and so programs) connected to and disconnected from `fn` on `nodeId`, when and by
 * whom, plus the link creations that failed on it: the newest `limit` entries, in log order.
 */
export const functionHistory = async (
  rm: FleetReadModel,
  query: { readonly nodeId: string; readonly function: string; readonly limit?: number },
): Promise<readonly FunctionHistoryEntry[]> => {
  const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
  const base = rm.db
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
    .where('c.function', '=', query.function);
  const recent = await base.orderBy('c.created_position', 'desc').limit(limit).execute();
  const oldestRecent = recent[recent.length - 1]?.created_position ?? 0;
  // older connections still open at the window's start disconnect inside the window
  const spanning =
    recent.length === limit
      ? await base
          .where('c.created_position', '<', oldestRecent)
          .where('c.released_position', '>=', oldestRecent)
          .execute()
      : [];
  const failures = await rm.db
    .selectFrom('rm_events_v1')
    .select(['position', 'occurred_at', 'actor', 'program_name', 'policy_name', 'summary'])
    .where('node_id', '=', query.nodeId)
    .where('function', '=', query.function)
    .where('type', '=', 'LinkCreateFailed')
    .orderBy('position', 'desc')
    .limit(limit)
    .execute();

  const linkEntries: FunctionHistoryEntry[] = [];
  for (const c of [...recent, ...spanning]) {
    const common = {
      nodeId: query.nodeId,
      function: query.function,
      linkId: c.link_id,
      linkPosition: c.created_position,
      programId: c.program_id,
      programName: c.program_name,
      policy: c.policy,
      trampoline: `${c.obj_id}:${c.btf_id}`,
      cookie: c.cookie,
    };
    linkEntries.push({
      ...common,
      position: c.created_position,
      at: c.created_at,
      action: 'connected',
      actor: c.created_by,
      detail: null,
    });
    if (c.released_position !== null) {
      linkEntries.push({
        ...common,
        position: c.released_position,
        at: c.released_at ?? '',
        action: 'disconnected',
        actor: c.released_by ?? '',
        detail: c.release_reason,
      });
    }
  }
  const failureEntries = failures.map((f): FunctionHistoryEntry => ({
    position: f.position,
    at: f.occurred_at,
    action: 'attach-failed',
    actor: f.actor,
    nodeId: query.nodeId,
    function: query.function,
    linkId: null,
    linkPosition: null,
    programId: null,
    programName: f.program_name ?? '',
    policy: f.policy_name,
    trampoline: null,
    cookie: null,
    detail: f.summary,
  }));
  const windowStart = recent.length === limit ? oldestRecent : 0;
  return newest([linkEntries.filter((e) => e.position >= windowStart), failureEntries], limit, [
    false,
    failures.length === limit,
  ]).filter((e) => e.position >= windowStart);
};

/**
 * The history of a program by name: loads, unloads, links created (and their releases) and
 * failed link creations, optionally on one node; the newest `limit` events, in log order.
 */
export const programHistory = async (
  rm: FleetReadModel,
  query: { readonly name: string; readonly nodeId?: string; readonly limit?: number },
): Promise<readonly AuditEvent[]> => {
  const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
  let direct = rm.db
    .selectFrom('rm_events_v1')
    .select(EVENT_COLUMNS)
    .where('program_name', '=', query.name);
  if (query.nodeId !== undefined) direct = direct.where('node_id', '=', query.nodeId);
  let releases = rm.db
    .selectFrom('rm_links_v1 as l')
    .innerJoin('rm_events_v1 as e', 'e.position', 'l.released_position')
    .select(EVENT_COLUMNS.map((c) => `e.${c}` as const))
    .where('l.program_name', '=', query.name)
    .where('l.released_position', 'is not', null)
    .orderBy('l.released_position', 'desc'); // index order: no sort, no DISTINCT
  if (query.nodeId !== undefined) releases = releases.where('l.node_id', '=', query.nodeId);
  const a = (await direct.orderBy('position', 'desc').limit(limit).execute()).map(toAuditEvent);
  // One reboot releases several links of a program in one event: read more rows until
  // `limit` distinct events are in hand or the history is exhausted.
  let rows = limit;
  let b: AuditEvent[];
  let exhausted: boolean;
  for (;;) {
    const page = await releases.limit(rows).execute();
    b = dedupe(page.map(toAuditEvent));
    exhausted = page.length < rows;
    if (exhausted || b.length >= limit) break;
    rows *= 2;
  }
  return newest([a, b], limit, [a.length === limit, !exhausted]);
};

/**
 * The history of a policy: applied, removed, its rollouts and their waves, links made for it;
 * the newest `limit` events, in log order.
 */
export const policyHistory = async (
  rm: FleetReadModel,
  query: { readonly name: string; readonly limit?: number },
): Promise<readonly AuditEvent[]> => {
  const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
  const a = (
    await rm.db
      .selectFrom('rm_events_v1')
      .select(EVENT_COLUMNS)
      .where('policy_name', '=', query.name)
      .orderBy('position', 'desc')
      .limit(limit)
      .execute()
  ).map(toAuditEvent);
  const b = (
    await rm.db
      .selectFrom('rm_events_v1')
      .select(EVENT_COLUMNS)
      .where('rollout_id', 'in', (eb) =>
        eb.selectFrom('rm_rollouts_v1').select('rollout_id').where('policy', '=', query.name),
      )
      .orderBy('position', 'desc')
      .limit(limit)
      .execute()
  ).map(toAuditEvent);
  return newest([a, b], limit, [a.length === limit, b.length === limit]);
};

/** Everything `actor` did between `since` and `until` (by occurredAt, both inclusive). */
export const actorActivity = async (
  rm: FleetReadModel,
  query: ActorQuery,
): Promise<readonly AuditEvent[]> => {
  for (const [name, value] of [
    ['since', query.since],
    ['until', query.until],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) {
      throw new RangeError(`${name} ${JSON.stringify(value)} is not an ISO 8601 instant`);
    }
  }
  let q = rm.db.selectFrom('rm_events_v1').select(EVENT_COLUMNS).where('actor', '=', query.actor);
  if (query.since !== undefined) q = q.where('occurred_ms', '>=', Date.parse(query.since));
  if (query.until !== undefined) q = q.where('occurred_ms', '<=', Date.parse(query.until));
  const rows = await q
    .orderBy('occurred_ms')
    .orderBy('position')
    .limit(query.limit ?? DEFAULT_AUDIT_LIMIT)
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

/** Two queries may return the same event (an event row that matches both); keep one. */
const dedupe = <E extends { readonly position: number }>(events: readonly E[]): E[] =>
  events.filter((e, i) => i === 0 || events[i - 1]?.position !== e.position || isFunctionEntry(e));

const tieBreak = (e: object): number =>
  'linkPosition' in e && typeof e.linkPosition === 'number' ? e.linkPosition : 0;

/** Function history has distinct entries at one position only for distinct actions. */
const isFunctionEntry = (e: object): boolean => 'action' in e;
