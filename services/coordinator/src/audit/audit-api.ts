/**
 * The audit over HTTP (docs/fleet-protocol.md, "Audit"): what `tramway audit` reads from a local
 * log file, answered by the coordinator from its own log and a fleet read model (SQLite) it
 * brings up to the head of the log before each answer. Lists are cursor-paged (pagination.ts):
 * the newest `max` entries (default 1000) in log order, `limit` per page. A time outside the log
 * is a 404 `OutOfRange` problem that says which range the log covers.
 */
import type { TimeTarget } from '@tramway/shared/projections';
import type { EventStore, Logger } from '@tramway/shared/infra';
import {
  DEFAULT_AUDIT_LIMIT,
  FleetReadModel,
  actorActivity,
  auditStateAt,
  errorText,
  functionHistory,
  logRange,
  planHistory,
  policyHistory,
  programHistory,
  withOnBehalfOf,
} from '@tramway/shared/infra';
import type { ApiResult } from '../http/api-result.js';
import { ApiErrorCode, failure, success } from '../http/api-result.js';
import { paginate } from '../http/pagination.js';

export interface AuditApi {
  /** first and last fleet events of the log */
  range(): Promise<ApiResult>;
  /** `?at=` or `?position=`, optional `?node=` */
  state(query: URLSearchParams): Promise<ApiResult>;
  /** events by `actor` (with since/until), `policy` or `program` (with node); `type` filters */
  history(query: URLSearchParams): Promise<ApiResult>;
  /** who connected what to a function of `?node=` */
  functionHistory(name: string, query: URLSearchParams): Promise<ApiResult>;
  /** what a node was told to trace: `?policy=`, `?at=` or `?position=` */
  plans(nodeId: string, query: URLSearchParams): Promise<ApiResult>;
  close(): Promise<void>;
}

/** Largest `max` of a history: the newest entries asked of the read model at once. */
export const MAX_AUDIT_ENTRIES = 100_000;

const NAME = /^[A-Za-z0-9_.:@/*-]{1,256}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

type Parsed<T> = { ok: true; value: T } | { ok: false; result: ApiResult };

const invalid = (problems: readonly string[]): { ok: false; result: ApiResult } => ({
  ok: false,
  result: failure(400, ApiErrorCode.InvalidRequest, 'invalid audit query', problems),
});

/** Reads the named query parameters, refusing any other (a typo would widen the answer). */
const params = (
  query: URLSearchParams,
  known: readonly string[],
): Parsed<Readonly<Record<string, string | undefined>>> => {
  const problems: string[] = [];
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of query) {
    if (!known.includes(key)) problems.push(`query.${key}: unknown (known: ${known.join(', ')})`);
    else if (out[key] !== undefined) problems.push(`query.${key}: given twice`);
    else out[key] = value;
  }
  return problems.length > 0 ? invalid(problems) : { ok: true, value: out };
};

const nameProblem = (key: string, value: string | undefined): string | undefined =>
  value === undefined || NAME.test(value)
    ? undefined
    : `query.${key}: 1-256 letters, digits or _.:@/*- (got ${JSON.stringify(value.slice(0, 40))})`;

const instantProblem = (key: string, value: string | undefined): string | undefined =>
  value === undefined || (INSTANT.test(value) && !Number.isNaN(Date.parse(value)))
    ? undefined
    : `query.${key}: an RFC 3339 instant such as 2026-11-24T14:00:00Z (got ${JSON.stringify(value.slice(0, 40))})`;

const countProblem = (key: string, value: string | undefined, max: number): string | undefined =>
  value === undefined || (/^\d{1,9}$/.test(value) && Number(value) <= max)
    ? undefined
    : `query.${key}: an integer from 0 to ${max}`;

/** `?at=` or `?position=` (at most one; `required`: exactly one). */
const targetOf = (
  p: Readonly<Record<string, string | undefined>>,
  required: boolean,
): Parsed<TimeTarget | undefined> => {
  const problems = [
    instantProblem('at', p['at']),
    countProblem('position', p['position'], Number.MAX_SAFE_INTEGER),
  ].filter((x): x is string => x !== undefined);
  if (p['at'] !== undefined && p['position'] !== undefined)
    problems.push('query: give at most one of at and position');
  if (required && p['at'] === undefined && p['position'] === undefined)
    problems.push('query: give one of at (RFC 3339) and position');
  if (problems.length > 0) return invalid(problems);
  if (p['at'] !== undefined)
    return { ok: true, value: { at: new Date(Date.parse(p['at'])).toISOString() } };
  if (p['position'] !== undefined) return { ok: true, value: { position: Number(p['position']) } };
  return { ok: true, value: undefined };
};

const PAGE = ['limit', 'cursor'] as const;
/** zero-padded so that the string order of the cursor keys is the log order */
const pos = (n: number): string => String(n).padStart(16, '0');

export const createAuditApi = (deps: {
  readonly store: EventStore;
  /** the read model's SQLite file (may be the log's own file when it is SQLite) */
  readonly readModelPath: string;
  readonly logger: Logger;
}): AuditApi => {
  let opened: Promise<FleetReadModel> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  /** One audit query at a time, on a read model caught up with the log. */
  const withReadModel = (work: (rm: FleetReadModel) => Promise<ApiResult>): Promise<ApiResult> => {
    const run = async (): Promise<ApiResult> => {
      try {
        opened ??= FleetReadModel.open({ path: deps.readModelPath });
        const rm = await opened;
        if (rm.position() === 0) await rm.rebuild(deps.store);
        else await rm.catchUp(deps.store);
        return await work(rm);
      } catch (error) {
        deps.logger.error('audit query failed', { error: errorText(error) });
        return failure(500, ApiErrorCode.Internal, `the audit failed: ${errorText(error)}`);
      }
    };
    const next = queue.then(run, run);
    queue = next;
    return next;
  };

  /** The newest `max` entries, paged by `limit` and `cursor`. */
  const pagedList = <T>(
    p: Readonly<Record<string, string | undefined>>,
    items: readonly T[],
    keyOf: (item: T) => string,
  ): ApiResult => {
    const page = new URLSearchParams();
    for (const k of PAGE) if (p[k] !== undefined) page.set(k, p[k]);
    return paginate(items, keyOf, page);
  };
  const maxOf = (p: Readonly<Record<string, string | undefined>>): number =>
    p['max'] === undefined ? DEFAULT_AUDIT_LIMIT : Math.max(1, Number(p['max']));

  return {
    range: () => withReadModel(async (rm) => success(await logRange(rm))),

    state: async (query) => {
      const p = params(query, ['at', 'position', 'node']);
      if (!p.ok) return p.result;
      const node = nameProblem('node', p.value['node']);
      if (node) return invalid([node]).result;
      const target = targetOf(p.value, true);
      if (!target.ok) return target.result;
      return withReadModel(async (rm) => {
        const answer = await auditStateAt(deps.store, rm, target.value!, p.value['node']);
        if (!answer.ok)
          return failure(
            404,
            answer.code === 'OutOfRange' ? 'OutOfRange' : 'NotFound',
            answer.message,
            {
              range: answer.range,
              ...(answer.firstSeen === undefined ? {} : { firstSeen: answer.firstSeen }),
            },
          );
        return success(
          answer.node === undefined
            ? { position: answer.position, recordedAt: answer.recordedAt, state: answer.state }
            : { position: answer.position, recordedAt: answer.recordedAt, node: answer.node },
        );
      });
    },

    history: async (query) => {
      const p = params(query, [
        'actor',
        'policy',
        'program',
        'node',
        'type',
        'since',
        'until',
        'max',
        ...PAGE,
      ]);
      if (!p.ok) return p.result;
      const v = p.value;
      const problems = [
        ...(['actor', 'policy', 'program', 'node', 'type'] as const).map((k) =>
          nameProblem(k, v[k]),
        ),
        instantProblem('since', v['since']),
        instantProblem('until', v['until']),
        countProblem('max', v['max'], MAX_AUDIT_ENTRIES),
      ].filter((x): x is string => x !== undefined);
      const by = (['actor', 'policy', 'program'] as const).filter((k) => v[k] !== undefined);
      if (by.length !== 1) problems.push('query: give exactly one of actor, policy and program');
      if ((v['since'] !== undefined || v['until'] !== undefined) && v['actor'] === undefined)
        problems.push('query: since and until go with actor');
      if (
        v['node'] !== undefined &&
        v['program'] === undefined &&
        v['actor'] === undefined &&
        v['policy'] === undefined
      )
        problems.push('query.node: goes with program, policy or actor');
      if (
        v['since'] !== undefined &&
        v['until'] !== undefined &&
        Date.parse(v['since']) > Date.parse(v['until'])
      )
        problems.push(`query: since ${v['since']} is after until ${v['until']}`);
      if (problems.length > 0) return invalid(problems).result;
      const limit = maxOf(v);
      return withReadModel(async (rm) => {
        const events =
          v['actor'] !== undefined
            ? await actorActivity(rm, {
                actor: v['actor'],
                limit,
                ...(v['since'] === undefined ? {} : { since: v['since'] }),
                ...(v['until'] === undefined ? {} : { until: v['until'] }),
              })
            : v['policy'] !== undefined
              ? await policyHistory(rm, { name: v['policy'], limit })
              : await programHistory(rm, {
                  name: v['program']!,
                  limit,
                  ...(v['node'] === undefined ? {} : { nodeId: v['node'] }),
                });
        const filtered = events.filter(
          (e) =>
            (v['type'] === undefined || e.type === v['type']) &&
            (v['node'] === undefined || e.nodeId === v['node']),
        );
        const withBy = await withOnBehalfOf(deps.store, filtered);
        return pagedList(v, withBy, (e) => pos(e.position));
      });
    },

    functionHistory: async (name, query) => {
      const p = params(query, ['node', 'max', ...PAGE]);
      if (!p.ok) return p.result;
      const v = p.value;
      const problems = [
        nameProblem('function', name),
        nameProblem('node', v['node']),
        countProblem('max', v['max'], MAX_AUDIT_ENTRIES),
        v['node'] === undefined
          ? 'query.node: required (the node whose function it is)'
          : undefined,
      ].filter((x): x is string => x !== undefined);
      if (problems.length > 0) return invalid(problems).result;
      return withReadModel(async (rm) => {
        const entries = await withOnBehalfOf(
          deps.store,
          await functionHistory(rm, { nodeId: v['node']!, function: name, limit: maxOf(v) }),
        );
        // several entries share a position (one reboot releases several links): the link breaks the tie
        return pagedList(v, entries, (e) => `${pos(e.position)}:${pos(e.linkId ?? 0)}:${e.action}`);
      });
    },

    plans: async (nodeId, query) => {
      const p = params(query, ['policy', 'at', 'position']);
      if (!p.ok) return p.result;
      const problems = [
        nameProblem('node', nodeId),
        nameProblem('policy', p.value['policy']),
      ].filter((x): x is string => x !== undefined);
      if (problems.length > 0) return invalid(problems).result;
      const target = targetOf(p.value, false);
      if (!target.ok) return target.result;
      return withReadModel(async (rm) =>
        success(
          await planHistory(rm, deps.store, {
            nodeId,
            ...(p.value['policy'] === undefined ? {} : { policy: p.value['policy'] }),
            ...(target.value === undefined ? {} : { target: target.value }),
          }),
        ),
      );
    },

    close: async () => {
      const rm = await opened?.catch(() => undefined);
      await queue.catch(() => undefined);
      await rm?.close();
    },
  };
};
