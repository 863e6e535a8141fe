/**
 * Text forms of the fleet answers (plan, status, nodes): plain aligned tables, no colour, so they
 * read the same in a terminal, a log and a test; fitted to the terminal's width when there is one
 * (`TableStyle`). Pure: strings in, strings out.
 */
import type { TableStyle } from '../output.js';
import { tableLines as table } from '../output.js';
import type {
  FunctionsOfPolicyView,
  ModuleEffectView,
  NodeView,
  PlanView,
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

/** `tramway plan`: per node its path and counts, then one row per function with what would happen. */
export const renderPlan = (plan: PlanView, style: TableStyle = PLAIN): string => {
  const out: string[] = [
    `policy ${plan.policy} v${plan.version}: ${plan.nodes.length} node(s) planned`,
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
  } else out.push('', `ok: 'tramway apply -f <file>' would roll it out`);
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
    `policy ${status.policy} v${status.version}  ${rollout ? `rollout ${rollout.id}  ${rollout.state}` : 'no rollout'}`,
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

/**
 * One line per change while watching without a terminal: the rollout and wave states, and what
 * it waits for (the countdown as of `nowMs`).
 */
export const statusLine = (status: StatusView, nowMs: number = statusTime(status)): string => {
  const r = status.rollout;
  if (!r) return `${status.policy} v${status.version}: no rollout`;
  const waves = r.waves.map((w) => `wave ${w.index} ${w.state} ${w.succeeded}/${w.nodes.length}`);
  const converged = status.nodes.filter((n) => n.state === 'converged').length;
  const waiting = waitingText(status, nowMs);
  return `${status.policy} v${status.version} ${r.state}: ${waves.join(', ')}; ${waiting === undefined ? '' : `${waiting}; `}nodes converged ${converged}/${status.nodes.length}`;
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
