import type { FleetState, NodeView } from '@tramway/shared/projections';
import type { AuditEvent, FunctionHistoryEntry } from '@tramway/shared/infra';
import {
  actorActivity,
  auditStateAt,
  functionHistory,
  policyHistory,
  programHistory,
  withOnBehalfOf,
} from '@tramway/shared/infra';
import { positionalsOf } from '../cli-args.js';
import type { SplitArgs } from '../cli-args.js';
import type { CliIo, CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { onePositional, parseCount, parseInstant, required } from './audit-args.js';
import {
  actorText,
  auditSourceOf,
  json,
  limitOf,
  noteLimit,
  widthOf,
  withAudit,
} from './audit-context.js';
import type { ApiAnswer } from '../fleet/coordinator-client.js';
import type { FleetArgs } from '../fleet/fleet-options.js';
import { parseFleetArgs, reportFailure } from '../fleet/fleet-options.js';
import { isStructured } from '../output-format.js';
import { renderTable } from './audit-table.js';

const eventTable = (events: readonly AuditEvent[], width?: number): string =>
  renderTable(
    ['POSITION', 'OCCURRED', 'TYPE', 'ACTOR', 'NODE', 'SUMMARY'],
    events.map((e) => [e.position, e.occurredAt, e.type, actorText(e), e.nodeId, e.summary]),
    width,
  );

const printEvents = (
  io: CliIo,
  args: SplitArgs,
  events: readonly (AuditEvent & { readonly onBehalfOf?: string | null })[],
  empty: string,
) => {
  noteLimit(io, events.length, limitOf(args));
  if (isStructured(args.output)) json(io, args.output, events);
  else if (events.length === 0) io.stdout(`${empty}\n`);
  else io.stdout(eventTable(events, widthOf(io, args)));
  return 0;
};

/** The body of an API answer, or the exit status of its failure (reported). */
const bodyOr = async <T>(
  io: CliIo,
  args: FleetArgs,
  command: string,
  request: Promise<ApiAnswer<unknown>>,
): Promise<
  { readonly ok: true; readonly body: T } | { readonly ok: false; readonly code: number }
> => {
  const answer = await request;
  if (!answer.ok) return { ok: false, code: reportFailure(io, args, command, answer) };
  return { ok: true, body: answer.body as T };
};

type FunctionEntry = FunctionHistoryEntry & { readonly onBehalfOf: string | null };

const functionTable = (entries: readonly FunctionEntry[], width?: number): string =>
  renderTable(
    [
      'POSITION',
      'AT',
      'ACTION',
      'LINK',
      'PROGRAM',
      'POLICY',
      'TRAMPOLINE',
      'COOKIE',
      'BY',
      'DETAIL',
    ],
    entries.map((e) => [
      e.position,
      e.at,
      e.action,
      e.linkId,
      e.programId === null ? e.programName : `${e.programName}#${e.programId}`,
      e.policy,
      e.trampoline,
      e.cookie,
      actorText(e),
      e.detail,
    ]),
    width,
  );

export const runAuditFunction: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const fn = onePositional(args, 'function name');
  const nodeId = required(args, '--node');
  const limit = limitOf(args);
  const show = (entries: readonly FunctionEntry[]): number => {
    noteLimit(io, entries.length, limit);
    if (isStructured(args.output)) json(io, args.output, entries);
    else if (entries.length === 0) io.stdout(`nothing was ever attached to ${fn} on ${nodeId}\n`);
    else io.stdout(functionTable(entries, widthOf(io, args)));
    return 0;
  };
  const source = await auditSourceOf(io, args);
  if (source.kind === 'api') {
    const r = await bodyOr<FunctionEntry[]>(
      io,
      args,
      'audit function',
      source.client.auditFunction(fn, { node: nodeId, max: String(limit) }),
    );
    return r.ok ? show(r.body) : r.code;
  }
  return withAudit(io, source.args, async ({ readModel, store }) =>
    show(
      await withOnBehalfOf(
        store,
        await functionHistory(readModel, { nodeId, function: fn, limit }),
      ),
    ),
  );
};

export const runAuditProgram: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const name = onePositional(args, 'program name');
  const nodeId = args.values.get('--node');
  const limit = limitOf(args);
  const empty = `no history for program ${name}`;
  const source = await auditSourceOf(io, args);
  if (source.kind === 'api') {
    const r = await bodyOr<AuditEvent[]>(
      io,
      args,
      'audit program',
      source.client.auditHistory({ program: name, node: nodeId, max: String(limit) }),
    );
    return r.ok ? printEvents(io, args, r.body, empty) : r.code;
  }
  return withAudit(io, source.args, async ({ readModel, store }) =>
    printEvents(
      io,
      args,
      await withOnBehalfOf(
        store,
        await programHistory(readModel, {
          name,
          limit,
          ...(nodeId === undefined ? {} : { nodeId }),
        }),
      ),
      empty,
    ),
  );
};

export const runAuditPolicy: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const name = onePositional(args, 'policy name');
  const limit = limitOf(args);
  const empty = `no history for policy ${name}`;
  const source = await auditSourceOf(io, args);
  if (source.kind === 'api') {
    const r = await bodyOr<AuditEvent[]>(
      io,
      args,
      'audit policy',
      source.client.auditHistory({ policy: name, max: String(limit) }),
    );
    return r.ok ? printEvents(io, args, r.body, empty) : r.code;
  }
  return withAudit(io, source.args, async ({ readModel, store }) =>
    printEvents(
      io,
      args,
      await withOnBehalfOf(store, await policyHistory(readModel, { name, limit })),
      empty,
    ),
  );
};

/** `tramway audit --actor A` and `tramway audit actor A`: everything an actor did in a time range. */
const runActor = async (parsed: SplitArgs, io: CliIo, positional: boolean) => {
  const args = parseFleetArgs(parsed, io);
  let actor: string;
  if (positional) actor = onePositional(args, 'actor (e.g. user:alice)');
  else {
    positionalsOf(args, []);
    actor = required(args, '--actor');
  }
  const since = args.values.get('--since');
  const until = args.values.get('--until');
  const sinceIso = since === undefined ? undefined : parseInstant('--since', since);
  const untilIso = until === undefined ? undefined : parseInstant('--until', until);
  if (sinceIso !== undefined && untilIso !== undefined && sinceIso > untilIso) {
    throw new UsageError(`--since ${sinceIso} is after --until ${untilIso}`);
  }
  const limit = limitOf(args);
  const empty = `${actor} did nothing in that range`;
  const source = await auditSourceOf(io, args);
  if (source.kind === 'api') {
    const r = await bodyOr<AuditEvent[]>(
      io,
      args,
      'audit actor',
      source.client.auditHistory({ actor, since: sinceIso, until: untilIso, max: String(limit) }),
    );
    return r.ok ? printEvents(io, args, r.body, empty) : r.code;
  }
  return withAudit(io, source.args, async ({ readModel }) =>
    printEvents(
      io,
      args,
      await actorActivity(readModel, {
        actor,
        limit,
        ...(sinceIso === undefined ? {} : { since: sinceIso }),
        ...(untilIso === undefined ? {} : { until: untilIso }),
      }),
      empty,
    ),
  );
};

/** `tramway audit actor A`: everything an actor did in a time range (occurredAt, inclusive). */
export const runAuditActor: CommandRun = (args, io) => runActor(args, io, true);

/** `tramway audit --actor A`: the same as `audit actor A`. */
export const runAudit: CommandRun = (args, io) => runActor(args, io, false);

const nodeSummary = (state: FleetState, width?: number): string =>
  renderTable(
    [
      'NODE',
      'PROFILE',
      'PATH',
      'BOOT',
      'MODULES',
      'PROGRAMS',
      'LINKS',
      'CONNECTIONS',
      'GENERATION',
    ],
    Object.values(state.nodes).map((n) => [
      n.nodeId,
      n.profile,
      n.attachPath,
      n.bootId,
      Object.keys(n.modules).length,
      Object.keys(n.programs).length,
      Object.keys(n.links).length,
      Object.values(n.trampolines).reduce((s, t) => s + t.connections, 0),
      n.assignment?.generation ?? null,
    ]),
    width,
  );

const nodeDetail = (node: NodeView, width?: number): string =>
  [
    renderTable(
      ['LINK', 'PROGRAM', 'POLICY', 'ATTACH TYPE', 'CREATED', 'BY', 'FUNCTIONS'],
      Object.values(node.links).map((l) => [
        l.linkId,
        `${l.programName}#${l.programId}`,
        l.policy,
        l.attachType,
        l.createdAt,
        l.createdBy,
        l.connections.map((c) => c.function).join(','),
      ]),
      width,
    ),
    renderTable(
      ['TRAMPOLINE', 'FUNCTION', 'CONNECTIONS'],
      Object.entries(node.trampolines).map(([k, t]) => [k, t.function, t.connections]),
      width,
    ),
  ].join('\n');

interface StateAnswer {
  readonly position: number;
  readonly recordedAt: string | null;
  readonly state?: FleetState;
  readonly node?: NodeView;
}

const showState = (io: CliIo, args: SplitArgs, nodeId: string | undefined, a: StateAnswer) => {
  const where = `position ${a.position}${a.recordedAt ? ` (recorded ${a.recordedAt})` : ''}`;
  if (nodeId !== undefined && a.node !== undefined) {
    if (isStructured(args.output))
      json(io, args.output, { position: a.position, recordedAt: a.recordedAt, node: a.node });
    else io.stdout(`node ${nodeId} at ${where}\n\n${nodeDetail(a.node, widthOf(io, args))}`);
    return 0;
  }
  const state = a.state;
  if (state === undefined) return 1;
  if (isStructured(args.output)) {
    json(io, args.output, state);
    return 0;
  }
  io.stdout(`fleet at ${where}\n\n${nodeSummary(state, widthOf(io, args))}`);
  const policies = Object.values(state.policies);
  if (policies.length > 0) {
    io.stdout(
      `\n${renderTable(
        ['POLICY', 'VERSION', 'STATE', 'APPLIED', 'BY'],
        policies.map((p) => [
          p.name,
          p.version,
          // deleted, and some node has not released it yet at that time
          p.deleting ? `deleting (by ${p.deleting.by})` : 'active',
          p.appliedAt,
          p.appliedBy,
        ]),
        widthOf(io, args),
      )}`,
    );
  }
  const rollouts = Object.values(state.rollouts);
  if (rollouts.length > 0) {
    io.stdout(
      `\n${renderTable(
        ['ROLLOUT', 'POLICY', 'STATUS', 'WAVE', 'REASON'],
        rollouts.map((r) => [
          r.rolloutId,
          `${r.policy}@${r.policyVersion}`,
          r.status,
          r.currentWave,
          r.reason,
        ]),
        widthOf(io, args),
      )}`,
    );
  }
  return 0;
};

/**
 * `tramway audit state (--at T | --position N) [--node ID]`: the fleet or one node as it stood
 * then, from the coordinator's API or a local log (--db); a point outside the log is exit 1 with
 * the range the log covers.
 */
export const runAuditState: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  positionalsOf(args, []);
  const at = args.values.get('--at');
  const position = args.values.get('--position');
  if ((at === undefined) === (position === undefined)) {
    throw new UsageError('give exactly one of --at and --position');
  }
  const target =
    at === undefined
      ? { position: parseCount('--position', position ?? '', 0) }
      : { at: parseInstant('--at', at) };
  const nodeId = args.values.get('--node');
  const source = await auditSourceOf(io, args);
  if (source.kind === 'api') {
    const r = await bodyOr<StateAnswer>(
      io,
      args,
      'audit state',
      source.client.auditState({
        ...('at' in target ? { at: target.at } : { position: String(target.position) }),
        node: nodeId,
      }),
    );
    return r.ok ? showState(io, args, nodeId, r.body) : r.code;
  }
  return withAudit(io, source.args, async ({ store, readModel }) => {
    const answer = await auditStateAt(store, readModel, target, nodeId);
    if (!answer.ok) {
      io.stderr(`tramway audit state: ${answer.message}\n`);
      if (isStructured(args.output))
        json(io, args.output, {
          error: { code: answer.code, message: answer.message, range: answer.range },
        });
      return 1;
    }
    return showState(io, args, nodeId, answer);
  });
};

export const runAuditRebuild: CommandRun = async (args, io) => {
  positionalsOf(args, []);
  return withAudit(
    io,
    args,
    async ({ store, readModel }) => {
      const started = process.hrtime.bigint();
      const result = await readModel.rebuild(store);
      const millis = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
      if (isStructured(args.output)) json(io, args.output, { ...result, millis });
      else {
        io.stdout(
          `read model rebuilt: ${result.applied} fleet events applied, ${result.skipped} others passed over, checkpoint ${result.position} (${millis} ms)\n`,
        );
      }
      return 0;
    },
    false,
  );
};
