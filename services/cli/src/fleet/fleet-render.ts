/**
 * Text forms of the fleet answers (plan, status, nodes): plain aligned tables, no colour, so they
 * read the same in a terminal, a log and a test; fitted to the terminal's width when there is one
 * (`TableStyle`). Pure: strings in, strings out.
 */
import type { TableStyle } from '../output.js';
import { tableLines as table } from '../output.js';
import type {
  FunctionListView,
  FunctionsOfPolicyView,
  ModuleEffectView,
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

/** `12s`, `2m05s`, `1h02m`: a countdown that reads at a glance (0 and below: `0s`). */
export const durationText = (ms: number): string => {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
};

/**
 * What the rollout is waiting for, in one line, or undefined when it waits for nothing: the
 * pause before the next wave (a countdown from `nowMs`, the coordinator's clock as the caller
 * estimates it), a hold (its reason), a rollback (its reason).
 */
export const waitingText = (status: StatusView, nowMs: number): string | undefined => {
  const r = status.rollout;
  if (!r) return undefined;
  if (r.state === 'running' && r.pause) {
    const left = Date.parse(r.pause.endsAt) - nowMs;
    return left > 0
      ? `paused after wave ${r.pause.afterWave}: wave ${r.pause.nextWave} starts in ${durationText(left)}`
      : `paused after wave ${r.pause.afterWave}: wave ${r.pause.nextWave} starts now`;
  }
  if (r.state === 'held')
    return `held${r.reason ? `: ${r.reason}` : ''} (tramway resume ${r.id} to go on, or tramway rollback ${status.policy})`;
  if (r.state === 'rolled-back') return `rolled back${r.reason ? `: ${r.reason}` : ''}`;
  return undefined;
};

/** The coordinator's clock at the time of `status`, else the caller's. */
const statusTime = (status: StatusView): number => {
  const at = status.now === undefined ? Number.NaN : Date.parse(status.now);
  return Number.isNaN(at) ? Date.now() : at;
};

/**
 * `tramway status POLICY`: the rollout, one progress bar per wave (every wave from the start:
 * those not started yet are `pending`, with their nodes), what it waits for, then one row per
 * node. `nowMs` is the coordinator's clock as the caller estimates it (the countdown); by default
 * the `now` of the answer.
 */
export const renderStatus = (
  status: StatusView,
  style: TableStyle = PLAIN,
  nowMs: number = statusTime(status),
): string => {
  const out: string[] = [];
  const rollout = status.rollout;
  out.push(
    `policy ${policyHeadline(status)}  ${rollout ? `${rolloutWhat(status)} ${rollout.id}  ${rollout.state}` : 'no rollout'}`,
  );
  const waiting = waitingText(status, nowMs);
  if (waiting !== undefined) out.push(waiting);
  if (rollout) {
    const rows = rollout.waves.map((w) => [
      `wave ${w.index}`,
      progressBar(w.succeeded, w.nodes.length),
      `${w.succeeded}/${w.nodes.length} converged`,
      `${w.failed} failed`,
      w.state,
      w.nodes.join(',') || '-',
    ]);
    out.push(
      ...table(['WAVE', 'PROGRESS', 'CONVERGED', 'FAILED', 'STATE', 'NODES'], rows, style.width),
    );
  }
  if (status.nodes.length > 0) {
    out.push('');
    const rows = status.nodes.map((n) => [
      n.nodeId,
      n.wave === undefined || n.wave === null ? '-' : String(n.wave),
      n.state,
      String(n.generation),
      String(n.observedGeneration),
      String(n.functions.attached),
      String(n.functions.pending),
      String(n.functions.rejected),
    ]);
    out.push(
      ...table(
        ['NODE', 'WAVE', 'STATE', 'GENERATION', 'OBSERVED', 'ATTACHED', 'PENDING', 'REJECTED'],
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

/**
 * One line per change while watching without a terminal: the rollout and wave states, and what
 * it waits for (the countdown as of `nowMs`).
 */
export const statusLine = (status: StatusView, nowMs: number = statusTime(status)): string => {
  const r = status.rollout;
  if (!r) return `${policyHeadline(status)}: no rollout`;
  const waves = r.waves.map((w) => `wave ${w.index} ${w.state} ${w.succeeded}/${w.nodes.length}`);
  const converged = status.nodes.filter((n) => n.state === 'converged').length;
  const verb = r.kind === 'release' ? 'released' : 'converged';
  const waiting = waitingText(status, nowMs);
  return `${policyHeadline(status)} ${r.kind === undefined || r.kind === 'apply' ? '' : `${rolloutWhat(status)} `}${r.state}: ${waves.join(', ')}; ${waiting === undefined ? '' : `${waiting}; `}nodes ${verb} ${converged}/${status.nodes.length}`;
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

const byPolicy = (entries: readonly FunctionsOfPolicyView[]): string[] =>
  entries.map((e) => `  ${e.policy ?? '(no policy)'}: ${e.functions.join(', ')}`);

/**
 * `tramway node module load|unload`: what the module's coming or going changed on the node, per
 * policy: functions attached (or released), refused with the kernel's errno, still pending.
 */
export const renderModuleEffect = (nodeId: string, effect: ModuleEffectView): string => {
  const out: string[] = [];
  const count = (list: readonly FunctionsOfPolicyView[]) =>
    list.reduce((n, e) => n + e.functions.length, 0);
  if (effect.action === 'load') {
    out.push(
      effect.attached.length === 0
        ? `nothing attached on ${nodeId}: no policy waited for ${effect.module}'s functions`
        : `attached on ${nodeId} (${count(effect.attached)} function(s) of ${effect.module} appeared):`,
      ...byPolicy(effect.attached),
    );
    if (effect.released.length > 0)
      out.push(`released on ${nodeId} (replaced links):`, ...byPolicy(effect.released));
  } else {
    out.push(
      effect.released.length === 0
        ? `nothing released on ${nodeId}: no link used ${effect.module}`
        : `released on ${nodeId} (${count(effect.released)} function(s)):`,
      ...byPolicy(effect.released),
    );
  }
  if (effect.failed.length > 0)
    out.push(
      'failed:',
      ...effect.failed.map((f) => `  ${f.policy}: ${f.function}: errno ${f.errno}: ${f.reason}`),
    );
  if (effect.pending.length > 0)
    out.push(
      'still pending (module not loaded):',
      ...effect.pending.map((p) => `  ${p.policy}: ${p.module}:${p.function}`),
    );
  return `${out.join('\n')}\n`;
};
