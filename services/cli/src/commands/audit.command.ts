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
import { positionalsOf, splitArgs } from '../cli-args.js';
import type { SplitArgs } from '../cli-args.js';
import type { ApiAnswer } from '../fleet/coordinator-client.js';
import { reportFailure } from '../fleet/fleet-options.js';
import type { CliCommand, CliIo } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { onePositional, parseCount, parseInstant, required } from './audit-args.js';
import {
  COMMON,
  actorText,
  auditSourceOf,
  json,
  limitOf,
  noteLimit,
  parseAuditArgs,
  withAudit,
} from './audit-context.js';
import { auditPlanCommand } from './audit-plan.command.js';
import { renderTable } from './audit-table.js';

const eventTable = (events: readonly AuditEvent[]): string =>
  renderTable(
    ['POSITION', 'OCCURRED', 'TYPE', 'ACTOR', 'NODE', 'SUMMARY'],
    events.map((e) => [e.position, e.occurredAt, e.type, actorText(e), e.nodeId, e.summary]),
  );

const printEvents = (
  io: CliIo,
  args: SplitArgs,
  events: readonly (AuditEvent & { readonly onBehalfOf?: string | null })[],
  empty: string,
) => {
  noteLimit(io, events.length, limitOf(args));
  if (args.flags.has('--json')) json(io, events);
  else if (events.length === 0) io.stdout(`${empty}\n`);
  else io.stdout(eventTable(events));
  return 0;
};

/** The body of an API answer, or the exit status of its failure (reported). */
const bodyOr = async <T>(
  io: CliIo,
  args: SplitArgs & { readonly json: boolean },
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

const functionTable = (entries: readonly FunctionEntry[]): string =>
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
  );

export const auditFunctionCommand: CliCommand = {
  path: ['audit', 'function'],
  usage: 'audit function <name> --node <id> [--limit N] [--db FILE | --url URL] [--json]',
  summary: 'who connected what to a kernel function on a node, and when',
  run: async (argv, io) => {
    const args = parseAuditArgs(argv, io, { values: [...COMMON, '--node'] });
    const fn = onePositional(args, 'function name');
    const nodeId = required(args, '--node');
    const limit = limitOf(args);
    const show = (entries: readonly FunctionEntry[]): number => {
      noteLimit(io, entries.length, limit);
      if (args.flags.has('--json')) json(io, entries);
      else if (entries.length === 0) io.stdout(`nothing was ever attached to ${fn} on ${nodeId}\n`);
      else io.stdout(functionTable(entries));
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
  },
};

export const auditProgramCommand: CliCommand = {
  path: ['audit', 'program'],
  usage: 'audit program <name> [--node <id>] [--limit N] [--db FILE | --url URL] [--json]',
  summary: 'history of a BPF program: loads, links, releases, failures',
  run: async (argv, io) => {
    const args = parseAuditArgs(argv, io, { values: [...COMMON, '--node'] });
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
  },
};

export const auditPolicyCommand: CliCommand = {
  path: ['audit', 'policy'],
  usage: 'audit policy <name> [--limit N] [--db FILE | --url URL] [--json]',
  summary: 'history of a policy: applied, removed, rollouts, waves, links',
  run: async (argv, io) => {
    const args = parseAuditArgs(argv, io, { values: [...COMMON] });
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
  },
};

/** `tramway audit --actor A` and `tramway audit actor A`: everything an actor did in a time range. */
const runActor = async (argv: readonly string[], io: CliIo, positional: boolean) => {
  const args = parseAuditArgs(argv, io, {
    values: [...COMMON, '--since', '--until', ...(positional ? [] : ['--actor'])],
  });
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

export const auditActorCommand: CliCommand = {
  path: ['audit', 'actor'],
  usage:
    'audit actor <actor> [--since T] [--until T] [--limit N] [--db FILE | --url URL] [--json]   (T: RFC 3339, now, or 90s/30m/1h/2d ago)',
  summary: 'everything an actor did in a time range (occurredAt, inclusive)',
  run: (argv, io) => runActor(argv, io, true),
};

export const auditCommand: CliCommand = {
  path: ['audit'],
  usage: 'audit --actor <actor> [--since T] [--until T] [--db FILE | --url URL] [--json]',
  summary: 'same as `audit actor`',
  run: (argv, io) => runActor(argv, io, false),
};

const nodeSummary = (state: FleetState): string =>
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
  );

const nodeDetail = (node: NodeView): string =>
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
    ),
    renderTable(
      ['TRAMPOLINE', 'FUNCTION', 'CONNECTIONS'],
      Object.entries(node.trampolines).map(([k, t]) => [k, t.function, t.connections]),
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
    if (args.flags.has('--json'))
      json(io, { position: a.position, recordedAt: a.recordedAt, node: a.node });
    else io.stdout(`node ${nodeId} at ${where}\n\n${nodeDetail(a.node)}`);
    return 0;
  }
  const state = a.state;
  if (state === undefined) return 1;
  if (args.flags.has('--json')) {
    json(io, state);
    return 0;
  }
  io.stdout(`fleet at ${where}\n\n${nodeSummary(state)}`);
  const policies = Object.values(state.policies);
  if (policies.length > 0) {
    io.stdout(
      `\n${renderTable(
        ['POLICY', 'VERSION', 'APPLIED', 'BY'],
        policies.map((p) => [p.name, p.version, p.appliedAt, p.appliedBy]),
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
      )}`,
    );
  }
  return 0;
};

export const auditStateCommand: CliCommand = {
  path: ['audit', 'state'],
  usage:
    'audit state (--at T | --position N) [--node <id>] [--db FILE | --url URL] [--json]   (T: RFC 3339, now, or 90s/30m/1h/2d ago)',
  summary: 'the fleet (or one node) as it stood at a past instant or log position',
  run: async (argv, io) => {
    const args = parseAuditArgs(argv, io, {
      values: ['--db', '--read-model', '--at', '--position', '--node'],
    });
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
        if (args.flags.has('--json'))
          json(io, { error: { code: answer.code, message: answer.message, range: answer.range } });
        return 1;
      }
      return showState(io, args, nodeId, answer);
    });
  },
};

export const auditRebuildCommand: CliCommand = {
  path: ['audit', 'rebuild'],
  usage: 'audit rebuild --db FILE [--read-model FILE] [--json]',
  summary: 'rebuild the audit read model of a local log file from position 0',
  run: async (argv, io) => {
    const args = splitArgs(argv, { values: ['--db', '--read-model'], flags: ['--json'] });
    positionalsOf(args, []);
    return withAudit(
      io,
      args,
      async ({ store, readModel }) => {
        const started = process.hrtime.bigint();
        const result = await readModel.rebuild(store);
        const millis = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
        if (args.flags.has('--json')) json(io, { ...result, millis });
        else {
          io.stdout(
            `read model rebuilt: ${result.applied} fleet events applied, ${result.skipped} others passed over, checkpoint ${result.position} (${millis} ms)\n`,
          );
        }
        return 0;
      },
      false,
    );
  },
};

export const AUDIT_COMMANDS: readonly CliCommand[] = [
  auditRebuildCommand,
  auditCommand,
  auditActorCommand,
  auditFunctionCommand,
  auditProgramCommand,
  auditPolicyCommand,
  auditStateCommand,
  auditPlanCommand,
];
