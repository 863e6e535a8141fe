/**
 * `tramway audit plan`: which functions a node was told to trace, and when (docs/fleet-protocol.md,
 * "The plan is a fact"). Per policy version: the plans recorded for the node and those its agent
 * made on its own (with why), the assignment generations that carried the version, and the
 * functions of the last plan.
 */
import type { PlanAudit, PlanAuditVersion } from '@tramway/shared/infra';
import { planHistory } from '@tramway/shared/infra';
import type { RecordedPlan } from '@tramway/shared/domain';
import { positionalsOf } from '../cli-args.js';
import { isStructured } from '../output-format.js';
import type { CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { parseCount, parseInstant, required } from './audit-args.js';
import { auditSourceOf, json, widthOf, withAudit } from './audit-context.js';
import { parseFleetArgs, reportFailure } from '../fleet/fleet-options.js';
import { renderTable } from './audit-table.js';

const countsOf = (plan: RecordedPlan): string => {
  const n = (status: string) => plan.targets.filter((t) => t.status === status).length;
  const refused = n('rejected') + n('trampoline-full');
  return `${plan.path}: ${n('attach')} attach, ${n('pending')} pending, ${refused} refused`;
};

const historyTable = (v: PlanAuditVersion, width?: number): string =>
  renderTable(
    ['POSITION', 'AT', 'WHAT', 'BY', 'DETAIL'],
    [
      ...v.plans.map((p) => ({
        position: p.position,
        row: [
          p.position,
          p.at,
          p.source === 'recorded' ? 'plan recorded' : 'replanned',
          p.actor,
          p.source === 'recorded'
            ? `${p.rolloutId === null ? '' : `rollout ${p.rolloutId}${p.rolloutBy === null ? '' : ` by ${p.rolloutBy}`}: `}${countsOf(p.plan)}`
            : `at generation ${p.generation ?? '?'}: ${p.reason ?? ''} (${countsOf(p.plan)})`,
        ],
      })),
      ...v.assignments.map((a) => ({
        position: a.position,
        row: [
          a.position,
          a.at,
          `assignment g${a.generation}`,
          a.initiatedBy === null || a.initiatedBy === a.actor
            ? a.actor
            : `${a.actor} for ${a.initiatedBy}`,
          null,
        ],
      })),
    ]
      .sort((a, b) => a.position - b.position)
      .map((e) => e.row),
    width,
  );

const functionTable = (plan: RecordedPlan, width?: number): string =>
  renderTable(
    ['FUNCTION', 'MODULE', 'STATUS', 'TRAMPOLINE', 'COOKIE', 'DETAIL'],
    plan.targets.map((t) => [
      t.function,
      t.module ?? 'vmlinux',
      t.status,
      t.objId === undefined || t.btfId === undefined ? null : `${t.objId}:${t.btfId}`,
      t.cookie,
      t.errno === undefined ? (t.reason ?? null) : `${t.errno}: ${t.reason ?? ''}`,
    ]),
    width,
  );

const render = (audit: PlanAudit, width?: number): string =>
  [
    `node ${audit.nodeId} at position ${audit.position}\n`,
    ...audit.versions.map((v) => {
      const last = v.plans.at(-1);
      const unmatched = last?.plan.unmatched ?? [];
      return [
        `${v.policy} v${v.policyVersion}\n${historyTable(v, width)}`,
        last === undefined
          ? 'no plan in the log for this version\n'
          : `functions of the plan at position ${last.position} (${last.source}):\n${functionTable(last.plan, width)}`,
        ...(unmatched.length === 0
          ? []
          : [`unmatched: ${unmatched.map((u) => `${u.pattern} (${u.reason})`).join(', ')}\n`]),
      ].join('\n');
    }),
  ].join('\n');

export const runAuditPlan: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  positionalsOf(args, []);
  const nodeId = required(args, '--node');
  const policy = args.values.get('--policy');
  const at = args.values.get('--at');
  const position = args.values.get('--position');
  if (at !== undefined && position !== undefined)
    throw new UsageError('give at most one of --at and --position');
  const target =
    at !== undefined
      ? { at: parseInstant('--at', at) }
      : position !== undefined
        ? { position: parseCount('--position', position, 0) }
        : undefined;
  const show = (audit: PlanAudit): number => {
    if (isStructured(args.output)) json(io, args.output, audit);
    else if (audit.versions.length === 0)
      io.stdout(
        `node ${nodeId} was told to trace nothing${policy === undefined ? '' : ` for ${policy}`} up to position ${audit.position}\n`,
      );
    else io.stdout(render(audit, widthOf(io, args)));
    return 0;
  };
  const source = await auditSourceOf(io, args);
  if (source.kind === 'api') {
    const answer = await source.client.auditPlans(nodeId, {
      policy,
      ...(target === undefined
        ? {}
        : 'at' in target
          ? { at: target.at }
          : { position: String(target.position) }),
    });
    if (!answer.ok) return reportFailure(io, args, 'audit plan', answer);
    return show(answer.body as PlanAudit);
  }
  return withAudit(io, source.args, async ({ readModel, store }) =>
    show(
      await planHistory(readModel, store, {
        nodeId,
        ...(policy === undefined ? {} : { policy }),
        ...(target === undefined ? {} : { target }),
      }),
    ),
  );
};
