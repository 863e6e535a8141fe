/**
 * Which functions a node was told to trace, and when (docs/fleet-protocol.md, "The plan is a
 * fact"): per policy version, the plans the coordinator recorded for the node (`PlanRecorded`,
 * with the rollout and who started it), the generations of the node's assignment that carried
 * that version (`AssignmentIssued`), and the plans the agent made on its own with their reason
 * (`NodeReplanned`). Plans come from the read model (rm_plans_v1); assignments from the node's
 * assignment stream, which holds one event per generation and per recorded plan.
 */
import { decodeFleetEventOrThrow } from '../../contracts/index.js';
import { FleetStreams } from '../../domain/fleet-streams.js';
import type { RecordedPlan } from '../../domain/index.js';
import type { TimeTarget } from '../../projections/index.js';
import { isWithin } from '../../projections/index.js';
import type { EventStore } from '../event-store/event-store.port.js';
import type { FleetReadModel } from '../read-model/fleet-read-model.js';

/** A plan of one node for one policy version, as recorded or as the agent made it. */
export interface PlanAuditPlan {
  readonly position: number;
  readonly at: string;
  readonly actor: string;
  readonly source: 'recorded' | 'replanned';
  /** recorded: the rollout it was made for, and who started it */
  readonly rolloutId: string | null;
  readonly rolloutBy: string | null;
  /** replanned: the generation the agent was reconciling, and what changed */
  readonly generation: number | null;
  readonly reason: string | null;
  readonly plan: RecordedPlan;
}

/** A generation of the node's assignment that carried the policy version. */
export interface PlanAuditAssignment {
  readonly position: number;
  readonly at: string;
  readonly generation: number;
  readonly actor: string;
  /** the person or decision it was issued for */
  readonly initiatedBy: string | null;
}

export interface PlanAuditVersion {
  readonly policy: string;
  readonly policyVersion: number;
  /** recorded and replanned plans, in log order; the last is what the node was working to */
  readonly plans: readonly PlanAuditPlan[];
  readonly assignments: readonly PlanAuditAssignment[];
}

export interface PlanAudit {
  readonly nodeId: string;
  /** the last position looked at (the target, or the head of the read model) */
  readonly position: number;
  /** per policy version, by policy name then version */
  readonly versions: readonly PlanAuditVersion[];
}

/**
 * The last position of the read model at `target` (its head when there is none). For an instant,
 * a binary search over positions: the store stamps `recordedAt` in position order.
 */
const positionOf = async (rm: FleetReadModel, target: TimeTarget | undefined): Promise<number> => {
  const head = rm.position();
  if (target === undefined) return head;
  if ('position' in target) return Math.min(target.position, head);
  const limit = Date.parse(target.at);
  const firstFrom = (position: number) =>
    rm.db
      .selectFrom('rm_events_v1')
      .select(['position', 'recorded_at'])
      .where('position', '>=', position)
      .orderBy('position')
      .limit(1)
      .executeTakeFirst();
  let found = 0;
  let low = 1;
  let high = head;
  while (low <= high) {
    const mid = Math.floor((low + high) / 2);
    const row = await firstFrom(mid);
    if (row === undefined || Date.parse(row.recorded_at) > limit) high = mid - 1;
    else {
      found = row.position;
      low = row.position + 1;
    }
  }
  return found;
};

const keyOf = (policy: string, version: number): string => `${policy}\0${version}`;

/**
 * The plans of `nodeId` (of one policy when `policy` is given) up to `target` (default: all of
 * the read model). Rejects with `EventDecodeError` for a malformed event of the node's
 * assignment stream.
 */
export const planHistory = async (
  rm: FleetReadModel,
  store: EventStore,
  query: { readonly nodeId: string; readonly policy?: string; readonly target?: TimeTarget },
): Promise<PlanAudit> => {
  const target = query.target;
  let plans = rm.db
    .selectFrom('rm_plans_v1 as p')
    .innerJoin('rm_events_v1 as e', 'e.position', 'p.position')
    .leftJoin('rm_rollouts_v1 as r', 'r.rollout_id', 'p.rollout_id')
    .select([
      'p.position',
      'p.policy',
      'p.policy_version',
      'p.source',
      'p.rollout_id',
      'p.generation',
      'p.reason',
      'p.plan',
      'p.at',
      'p.actor',
      'r.started_by',
      'e.recorded_at',
    ])
    .where('p.node_id', '=', query.nodeId);
  if (query.policy !== undefined) plans = plans.where('p.policy', '=', query.policy);
  if (target !== undefined && 'position' in target)
    plans = plans.where('p.position', '<=', target.position);
  const rows = (await plans.orderBy('p.position').execute()).filter(
    (r) =>
      target === undefined ||
      isWithin({ globalPosition: r.position, recordedAt: r.recorded_at }, target),
  );

  const versions = new Map<
    string,
    {
      policy: string;
      policyVersion: number;
      plans: PlanAuditPlan[];
      assignments: PlanAuditAssignment[];
    }
  >();
  const versionOf = (policy: string, policyVersion: number) => {
    const key = keyOf(policy, policyVersion);
    let v = versions.get(key);
    if (v === undefined) {
      v = { policy, policyVersion, plans: [], assignments: [] };
      versions.set(key, v);
    }
    return v;
  };
  for (const r of rows)
    versionOf(r.policy, r.policy_version).plans.push({
      position: r.position,
      at: r.at,
      actor: r.actor,
      source: r.source,
      rolloutId: r.rollout_id,
      rolloutBy: r.started_by ?? null,
      generation: r.generation,
      reason: r.reason,
      plan: JSON.parse(r.plan) as RecordedPlan,
    });

  let stream: Awaited<ReturnType<EventStore['readStream']>> = [];
  try {
    stream = await store.readStream(FleetStreams.assignment(query.nodeId));
  } catch (error) {
    // a node id the stream naming refuses has no assignment stream
    if (!(error instanceof RangeError)) throw error;
  }
  for (const recorded of stream) {
    if (target !== undefined && !isWithin(recorded, target)) break;
    if (recorded.type !== 'AssignmentIssued') continue;
    const event = decodeFleetEventOrThrow(recorded);
    if (event.type !== 'AssignmentIssued') continue;
    for (const link of event.data.links) {
      if (query.policy !== undefined && link.policy !== query.policy) continue;
      const v = versionOf(link.policy, link.policyVersion);
      if (v.assignments.at(-1)?.generation === event.data.generation) continue;
      v.assignments.push({
        position: event.globalPosition,
        at: event.metadata.occurredAt,
        generation: event.data.generation,
        actor: event.metadata.actor,
        initiatedBy: event.data.initiatedBy ?? null,
      });
    }
  }
  return {
    nodeId: query.nodeId,
    position: await positionOf(rm, target),
    versions: [...versions.values()].sort(
      (a, b) => a.policy.localeCompare(b.policy) || a.policyVersion - b.policyVersion,
    ),
  };
};
