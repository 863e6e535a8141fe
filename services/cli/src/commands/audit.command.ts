import type { FleetState, NodeView } from '@tramway/shared/projections';
import type { AuditEvent, FunctionHistoryEntry } from '@tramway/shared/infra';
import {
  actorActivity,
  fleetStateAt,
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
import { actorText, json, limitOf, noteLimit, widthOf, withAudit } from './audit-context.js';
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

const functionTable = (
  entries: readonly (FunctionHistoryEntry & { readonly onBehalfOf: string | null })[],
  width?: number,
): string =>
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

export const runAuditFunction: CommandRun = async (args, io) => {
  const fn = onePositional(args, 'function name');
  const nodeId = required(args, '--node');
  const limit = limitOf(args);
  return withAudit(io, args, async ({ readModel, store }) => {
    const entries = await withOnBehalfOf(
      store,
      await functionHistory(readModel, { nodeId, function: fn, limit }),
    );
    noteLimit(io, entries.length, limit);
    if (isStructured(args.output)) json(io, args.output, entries);
    else if (entries.length === 0) io.stdout(`nothing was ever attached to ${fn} on ${nodeId}\n`);
    else io.stdout(functionTable(entries, widthOf(io, args)));
    return 0;
  });
};

export const runAuditProgram: CommandRun = async (args, io) => {
  const name = onePositional(args, 'program name');
  const nodeId = args.values.get('--node');
  const limit = limitOf(args);
  return withAudit(io, args, async ({ readModel, store }) =>
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
      `no history for program ${name}`,
    ),
  );
};

export const runAuditPolicy: CommandRun = async (args, io) => {
  const name = onePositional(args, 'policy name');
  return withAudit(io, args, async ({ readModel, store }) =>
    printEvents(
      io,
      args,
      await withOnBehalfOf(store, await policyHistory(readModel, { name })),
      `no history for policy ${name}`,
    ),
  );
};

/** `tramway audit --actor A` and `tramway audit actor A`: everything an actor did in a time range. */
const runActor = async (args: SplitArgs, io: CliIo, positional: boolean) => {
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
  return withAudit(io, args, async ({ readModel }) =>
    printEvents(
      io,
      args,
      await actorActivity(readModel, {
        actor,
        limit,
        ...(sinceIso === undefined ? {} : { since: sinceIso }),
        ...(untilIso === undefined ? {} : { until: untilIso }),
      }),
      `${actor} did nothing in that range`,
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

export const runAuditState: CommandRun = async (args, io) => {
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
  return withAudit(io, args, async ({ store, readModel }) => {
    // snapshots cached in the read model make the next look at the past start near it
    const { state } = await fleetStateAt(store, target, { snapshots: readModel });
    const where = `position ${state.position}${state.recordedAt ? ` (recorded ${state.recordedAt})` : ''}`;
    if (nodeId !== undefined) {
      const node = state.nodes[nodeId];
      if (!node) {
        io.stderr(`node ${nodeId} is not known at ${where}\n`);
        return 1;
      }
      if (isStructured(args.output))
        json(io, args.output, { position: state.position, recordedAt: state.recordedAt, node });
      else io.stdout(`node ${nodeId} at ${where}\n\n${nodeDetail(node, widthOf(io, args))}`);
      return 0;
    }
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
