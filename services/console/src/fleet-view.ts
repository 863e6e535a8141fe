/**
 * Fleet: nodes x policies, each cell attached / pending / rejected / trampoline-full, with the
 * node's labels, kernel profile, attach path, health and last heartbeat; a label filter. The
 * grid is also what the timeline shows at a past position (`renderFleetGrid`).
 */
import { html, nothing } from 'lit-html';
import type { TemplateResult } from 'lit-html';
import { repeat } from 'lit-html/directives/repeat.js';
import { apiFetch, q } from './api.js';
import type { FleetPage, FleetRow } from './types.js';
import type { View, ViewContext } from './view.js';
import { ago, cssom, debounce, errorBox, labelsText, nodeLink } from './view.js';

const CELL_TEXT: Record<string, string> = {
  attached: 'attached',
  pending: 'pending',
  rejected: 'rejected',
  'trampoline-full': 'trampoline full',
  none: '—',
};

/** The links one kernel trampoline may hold (BPF_MAX_TRAMP_LINKS on x86_64). */
const TRAMPOLINE_BUDGET = 38;

/** Rows read at most; past that the filter narrows (the count says how many there are). */
export const MAX_ROWS = 5000;
/** The first page: enough rows to fill the screen, so the first view needs one small answer. */
const FIRST_PAGE = 100;
/** Each later page (the API's most). */
const PAGE = 1000;
/** A row's height until one is measured (CSS: `table.grid tbody tr`). */
const ROW_PX = 29;
/** Rows drawn above and below those in sight, so a short scroll needs no redraw. */
const OVERSCAN = 15;

const firstFleetPage = (label: string, at?: number): Promise<FleetPage> =>
  apiFetch<FleetPage>(`/v1/console/fleet${q({ label, at, limit: FIRST_PAGE })}`);

/**
 * The fleet at `at` (live when undefined), in pages: `onPage` is called with the rows read so far
 * after the first (small) page and after each later one, so the first screen is drawn before the
 * rest has arrived. Resolves with every row (at most `MAX_ROWS`).
 */
export const fetchFleet = async (
  label: string,
  at?: number,
  onPage: (page: FleetPage) => void = () => undefined,
  firstPage?: Promise<FleetPage>,
): Promise<FleetPage> => {
  const first = await (firstPage ?? firstFleetPage(label, at));
  const items = [...first.items];
  let cursor = first.nextCursor;
  if (cursor !== null) onPage({ ...first, items: [...items] });
  while (cursor !== null && items.length < MAX_ROWS) {
    const page = await apiFetch<FleetPage>(
      `/v1/console/fleet${q({ label, at: first.live ? undefined : first.position, limit: PAGE, cursor })}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
    if (cursor !== null) onPage({ ...first, items: [...items] });
  }
  return { ...first, items, nextCursor: cursor };
};

/**
 * The first fleet page asked for before sign-in is confirmed (main.ts): the answer and the
 * whoami check travel together, so the first view waits for one round trip, not two.
 */
let early: Promise<FleetPage> | undefined;
export const prefetchFleet = (): void => {
  early = firstFleetPage('');
  early.catch(() => undefined);
};
/** Forgets the early page (the sign-in failed: it was asked with a token now refused). */
export const dropPrefetch = (): void => {
  early = undefined;
};

const row = (
  r: FleetRow,
  index: number,
  policies: readonly string[],
  budget: number,
): TemplateResult => html`
  <tr data-node=${r.nodeId} aria-rowindex=${index + 2}>
    <th scope="row" elementtiming=${index === 0 ? 'fleet-rows' : nothing}>${nodeLink(r.nodeId)}</th>
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

/** An empty row standing for `count` rows out of sight (virtualised grid). */
const gap = (count: number, rowPx: number, columns: number): TemplateResult =>
  html`<tr class="gap" aria-hidden="true" ${cssom({ height: `${count * rowPx}px` })}>
    <td colspan=${columns}></td>
  </tr>`;

export interface FleetGrid {
  /** the grid of `page`'s rows: only those in sight (and a few more) are in the DOM */
  render(page: FleetPage, caption: string): TemplateResult;
}

/**
 * A fleet grid that draws only the rows in sight of its scrolling box: a 5,000-node fleet costs
 * the page about 60 rows, and scrolling redraws only when the rows in sight change. Rows have
 * one height (CSS), measured from the first drawn; the rows out of sight are two empty rows.
 */
export const createFleetGrid = (rerender: () => void): FleetGrid => {
  let scrollTop = 0;
  let viewportPx = typeof window === 'undefined' ? 900 : window.innerHeight;
  let rowPx = ROW_PX;
  let drawn = { first: 0, last: 0 };
  const range = (rows: number) => {
    const first = Math.max(0, Math.floor(scrollTop / rowPx) - OVERSCAN);
    const last = Math.min(rows, Math.ceil((scrollTop + viewportPx) / rowPx) + OVERSCAN);
    return { first, last: Math.max(first, last) };
  };
  return {
    render: (page, caption) => {
      const policies = page.policies.map((p) => p.name);
      const columns = 7 + policies.length;
      const rows = page.items;
      const { first, last } = range(rows.length);
      drawn = { first, last };
      return html`
        <div
          class="table-wrap"
          @scroll=${(e: Event) => {
            const el = e.currentTarget as HTMLElement;
            scrollTop = el.scrollTop;
            viewportPx = el.clientHeight;
            const measured = el
              .querySelector('tbody tr[data-node]')
              ?.getBoundingClientRect().height;
            if (measured !== undefined && measured > 0) rowPx = measured;
            const next = range(rows.length);
            if (next.first !== drawn.first || next.last !== drawn.last) rerender();
          }}
        >
          <table class="grid" id="fleet-grid" aria-rowcount=${page.total + 1}>
            <caption>
              ${caption}
            </caption>
            <thead>
              <tr aria-rowindex="1">
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
              ${first > 0 ? gap(first, rowPx, columns) : nothing}
              ${repeat(
                rows.slice(first, last),
                (r) => r.nodeId,
                (r, i) => row(r, first + i, policies, TRAMPOLINE_BUDGET),
              )}
              ${last < rows.length ? gap(rows.length - last, rowPx, columns) : nothing}
            </tbody>
          </table>
        </div>
        ${
          rows.length < page.total
            ? html`<p class="muted">
                Showing ${rows.length} of ${page.total}
                nodes${rows.length >= MAX_ROWS ? ': narrow the label filter' : ' (reading the rest)'}.
              </p>`
            : nothing
        }
      `;
    },
  };
};

export const createFleetView = (ctx: ViewContext): View => {
  let page: FleetPage | undefined;
  let error: unknown;
  let label = '';
  /** answers older than the last load asked for are dropped (the filter moved on) */
  let asked = 0;
  const grid = createFleetGrid(() => ctx.rerender());
  const load = async (): Promise<void> => {
    const ticket = ++asked;
    const show = (p: FleetPage): void => {
      if (ticket !== asked) return;
      page = p;
      error = undefined;
      ctx.rerender();
    };
    const prefetched = label === '' ? early : undefined;
    early = undefined;
    try {
      show(await fetchFleet(label, undefined, show, prefetched));
    } catch (e) {
      if (ticket !== asked) return;
      error = e;
      ctx.rerender();
    }
  };
  const reload = debounce(() => void load(), 300);
  return {
    load,
    position: () => page?.head,
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
          : html`<p class="muted" id="fleet-summary" data-total=${page.total}>
                ${page.total} nodes, ${page.policies.length} policies, log position ${page.position}
              </p>
              ${grid.render(page, 'Nodes and the state of each policy on them')}`
      }
    `,
  };
};
