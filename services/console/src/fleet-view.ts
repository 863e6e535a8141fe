/**
 * Fleet: nodes x policies, each cell attached / pending / rejected / trampoline-full, with the
 * node's labels, kernel profile, attach path, health and last heartbeat; a label filter. The
 * grid is also what the timeline shows at a past position (`renderFleetGrid`).
 */
import { html, nothing } from 'lit-html';
import type { TemplateResult } from 'lit-html';
import { apiFetch, q } from './api.js';
import type { FleetPage, FleetRow } from './types.js';
import type { View, ViewContext } from './view.js';
import { ago, debounce, errorBox, labelsText, nodeLink } from './view.js';

const CELL_TEXT: Record<string, string> = {
  attached: 'attached',
  pending: 'pending',
  rejected: 'rejected',
  'trampoline-full': 'trampoline full',
  none: '—',
};

/** Rows drawn at most; past that the filter narrows (the count says how many there are). */
export const MAX_ROWS = 5000;

export const fetchFleet = async (label: string, at?: number): Promise<FleetPage> => {
  const first = await apiFetch<FleetPage>(`/v1/console/fleet${q({ label, at, limit: 1000 })}`);
  const items = [...first.items];
  let cursor = first.nextCursor;
  while (cursor !== null && items.length < MAX_ROWS) {
    const page = await apiFetch<FleetPage>(
      `/v1/console/fleet${q({ label, at: first.live ? undefined : first.position, limit: 1000, cursor })}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  }
  return { ...first, items };
};

const row = (r: FleetRow, policies: readonly string[], budget: number): TemplateResult => html`
  <tr>
    <th scope="row">${nodeLink(r.nodeId)}</th>
    <td class="labels">${labelsText(r.labels)}</td>
    <td>${r.profile} <span class="muted">${r.kernelRelease}</span></td>
    <td>${r.attachPath ?? '—'}</td>
    <td><span class="health health-${r.health}">${r.health}</span></td>
    <td>${r.health === 'unknown' ? '—' : ago(r.lastSeen)}</td>
    <td class="num">${r.busiestTrampoline}/${budget}</td>
    ${policies.map((p) => {
      const c = r.cells[p];
      const state = c?.state ?? 'none';
      return html`<td>
        <span
          class="cell cell-${state}"
          data-node=${r.nodeId}
          data-policy=${p}
          data-state=${state}
          title=${c ? `${c.attached} attached, ${c.pending} pending, ${c.rejected} rejected` : ''}
          >${CELL_TEXT[state]}${c && c.attached > 0 ? html` <small>${c.attached}</small>` : nothing}</span
        >
      </td>`;
    })}
  </tr>
`;

export const renderFleetGrid = (page: FleetPage, caption: string): TemplateResult => {
  const policies = page.policies.map((p) => p.name);
  return html`
    <div class="table-wrap">
      <table class="grid" id="fleet-grid">
        <caption>
          ${caption}
        </caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Labels</th>
            <th scope="col">Kernel</th>
            <th scope="col">Attach path</th>
            <th scope="col">Health</th>
            <th scope="col">Last seen</th>
            <th scope="col">Busiest trampoline</th>
            ${page.policies.map((p) => html`<th scope="col">${p.name} <small>v${p.version}</small></th>`)}
          </tr>
        </thead>
        <tbody>
          ${page.items.map((r) => row(r, policies, 38))}
        </tbody>
      </table>
    </div>
    ${
      page.items.length < page.total
        ? html`<p class="muted">
            Showing ${page.items.length} of ${page.total} nodes: narrow the label filter.
          </p>`
        : nothing
    }
  `;
};

export const createFleetView = (ctx: ViewContext): View => {
  let page: FleetPage | undefined;
  let error: unknown;
  let label = '';
  const load = async (): Promise<void> => {
    try {
      page = await fetchFleet(label);
      error = undefined;
    } catch (e) {
      error = e;
    }
    ctx.rerender();
  };
  const reload = debounce(() => void load(), 300);
  return {
    load,
    onEvent: () => reload(),
    render: () => html`
      <h1>Fleet</h1>
      <form
        class="toolbar"
        role="search"
        @submit=${(e: Event) => {
          e.preventDefault();
          void load();
        }}
      >
        <label for="label-filter">Label filter</label>
        <input
          id="label-filter"
          name="label"
          placeholder="role=web,zone"
          .value=${label}
          @input=${(e: Event) => {
            label = (e.target as HTMLInputElement).value;
            reload();
          }}
        />
        <span class="legend" aria-label="legend">
          <span class="cell cell-attached">attached</span>
          <span class="cell cell-pending">pending</span>
          <span class="cell cell-rejected">rejected</span>
          <span class="cell cell-trampoline-full">trampoline full</span>
        </span>
      </form>
      ${errorBox(error)}
      ${
        page === undefined
          ? html`<p aria-busy="true">Loading the fleet…</p>`
          : html`<p class="muted">
                ${page.total} nodes, ${page.policies.length} policies, log position ${page.position}
              </p>
              ${renderFleetGrid(page, 'Nodes and the state of each policy on them')}`
      }
    `,
  };
};
