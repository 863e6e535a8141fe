/**
 * The fleet read model as row changes (STYLE.md §4 "Projections"): `toRowChanges(event)` says,
 * as data, what one event does to the SQLite tables of migrations/read-model. It needs no state:
 * history rows are never deleted, a release or a reboot closes the open rows of a link.
 *
 * Table names carry their version (`_v1`); a change of shape is a new table plus a rebuild.
 * Kept in one file over ~400 lines: one exhaustive switch over every fleet event, so that a new
 * event cannot be forgotten (the `assertNever` default).
 */
import { assertNever } from '../lib/assert-never.js';
import type { FleetRecordedEvent } from '../domain/fleet.events.js';

export const READ_MODEL_TABLES = {
  events: 'rm_events_v1',
  nodes: 'rm_nodes_v1',
  modules: 'rm_modules_v1',
  programs: 'rm_programs_v1',
  links: 'rm_links_v1',
  connections: 'rm_connections_v1',
  policies: 'rm_policies_v1',
  rollouts: 'rm_rollouts_v1',
  assignments: 'rm_assignments_v1',
  plans: 'rm_plans_v1',
  checkpoints: 'rm_checkpoints_v1',
} as const;
export type ReadModelTable = (typeof READ_MODEL_TABLES)[keyof typeof READ_MODEL_TABLES];

export type Cell = string | number | null;
export type Row = Readonly<Record<string, Cell>>;

/**
 * One change to one table. In `where`, a `null` value means `IS NULL`. An upsert inserts
 * `key` + `values`, or updates `values` of the row with that key (columns absent from
 * `values` keep their value, or their SQL default on insert).
 */
export type RowChange =
  | { readonly op: 'insert'; readonly table: ReadModelTable; readonly values: Row }
  | {
      readonly op: 'upsert';
      readonly table: ReadModelTable;
      readonly key: Row;
      readonly values: Row;
    }
  | {
      readonly op: 'update';
      readonly table: ReadModelTable;
      readonly where: Row;
      readonly set: Row;
    }
  | { readonly op: 'delete'; readonly table: ReadModelTable; readonly where: Row };

const T = READ_MODEL_TABLES;

interface EventKeys {
  readonly nodeId?: string;
  readonly programName?: string;
  readonly policyName?: string;
  readonly rolloutId?: string;
  readonly linkId?: number;
  readonly function?: string;
}

const eventRow = (event: FleetRecordedEvent, keys: EventKeys, summary: string): RowChange => ({
  op: 'insert',
  table: T.events,
  values: {
    position: event.globalPosition,
    event_id: event.id,
    type: event.type,
    stream_id: event.streamId,
    actor: event.metadata.actor,
    occurred_at: event.metadata.occurredAt,
    occurred_ms: Date.parse(event.metadata.occurredAt),
    recorded_at: event.recordedAt,
    node_id: keys.nodeId ?? null,
    program_name: keys.programName ?? null,
    policy_name: keys.policyName ?? null,
    rollout_id: keys.rolloutId ?? null,
    link_id: keys.linkId ?? null,
    function: keys.function ?? null,
    summary,
  },
});

/** Closes the open rows of one link (or of every link of a node when `linkId` is undefined). */
const closeLinks = (
  event: FleetRecordedEvent,
  nodeId: string,
  linkId: number | undefined,
  reason: string,
): RowChange[] => {
  const where = linkId === undefined ? { node_id: nodeId } : { node_id: nodeId, link_id: linkId };
  const closed = {
    released_position: event.globalPosition,
    released_at: event.metadata.occurredAt,
    released_by: event.metadata.actor,
  };
  return [
    {
      op: 'update',
      table: T.links,
      where: { ...where, released_position: null },
      set: { ...closed, release_reason: reason },
    },
    {
      op: 'update',
      table: T.connections,
      where: { ...where, released_position: null },
      set: closed,
    },
  ];
};

/** The row changes of one event, in the order they must be applied. */
export const toRowChanges = (event: FleetRecordedEvent): readonly RowChange[] => {
  const at = event.metadata.occurredAt;
  const position = event.globalPosition;
  switch (event.type) {
    case 'NodeRegistered': {
      const d = event.data;
      return [
        eventRow(event, { nodeId: d.nodeId }, `registered (${d.profile}, ${d.kernelRelease})`),
        {
          op: 'upsert',
          table: T.nodes,
          key: { node_id: d.nodeId },
          values: {
            registered: 1,
            labels: JSON.stringify(d.labels),
            boot_id: d.bootId,
            kernel_release: d.kernelRelease,
            profile: d.profile,
            btf_fingerprint: d.btfFingerprint,
            registered_at: at,
            updated_position: position,
          },
        },
      ];
    }
    case 'NodeBooted': {
      const d = event.data;
      return [
        eventRow(event, { nodeId: d.nodeId }, `booted (boot id ${d.bootId})`),
        {
          op: 'upsert',
          table: T.nodes,
          key: { node_id: d.nodeId },
          values: { boot_id: d.bootId, booted_at: at, updated_position: position },
        },
        ...closeLinks(event, d.nodeId, undefined, 'node-booted'),
        { op: 'delete', table: T.programs, where: { node_id: d.nodeId } },
        { op: 'delete', table: T.modules, where: { node_id: d.nodeId } },
      ];
    }
    case 'KernelProfileDetected': {
      const d = event.data;
      return [
        eventRow(event, { nodeId: d.nodeId }, `kernel profile ${d.profile}, path ${d.attachPath}`),
        {
          op: 'upsert',
          table: T.nodes,
          key: { node_id: d.nodeId },
          values: {
            profile: d.profile,
            attach_path: d.attachPath,
            btf_fingerprint: d.btfFingerprint,
            updated_position: position,
          },
        },
      ];
    }
    case 'ModuleLoaded': {
      const d = event.data;
      return [
        eventRow(event, { nodeId: d.nodeId }, `module ${d.module} loaded (btf obj ${d.btfObjId})`),
        {
          op: 'upsert',
          table: T.modules,
          key: { node_id: d.nodeId, module: d.module },
          values: { btf_obj_id: d.btfObjId, loaded_at: at, loaded_position: position },
        },
      ];
    }
    case 'ModuleUnloaded': {
      const d = event.data;
      return [
        eventRow(event, { nodeId: d.nodeId }, `module ${d.module} unloaded`),
        { op: 'delete', table: T.modules, where: { node_id: d.nodeId, module: d.module } },
      ];
    }
    case 'ProgramLoaded': {
      const d = event.data;
      return [
        eventRow(
          event,
          { nodeId: d.nodeId, programName: d.name },
          `program ${d.name} loaded (id ${d.programId}, ${d.attachType})`,
        ),
        {
          op: 'upsert',
          table: T.programs,
          key: { node_id: d.nodeId, program_id: d.programId },
          values: {
            name: d.name,
            attach_type: d.attachType,
            loaded_at: at,
            loaded_position: position,
          },
        },
      ];
    }
    case 'ProgramUnloaded': {
      const d = event.data;
      return [
        eventRow(
          event,
          { nodeId: d.nodeId, programName: d.name },
          `program ${d.name} unloaded (id ${d.programId})`,
        ),
        { op: 'delete', table: T.programs, where: { node_id: d.nodeId, program_id: d.programId } },
      ];
    }
    case 'LinkCreated': {
      const d = event.data;
      const functions = d.connections.map((c) => c.function).join(', ');
      return [
        eventRow(
          event,
          {
            nodeId: d.nodeId,
            programName: d.programName,
            ...(d.policy === undefined ? {} : { policyName: d.policy }),
            linkId: d.linkId,
          },
          `link ${d.linkId} created: ${d.programName} on ${functions}`,
        ),
        // a live link with the same id cannot exist; if the log says otherwise, the new one wins
        ...closeLinks(event, d.nodeId, d.linkId, 'replaced'),
        {
          op: 'insert',
          table: T.links,
          values: {
            created_position: position,
            node_id: d.nodeId,
            link_id: d.linkId,
            program_id: d.programId,
            program_name: d.programName,
            policy: d.policy ?? null,
            attach_type: d.attachType,
            connection_count: d.connections.length,
            created_at: at,
            created_by: event.metadata.actor,
          },
        },
        ...d.connections.map((c, idx): RowChange => ({
          op: 'insert',
          table: T.connections,
          values: {
            created_position: position,
            idx,
            node_id: d.nodeId,
            link_id: d.linkId,
            function: c.function,
            module: c.module ?? null,
            obj_id: c.objId,
            btf_id: c.btfId,
            cookie: c.cookie,
          },
        })),
      ];
    }
    case 'LinkCreateFailed': {
      const d = event.data;
      return [
        eventRow(
          event,
          {
            nodeId: d.nodeId,
            programName: d.programName,
            ...(d.policy === undefined ? {} : { policyName: d.policy }),
            function: d.failingTarget.function,
          },
          `link of ${d.programName} failed on ${d.failingTarget.function}: errno ${d.errno} (${d.reason})`,
        ),
      ];
    }
    case 'LinkReleased': {
      const d = event.data;
      return [
        eventRow(
          event,
          { nodeId: d.nodeId, linkId: d.linkId },
          `link ${d.linkId} released (${d.reason})`,
        ),
        ...closeLinks(event, d.nodeId, d.linkId, d.reason),
      ];
    }
    case 'DriftFound': {
      const d = event.data;
      return [
        eventRow(
          event,
          { nodeId: d.nodeId },
          `drift at generation ${d.observedGeneration}: ${d.items.map((i) => i.kind).join(', ') || 'none'}`,
        ),
      ];
    }
    case 'NodeReconciled': {
      const d = event.data;
      const text = d.policies
        .map(
          (p) =>
            `${p.policy} v${p.version}: ${p.attached} attached, ${p.pending.length} pending, ${p.rejected.length} rejected`,
        )
        .join('; ');
      return [
        eventRow(
          event,
          { nodeId: d.nodeId },
          `reconciled generation ${d.observedGeneration}: ${text || 'no policy'}`,
        ),
      ];
    }
    case 'PlanRecorded':
    case 'NodeReplanned': {
      const d = event.data;
      const recorded = event.type === 'PlanRecorded';
      const rolloutId = recorded ? event.data.rolloutId : undefined;
      const count = (status: string) => d.plan.targets.filter((t) => t.status === status).length;
      const counts = `${count('attach')} attach, ${count('pending')} pending, ${count('rejected') + count('trampoline-full')} refused`;
      const summary = recorded
        ? `plan of ${d.policy} v${d.policyVersion} recorded (${d.plan.path}: ${counts})`
        : `replanned ${d.policy} v${d.policyVersion} at generation ${event.data.generation}: ${event.data.reason} (${d.plan.path}: ${counts})`;
      return [
        eventRow(
          event,
          {
            nodeId: d.nodeId,
            policyName: d.policy,
            ...(rolloutId === undefined ? {} : { rolloutId }),
          },
          summary,
        ),
        {
          op: 'insert',
          table: T.plans,
          values: {
            position,
            node_id: d.nodeId,
            policy: d.policy,
            policy_version: d.policyVersion,
            source: recorded ? 'recorded' : 'replanned',
            rollout_id: rolloutId ?? null,
            generation: recorded ? null : event.data.generation,
            reason: recorded ? null : event.data.reason,
            path: d.plan.path,
            plan: JSON.stringify(d.plan),
            at,
            actor: event.metadata.actor,
          },
        },
      ];
    }
    case 'NodeMarkedStale':
      return [
        eventRow(
          event,
          { nodeId: event.data.nodeId },
          `node marked stale (silent for ${event.data.silentMs} ms)`,
        ),
      ];
    case 'NodeMarkedAlive':
      return [eventRow(event, { nodeId: event.data.nodeId }, 'node heard again')];
    case 'NodeTakenBack':
      return [
        eventRow(
          event,
          { nodeId: event.data.nodeId },
          `node taken back (epoch ${event.data.epoch}): ${event.data.reason}`,
        ),
      ];
    case 'NodeAdmissionPending':
      return [
        eventRow(
          event,
          { nodeId: event.data.nodeId },
          `node pending approval: ${event.data.reason}`,
        ),
      ];
    case 'NodeApproved':
      return [
        eventRow(
          event,
          { nodeId: event.data.nodeId },
          `node approved by ${event.metadata.actor}: ${event.data.reason}`,
        ),
      ];
    case 'ModuleActionRequested': {
      const d = event.data;
      return [
        eventRow(
          event,
          { nodeId: d.nodeId },
          `module ${d.module} ${d.action} asked by ${event.metadata.actor}: ${
            d.ok ? 'done' : `refused (${d.errno ?? d.reason ?? 'failed'})`
          }`,
        ),
      ];
    }
    case 'AccessTokenIssued':
      return [
        eventRow(
          event,
          {},
          `token ${event.data.name} issued (${event.data.role}) by ${event.data.issuedBy}`,
        ),
      ];
    case 'AccessTokenRevoked':
      return [
        eventRow(
          event,
          {},
          `token ${event.data.name} revoked by ${event.data.revokedBy}: ${event.data.reason}`,
        ),
      ];
    case 'AssignmentIssued': {
      const d = event.data;
      return [
        eventRow(
          event,
          { nodeId: d.nodeId },
          `assignment generation ${d.generation} (${d.links.length} links)`,
        ),
        {
          op: 'upsert',
          table: T.assignments,
          key: { node_id: d.nodeId },
          values: {
            generation: d.generation,
            links: JSON.stringify(d.links),
            issued_at: at,
            issued_position: position,
          },
        },
      ];
    }
    case 'PolicyApplied': {
      const d = event.data;
      return [
        eventRow(event, { policyName: d.name }, `policy ${d.name} v${d.version} applied`),
        {
          op: 'upsert',
          table: T.policies,
          key: { name: d.name },
          values: {
            version: d.version,
            spec: JSON.stringify(d.spec),
            applied_at: at,
            applied_by: event.metadata.actor,
            applied_position: position,
            removed_position: null,
          },
        },
      ];
    }
    case 'PolicyRemoved': {
      const d = event.data;
      return [
        eventRow(event, { policyName: d.name }, `policy ${d.name} v${d.version} removed`),
        {
          op: 'update',
          table: T.policies,
          where: { name: d.name },
          set: { removed_position: position },
        },
      ];
    }
    case 'PolicyDeleted': {
      const d = event.data;
      // no longer in force: the nodes releasing it are the rollout's rows
      return [
        eventRow(
          event,
          { policyName: d.name },
          `policy ${d.name} v${d.version} deleted by ${event.metadata.actor}`,
        ),
        {
          op: 'update',
          table: T.policies,
          where: { name: d.name },
          set: { removed_position: position },
        },
      ];
    }
    case 'RolloutStarted': {
      const d = event.data;
      const what =
        d.kind === 'release'
          ? `release of ${d.policy} v${d.policyVersion}`
          : d.kind === 'rollback'
            ? `rollback of ${d.policy} to v${d.policyVersion}`
            : `rollout ${d.rolloutId} of ${d.policy} v${d.policyVersion}`;
      return [
        eventRow(
          event,
          { policyName: d.policy, rolloutId: d.rolloutId },
          `${d.kind === undefined || d.kind === 'apply' ? what : `${what} (${d.rolloutId})`} started (${d.waves} waves)`,
        ),
        {
          op: 'upsert',
          table: T.rollouts,
          key: { rollout_id: d.rolloutId },
          values: {
            policy: d.policy,
            policy_version: d.policyVersion,
            wave_count: d.waves,
            status: 'running',
            current_wave: null,
            started_at: at,
            started_by: event.metadata.actor,
            reason: null,
            updated_position: position,
          },
        },
      ];
    }
    case 'WaveStarted':
    case 'WaveHeld':
    case 'WaveCompleted': {
      const d = event.data;
      const summary =
        event.type === 'WaveStarted'
          ? `wave ${d.wave} started on ${event.data.nodes.length} nodes`
          : event.type === 'WaveHeld'
            ? `wave ${d.wave} held: ${event.data.reason} (failure ratio ${event.data.failureRatio})`
            : `wave ${d.wave} completed (${event.data.succeeded} ok, ${event.data.failed} failed)`;
      const set: Row =
        event.type === 'WaveStarted'
          ? { status: 'running', current_wave: d.wave, updated_position: position }
          : event.type === 'WaveHeld'
            ? { status: 'held', reason: event.data.reason, updated_position: position }
            : { updated_position: position };
      return [
        eventRow(event, { rolloutId: d.rolloutId }, summary),
        { op: 'update', table: T.rollouts, where: { rollout_id: d.rolloutId }, set },
      ];
    }
    case 'RolloutCompleted':
    case 'RolloutRolledBack': {
      const d = event.data;
      const set: Row =
        event.type === 'RolloutCompleted'
          ? { status: 'completed', updated_position: position }
          : { status: 'rolled-back', reason: event.data.reason, updated_position: position };
      return [
        eventRow(
          event,
          { rolloutId: d.rolloutId },
          event.type === 'RolloutCompleted'
            ? `rollout ${d.rolloutId} completed`
            : `rollout ${d.rolloutId} rolled back: ${event.data.reason}`,
        ),
        { op: 'update', table: T.rollouts, where: { rollout_id: d.rolloutId }, set },
      ];
    }
    default:
      return assertNever(event, 'fleet event');
  }
};
