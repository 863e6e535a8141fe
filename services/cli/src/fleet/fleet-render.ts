/**
 * Text forms of the fleet answers (plan, status, nodes): plain aligned tables, no colour, so they
 * read the same in a terminal, a log and a test; fitted to the terminal's width when there is one
 * (`TableStyle`). Pure: strings in, strings out.
 */
import type { TableStyle } from '../output.js';
import { tableLines as table } from '../output.js';
import type { NodeView, PlanView, StatusView } from './coordinator-client.js';

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

/** `tramway status POLICY`: the rollout, one progress bar per wave, then one row per node. */
export const renderStatus = (status: StatusView, style: TableStyle = PLAIN): string => {
  const out: string[] = [];
  const rollout = status.rollout;
  out.push(
    `policy ${status.policy} v${status.version}  ${rollout ? `rollout ${rollout.id}  ${rollout.state}` : 'no rollout'}`,
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

/** One line per change while watching without a terminal: the rollout and wave states. */
export const statusLine = (status: StatusView): string => {
  const r = status.rollout;
  if (!r) return `${status.policy} v${status.version}: no rollout`;
  const waves = r.waves.map((w) => `wave ${w.index} ${w.state} ${w.succeeded}/${w.nodes.length}`);
  const converged = status.nodes.filter((n) => n.state === 'converged').length;
  return `${status.policy} v${status.version} ${r.state}: ${waves.join(', ')}; nodes converged ${converged}/${status.nodes.length}`;
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
