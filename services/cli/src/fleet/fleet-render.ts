/**
 * Text forms of the fleet answers (plan, status, nodes): plain aligned tables, no colour, so they
 * read the same in a terminal, a log and a test; fitted to the terminal's width when there is one
 * (`TableStyle`). Pure: strings in, strings out.
 */
import type { TableStyle } from '../output.js';
import { tableLines as table } from '../output.js';
import type {
  FunctionListView,
  NodeDiffView,
  NodeView,
  PlanView,
  PolicyDetailView,
  PolicySummaryView,
  StatusView,
} from './coordinator-client.js';

const PLAIN: TableStyle = { wide: false };

/** `[#####-----]` for done/total (an empty total is a full bar: nothing to wait for). */
export const progressBar = (done: number, total: number, width = 20): string => {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
};

const TARGET_WHY: Readonly<Record<string, string>> = {
  pending: 'module not loaded: attached when it loads',
  attach: '',
};

/** Names shown per list of a diff; the rest is counted ("... and N more"). */
export const DIFF_NAMES_SHOWN = 8;

/** `a, b, c ... and N more` of a bounded list whose count is the whole. */
export const namesLine = (list: FunctionListView, shown = DIFF_NAMES_SHOWN): string => {
  const names = list.names.slice(0, shown);
  const more = list.count - names.length;
  return `${names.join(', ')}${more > 0 ? ` ... and ${more} more` : ''}`;
};

/** The plan against what runs: one row of counts per node, then the names added and removed. */
export const renderDiff = (plan: PlanView): string[] => {
  const diff = plan.diff;
  if (diff === undefined) return [];
  const against =
    plan.current === null || plan.current === undefined
      ? 'new policy: nothing of it runs yet'
      : `against v${plan.current.version}, in force`;
  const out = ['', `changes ${against}:`];
  if (diff.length === 0) {
    out.push('  no node planned and none runs it');
    return out;
  }
  const rows = diff.map((d: NodeDiffView) => [
    d.nodeId,
    `+${d.added.count}`,
    `-${d.removed.count}`,
    `=${d.unchanged.count}`,
    d.selected ? '' : 'no longer selected: releases it',
  ]);
  out.push(...table(['NODE', 'ADDED', 'REMOVED', 'UNCHANGED', ''], rows).map((l) => `  ${l}`));
  for (const d of diff) {
    if (d.added.count > 0) out.push(`  ${d.nodeId} + ${namesLine(d.added)}`);
    if (d.removed.count > 0) out.push(`  ${d.nodeId} - ${namesLine(d.removed)}`);
  }
  return out;
};

/** `tramway plan`: per node its path and counts, then one row per function with what would happen. */
export const renderPlan = (plan: PlanView, style: TableStyle = PLAIN): string => {
  const what = plan.unchanged
    ? `v${plan.version} unchanged (the spec in force: apply would record nothing)`
    : plan.current
      ? `v${plan.version} (replaces v${plan.current.version})`
      : plan.current === null
        ? `v${plan.version} (new policy)`
        : `v${plan.version}`;
  const out: string[] = [
    `policy ${plan.policy} ${what}: ${plan.nodes.length} node(s) planned`,
    ...renderDiff(plan),
  ];
  for (const node of plan.nodes) {
    const c = node.counts;
    out.push(
      '',
      `node ${node.nodeId}  path ${node.path}  attach ${c.attach}  pending ${c.pending}  rejected ${c.rejected}  trampoline-full ${c.trampolineFull}`,
    );
    if (node.targets.length > 0) {
      const rows = node.targets.map((t) => [
        t.function,
        t.module ?? 'vmlinux',
        t.status,
        t.headroom === undefined ? '-' : String(t.headroom),
        t.cookie,
        t.errno === undefined
          ? (t.reason ?? TARGET_WHY[t.status] ?? '')
          : `${t.errno}: ${t.reason ?? ''}`,
      ]);
      out.push(
        ...table(
          ['FUNCTION', 'MODULE', 'STATUS', 'HEADROOM', 'COOKIE', 'WHY'],
          rows,
          style.width === undefined ? undefined : style.width - 2,
        ).map((l) => `  ${l}`),
      );
    }
    for (const u of node.unmatched) out.push(`  no match: ${u.pattern}: ${u.reason}`);
  }
  for (const u of plan.unreachable ?? []) out.push('', `node ${u.nodeId}: no plan (${u.reason})`);
  if (plan.refused) {
    out.push('', `REFUSED: policy ${plan.policy} would not be applied:`);
    for (const r of plan.refused.reasons) out.push(`  - ${r}`);
  } else if (plan.unchanged) out.push('', `ok: unchanged, 'tramway apply' would do nothing`);
  else out.push('', `ok: 'tramway apply -f <file>' would roll it out`);
  return `${out.join('\n')}\n`;
};

/** `tramway status POLICY`: the rollout, one progress bar per wave, then one row per node. */
export const renderStatus = (status: StatusView, style: TableStyle = PLAIN): string => {
  const out: string[] = [];
  const rollout = status.rollout;
  out.push(
    `policy ${policyHeadline(status)}  ${rollout ? `${rolloutWhat(status)} ${rollout.id}  ${rollout.state}` : 'no rollout'}`,
  );
  if (rollout) {
    const rows = rollout.waves.map((w) => [
      `wave ${w.index}`,
      progressBar(w.succeeded, w.nodes.length),
      `${w.succeeded}/${w.nodes.length} converged`,
      `${w.failed} failed`,
      w.state,
      w.nodes.join(','),
    ]);
    out.push(
      ...table(['WAVE', 'PROGRESS', 'CONVERGED', 'FAILED', 'STATE', 'NODES'], rows, style.width),
    );
  }
  if (status.nodes.length > 0) {
    out.push('');
    const rows = status.nodes.map((n) => [
      n.nodeId,
      n.state,
      String(n.generation),
      String(n.observedGeneration),
      String(n.functions.attached),
      String(n.functions.pending),
      String(n.functions.rejected),
    ]);
    out.push(
      ...table(
        ['NODE', 'STATE', 'GENERATION', 'OBSERVED', 'ATTACHED', 'PENDING', 'REJECTED'],
        rows,
        style.width,
      ),
    );
  }
  return `${out.join('\n')}\n`;
};

/** `tcp v2`, `tcp (deleting, no version in force)`. */
export const policyHeadline = (status: StatusView): string => {
  const version = status.version === null ? 'no version in force' : `v${status.version}`;
  const state = status.state === undefined || status.state === 'active' ? '' : status.state;
  return state === ''
    ? `${status.policy} ${version}`
    : `${status.policy} ${state === 'deleting' ? `v${status.version ?? '?'}` : version} (${state})`;
};

/** What the rollout does: `rollout`, `rollback v2 -> v1`, `release of v1` (delete). */
export const rolloutWhat = (status: StatusView): string => {
  const r = status.rollout;
  if (!r) return 'no rollout';
  switch (r.kind) {
    case 'rollback':
      return `rollback v${r.fromVersion ?? '?'} -> v${r.version ?? '?'}`;
    case 'release':
      return r.rollsBack === undefined
        ? `delete (release of v${r.version ?? '?'})`
        : `rollback v${r.version ?? '?'} -> none (release)`;
    default:
      return 'rollout';
  }
};

/** One line per change while watching without a terminal: the rollout and wave states. */
export const statusLine = (status: StatusView): string => {
  const r = status.rollout;
  if (!r) return `${policyHeadline(status)}: no rollout`;
  const waves = r.waves.map((w) => `wave ${w.index} ${w.state} ${w.succeeded}/${w.nodes.length}`);
  const converged = status.nodes.filter((n) => n.state === 'converged').length;
  const verb = r.kind === 'release' ? 'released' : 'converged';
  return `${policyHeadline(status)} ${r.kind === undefined || r.kind === 'apply' ? '' : `${rolloutWhat(status)} `}${r.state}: ${waves.join(', ')}; nodes ${verb} ${converged}/${status.nodes.length}`;
};

/** `tramway policy list`. */
export const renderPolicies = (policies: readonly PolicySummaryView[]): string => {
  if (policies.length === 0) return 'no policies\n';
  const rows = policies.map((p) => [
    p.name,
    `v${p.version}`,
    p.state ?? 'active',
    p.rollout
      ? `${p.rollout.kind === 'apply' ? '' : `${p.rollout.kind} `}${p.rollout.id} ${p.rollout.state}`
      : '-',
    p.appliedAt,
    p.appliedBy,
  ]);
  return `${table(['NAME', 'VERSION', 'STATE', 'LATEST ROLLOUT', 'APPLIED', 'BY'], rows).join('\n')}\n`;
};

/**
 * `tramway policy describe`: the policy (version, state), its latest changes, its latest rollout
 * with its waves and how many nodes stand in each state.
 */
export const renderDescribe = (
  policy: PolicyDetailView,
  status: StatusView | undefined,
): string => {
  const out: string[] = [
    `Name:           ${policy.name}`,
    `Version:        v${policy.version}${policy.latestVersion !== undefined && policy.latestVersion !== policy.version ? ` (latest recorded: v${policy.latestVersion})` : ''}`,
    `State:          ${policy.state ?? 'active'}${policy.deleting ? ` (deleted by ${policy.deleting.by} at ${policy.deleting.at}; nodes releasing it)` : ''}`,
    `Applied:        ${policy.appliedAt} by ${policy.appliedBy}`,
  ];
  const r = status?.rollout;
  if (status && r) {
    const byState = new Map<string, number>();
    for (const n of status.nodes) byState.set(n.state, (byState.get(n.state) ?? 0) + 1);
    const counts = [...byState.entries()].map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
    out.push(
      `Latest rollout: ${rolloutWhat(status)} ${r.id}, ${r.state}${r.startedBy ? ` (started by ${r.startedBy}${r.startedAt ? ` at ${r.startedAt}` : ''})` : ''}`,
      `Nodes:          ${status.nodes.length} (${counts})`,
    );
    for (const w of r.waves)
      out.push(
        `  wave ${w.index}  ${progressBar(w.succeeded, w.nodes.length)}  ${w.succeeded}/${w.nodes.length}  ${w.state}  ${w.nodes.join(',')}`,
      );
  } else out.push('Latest rollout: none');
  const history = policy.history ?? [];
  out.push('', history.length > 0 ? 'Recent changes (newest first):' : 'Recent changes: none');
  for (const c of history)
    out.push(`  ${c.at}  v${c.version} ${c.change} by ${c.by}${c.reason ? `: ${c.reason}` : ''}`);
  return `${out.join('\n')}\n`;
};

/** `tramway nodes`; -o wide adds each node's boot id. */
export const renderNodes = (nodes: readonly NodeView[], style: TableStyle = PLAIN): string => {
  if (nodes.length === 0) return 'no nodes registered\n';
  const rows = nodes.map((n) => [
    n.nodeId,
    Object.entries(n.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-',
    n.profile,
    n.attachPath,
    String(n.generation),
    String(n.observedGeneration),
    n.stale ? 'stale' : 'live',
    n.admission ?? 'approved',
    n.lastSeen ?? '-',
    ...(style.wide ? [n.bootId] : []),
  ]);
  const header = [
    ...['NODE', 'LABELS', 'PROFILE', 'PATH', 'GENERATION', 'OBSERVED', 'HEALTH', 'ADMISSION'],
    ...['LAST SEEN', ...(style.wide ? ['BOOT ID'] : [])],
  ];
  return `${table(header, rows, style.width).join('\n')}\n`;
};

/** True when every node of the status has converged and the rollout completed. */
export const isConverged = (status: StatusView): boolean =>
  status.rollout?.state === 'completed' &&
  status.nodes.length > 0 &&
  status.nodes.every((n) => n.state === 'converged');
