/**
 * The console's read endpoints (viewer role; docs/fleet-protocol.md, "Console read endpoints"):
 * the fleet grid, a node, a function, the rollouts, and the log as a paged timeline, each at the
 * live position or, with `?at=<position>`, as the fleet stood then (time travel: the log folded up
 * to that position). Every answer is bounded: lists are paged (at most `MAX_PAGE_LIMIT` items), a
 * timeline page scans at most `MAX_SCAN` events of the log, and rebuilding a past state runs one
 * at a time, starting from the last state rebuilt when the target is after it.
 */
import type { FleetState, FleetStateCache } from '@tramway/shared/projections';
import { decodeFleetEvent, isFleetEventType } from '@tramway/shared/contracts';
import type { EventStore } from '@tramway/shared/infra';
import { fleetStateAt } from '@tramway/shared/infra';
import { ownEntry } from '@tramway/shared/lib';
import type { FleetCoordinator } from '../fleet-coordinator.js';
import type { ApiResult } from './api-result.js';
import { ApiErrorCode, failure, success } from './api-result.js';
import type { Caller, RouteRequest } from './http-api.js';
import type { ConsoleEvent, NodeLiveness } from './console-views.js';
import {
  describeEvent,
  fleetRows,
  functionUsage,
  matchesLabels,
  nodeDetail,
  rolloutSummary,
} from './console-views.js';
import { MAX_PAGE_LIMIT, paginate } from './pagination.js';

/** Events of the log one timeline page reads at most, matching or not. */
export const MAX_SCAN = 50_000;
/** Events per timeline page unless `limit` says otherwise. */
export const DEFAULT_EVENTS_LIMIT = 200;
/** Far past any start time (ms): `NEWEST_FIRST - startedAt` orders rollouts newest first. */
const NEWEST_FIRST = 9_000_000_000_000_000;

const POSITION = /^[0-9]{1,15}$/;
const NAME = /^[A-Za-z0-9._:@/-]{1,253}$/;

type Query = URLSearchParams;
type Parsed<T> = { ok: true; value: T } | { ok: false; result: ApiResult };

const invalid = (problem: string): { ok: false; result: ApiResult } => ({
  ok: false,
  result: failure(400, ApiErrorCode.InvalidRequest, 'invalid query', [problem]),
});

const positionParam = (query: Query, name: string): Parsed<number | undefined> => {
  const text = query.get(name);
  if (text === null) return { ok: true, value: undefined };
  if (!POSITION.test(text)) return invalid(`query.${name}: a log position (an integer >= 0)`);
  return { ok: true, value: Number(text) };
};

/** `?label=k=v,k2`: every pair must match (`k2` alone: has the label). */
const labelParam = (query: Query): Parsed<(readonly [string, string | undefined])[]> => {
  const text = query.get('label');
  if (text === null || text.trim() === '') return { ok: true, value: [] };
  if (text.length > 1000) return invalid('query.label: at most 1000 characters');
  const pairs = text.split(',').map((p) => p.trim());
  const out: (readonly [string, string | undefined])[] = [];
  for (const p of pairs) {
    const [k, ...rest] = p.split('=');
    if (k === undefined || !/^[A-Za-z0-9._/-]{1,63}$/.test(k))
      return invalid(`query.label: "${p}" is not key=value or key (letters, digits, ._/-)`);
    out.push([k, rest.length === 0 ? undefined : rest.join('=')]);
  }
  return { ok: true, value: out };
};

const listParam = (query: Query, name: string): Parsed<ReadonlySet<string> | undefined> => {
  const text = query.get(name);
  if (text === null || text === '') return { ok: true, value: undefined };
  const items = text.split(',').map((t) => t.trim());
  if (items.length > 50 || items.some((i) => !NAME.test(i)))
    return invalid(`query.${name}: up to 50 comma-separated names (letters, digits, ._:@/-)`);
  return { ok: true, value: new Set(items) };
};

/**
 * The log's state at a past position, one rebuild at a time, from the nearest state known before
 * it: the last one built, or one the coordinator keeps at intervals (`pastStates`, which the
 * rebuild also fills on its way), so moving the slider back folds at most one interval.
 */
const createTimeTravel = (store: EventStore, pastStates: FleetStateCache) => {
  let last: FleetState | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  return (position: number): Promise<FleetState> => {
    const run = queue.then(async () => {
      const from = last !== undefined && last.position <= position ? last : undefined;
      const { state } = await fleetStateAt(
        store,
        { position },
        {
          ...(from === undefined ? {} : { from }),
          snapshots: pastStates,
          snapshotEvery: pastStates.every(),
        },
      );
      last = state;
      return state;
    });
    queue = run.catch(() => undefined);
    return run;
  };
};

/** The events of the log after `after` that `keep`, at most `limit`, scanning at most `scan`. */
export const readTimeline = async (
  store: EventStore,
  options: {
    readonly after: number;
    readonly limit: number;
    readonly scan: number;
    readonly keep: (e: ConsoleEvent, data: unknown) => boolean;
  },
): Promise<{ items: ConsoleEvent[]; lastScanned: number; scanned: number }> => {
  const items: ConsoleEvent[] = [];
  let lastScanned = options.after;
  let scanned = 0;
  for await (const recorded of store.readAll({ after: options.after, limit: options.scan })) {
    scanned += 1;
    lastScanned = recorded.globalPosition;
    if (!isFleetEventType(recorded.type)) continue;
    const decoded = decodeFleetEvent(recorded);
    if (!decoded.ok) continue;
    const event = describeEvent(decoded.value);
    if (options.keep(event, decoded.value.data)) items.push(event);
    if (items.length >= options.limit) break;
  }
  return { items, lastScanned, scanned };
};

/** Whether `fn` is named anywhere in the event's data (a link's or plan's targets, a failure). */
const mentions = (data: unknown, fn: string): boolean =>
  JSON.stringify(data).includes(JSON.stringify(fn));

type ConsoleHandler = (
  req: RouteRequest,
  params: readonly string[],
  caller: Caller,
) => Promise<ApiResult> | ApiResult;

/** The console's operations of the route table (api-routes.ts), by operationId. */
export const createConsoleHandlers = (coordinator: FleetCoordinator) => {
  const travel = createTimeTravel(coordinator.history, coordinator.pastStates);
  const liveness = (): ((nodeId: string) => NodeLiveness | undefined) => {
    const listed = coordinator.api.nodes();
    const byId = new Map<string, NodeLiveness>();
    if (listed.status === 200 && Array.isArray(listed.body))
      for (const n of listed.body as (NodeLiveness & { nodeId: string })[])
        byId.set(n.nodeId, { lastSeen: n.lastSeen, stale: n.stale, admission: n.admission });
    return (id) => byId.get(id);
  };
  /** The state at `?at=` (the live one when absent or at or past the head). */
  const stateAt = async (
    query: Query,
  ): Promise<Parsed<{ state: FleetState; live: boolean; head: number }>> => {
    const at = positionParam(query, 'at');
    if (!at.ok) return at;
    const live = coordinator.fleet();
    const head = Math.max(live.position, await coordinator.history.headPosition());
    if (at.value === undefined || at.value >= head)
      return { ok: true, value: { state: live, live: true, head } };
    return { ok: true, value: { state: await travel(at.value), live: false, head } };
  };
  const q = (req: RouteRequest): Query => req.query ?? new URLSearchParams();
  /** a handler, typed */
  const h = (f: ConsoleHandler): ConsoleHandler => f;

  return {
    // who the console signed in as: it shows the operator's buttons only to those who may use them
    consoleWhoAmI: h((_req, _p, { identity, by }) =>
      success({
        actor: identity.actor,
        role: identity.role,
        via: identity.via,
        onBehalfOf: by.onBehalfOf ?? null,
      }),
    ),
    consoleFleet: h(async (req) => {
      const query = q(req);
      const labels = labelParam(query);
      if (!labels.ok) return labels.result;
      const at = await stateAt(query);
      if (!at.ok) return at.result;
      const { state, live, head } = at.value;
      const rows = fleetRows(state, live ? liveness() : () => undefined).filter((r) =>
        matchesLabels(r.labels, labels.value),
      );
      const page = paginate(rows, (r) => r.nodeId, query);
      if (page.status !== 200) return page;
      return success({
        position: state.position,
        head,
        live,
        recordedAt: state.recordedAt,
        total: rows.length,
        policies: Object.values(state.policies)
          .map((p) => ({ name: p.name, version: p.version }))
          .sort((a, b) => (a.name < b.name ? -1 : 1)),
        ...(page.body as object),
      });
    }),
    consoleNode: h(async (req, [id]) => {
      const at = await stateAt(q(req));
      if (!at.ok) return at.result;
      const { state, live, head } = at.value;
      const node = ownEntry(state.nodes, id!);
      if (node === undefined || !node.registered)
        return failure(404, ApiErrorCode.NotFound, `no node ${id} at position ${state.position}`);
      return success({
        position: state.position,
        head,
        live,
        ...(live ? { liveness: liveness()(id!) ?? null } : { liveness: null }),
        ...nodeDetail(node, state),
      });
    }),
    consoleFunction: h(async (req, [name]) => {
      if (!NAME.test(name!))
        return failure(400, ApiErrorCode.InvalidRequest, 'invalid function name', [
          'path.name: 1-253 letters, digits and ._:@/-',
        ]);
      const at = await stateAt(q(req));
      if (!at.ok) return at.result;
      const { state, live, head } = at.value;
      const usage = functionUsage(state, name!);
      const page = paginate(
        usage,
        (u) => `${u.nodeId}\u0000${String(u.linkId).padStart(12, '0')}`,
        q(req),
      );
      if (page.status !== 200) return page;
      return success({
        function: name,
        position: state.position,
        head,
        live,
        ...(page.body as object),
      });
    }),
    consoleRollouts: h(async (req) => {
      const at = await stateAt(q(req));
      if (!at.ok) return at.result;
      const { state, live, head } = at.value;
      // newest first: the page key puts later starts before earlier ones (then the id)
      const rows = Object.values(state.rollouts).map((r) => ({
        key: `${String(NEWEST_FIRST - Date.parse(r.startedAt)).padStart(16, '0')}:${r.rolloutId}`,
        rollout: r,
      }));
      const page = paginate(rows, (row) => row.key, q(req));
      if (page.status !== 200) return page;
      const { items, nextCursor } = page.body as {
        items: readonly (typeof rows)[number][];
        nextCursor: string | null;
      };
      return success({
        position: state.position,
        head,
        live,
        items: items.map(({ rollout: r }) => ({
          ...rolloutSummary(r, state),
          phase: live ? (coordinator.rolloutPhase(r.rolloutId) ?? null) : null,
        })),
        nextCursor,
      });
    }),
    consoleEvents: h(async (req) => {
      const query = q(req);
      const after = positionParam(query, 'after');
      if (!after.ok) return after.result;
      const limitText = query.get('limit');
      const limit = limitText === null ? DEFAULT_EVENTS_LIMIT : Number(limitText);
      if (
        limitText !== null &&
        !(/^[0-9]{1,4}$/.test(limitText) && limit >= 1 && limit <= MAX_PAGE_LIMIT)
      )
        return invalid(`query.limit: an integer from 1 to ${MAX_PAGE_LIMIT}`).result;
      const filters = {
        type: listParam(query, 'type'),
        node: listParam(query, 'node'),
        policy: listParam(query, 'policy'),
        actor: listParam(query, 'actor'),
      };
      for (const f of Object.values(filters)) if (!f.ok) return f.result;
      const fn = query.get('function');
      if (fn !== null && !NAME.test(fn))
        return invalid('query.function: 1-253 letters, digits and ._:@/-').result;
      const set = (p: Parsed<ReadonlySet<string> | undefined>) => (p.ok ? p.value : undefined);
      const [types, nodes, policies, actors] = [
        set(filters.type),
        set(filters.node),
        set(filters.policy),
        set(filters.actor),
      ];
      const head = await coordinator.history.headPosition();
      const { items, lastScanned, scanned } = await readTimeline(coordinator.history, {
        after: after.value ?? 0,
        limit,
        scan: MAX_SCAN,
        keep: (e, data) =>
          (types === undefined || types.has(e.type)) &&
          (nodes === undefined || (e.nodeId !== null && nodes.has(e.nodeId))) &&
          (policies === undefined || (e.policy !== null && policies.has(e.policy))) &&
          (actors === undefined || actors.has(e.actor)) &&
          (fn === null || e.function === fn || mentions(data, fn)),
      });
      const last = items.length >= limit ? items[items.length - 1]!.position : lastScanned;
      return success({
        items,
        head,
        scanned,
        // where the next page starts (`?after=`); null once the head is reached
        nextAfter: last >= head ? null : last,
      });
    }),
  };
};
