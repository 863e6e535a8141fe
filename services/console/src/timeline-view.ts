/**
 * Log timeline: the events of the log by position and time, filtered by type, node, policy or
 * actor, in a virtualised list (only the rows in sight are drawn, and only their pages are
 * fetched, so a log of 1,000,000 events scrolls like one of 100); and a slider that shows the
 * whole fleet as it stood at any past position (time travel: `?at=` of the console endpoints).
 */
import { html, nothing } from 'lit-html';
import type { TemplateResult } from 'lit-html';
import { apiFetch, q } from './api.js';
import { createFleetGrid, fetchFleet } from './fleet-view.js';
import type { ConsoleEvent, EventsPage, FleetPage } from './types.js';
import type { View, ViewContext } from './view.js';
import { cssom, debounce, errorBox } from './view.js';

const ROW_PX = 28;
/** Positions per page fetched for the unfiltered list. */
const PAGE = 200;
/** Browsers cap an element's height; past this the scrollbar maps onto the rows instead. */
const MAX_SCROLL_PX = 10_000_000;
/** Pages kept in memory at most (the oldest seen go first). */
const MAX_PAGES = 200;

interface Filters {
  type: string;
  node: string;
  policy: string;
  actor: string;
}

const filtered = (f: Filters): boolean => Object.values(f).some((v) => v.trim() !== '');

export const createTimelineView = (ctx: ViewContext): View => {
  const filters: Filters = { type: '', node: '', policy: '', actor: '' };
  let head = 0;
  let error: unknown;
  /** unfiltered: page start position -> events of positions start+1 .. start+PAGE */
  const pages = new Map<number, Map<number, ConsoleEvent> | 'loading'>();
  /** filtered: the matching events read so far, in order, and where to go on */
  let matches: ConsoleEvent[] = [];
  let matchesNext: number | null = 0;
  let matchesLoading = false;
  let scrollTop = 0;
  let viewportPx = 480;
  let stickToEnd = true;
  /** time travel: the position the fleet is shown at (undefined: live) */
  let at: number | undefined;
  let fleetAt: FleetPage | undefined;
  let fleetError: unknown;
  const grid = createFleetGrid(() => ctx.rerender());

  const filterQuery = () => ({
    type: filters.type.trim(),
    node: filters.node.trim(),
    policy: filters.policy.trim(),
    actor: filters.actor.trim(),
  });

  const rowCount = (): number => (filtered(filters) ? matches.length : head);

  /** The first row in sight and its offset, mapping the scrollbar when the list is very long. */
  const windowOf = (): { first: number; offset: number; count: number; spacer: number } => {
    const total = rowCount();
    const count = Math.ceil(viewportPx / ROW_PX) + 2;
    const natural = total * ROW_PX;
    if (natural <= MAX_SCROLL_PX) {
      const first = Math.max(0, Math.floor(scrollTop / ROW_PX));
      return { first, offset: first * ROW_PX, count, spacer: natural };
    }
    const ratio = (total - count) / (MAX_SCROLL_PX - viewportPx);
    const first = Math.max(0, Math.min(total - count, Math.floor(scrollTop * ratio)));
    return { first, offset: scrollTop, count, spacer: MAX_SCROLL_PX };
  };

  const loadPage = async (start: number): Promise<void> => {
    if (pages.has(start)) return;
    pages.set(start, 'loading');
    try {
      const page = await apiFetch<EventsPage>(
        `/v1/console/events${q({ after: start, limit: PAGE })}`,
      );
      const byPosition = new Map<number, ConsoleEvent>();
      for (const e of page.items) if (e.position <= start + PAGE) byPosition.set(e.position, e);
      pages.set(start, byPosition);
      head = Math.max(head, page.head);
      while (pages.size > MAX_PAGES) pages.delete(pages.keys().next().value!);
    } catch (e) {
      pages.delete(start);
      error = e;
    }
    ctx.rerender();
  };

  const loadMatches = async (): Promise<void> => {
    if (matchesLoading || matchesNext === null) return;
    matchesLoading = true;
    try {
      const page = await apiFetch<EventsPage>(
        `/v1/console/events${q({ ...filterQuery(), after: matchesNext, limit: 500 })}`,
      );
      matches = [...matches, ...page.items];
      matchesNext = page.nextAfter;
      head = Math.max(head, page.head);
      error = undefined;
    } catch (e) {
      error = e;
      matchesNext = null;
    } finally {
      matchesLoading = false;
    }
    ctx.rerender();
  };

  /** Fetches what the rows in sight need. */
  const ensure = (): void => {
    const { first, count } = windowOf();
    if (filtered(filters)) {
      if (first + count >= matches.length - 50) void loadMatches();
      return;
    }
    for (let p = first; p < first + count; p += PAGE) void loadPage(Math.floor(p / PAGE) * PAGE);
    void loadPage(Math.floor(Math.min(head - 1, first + count) / PAGE) * PAGE);
  };

  /** answers older than the last position asked for are dropped (the slider moved on) */
  let asked = 0;
  const loadFleetAt = async (): Promise<void> => {
    const ticket = ++asked;
    try {
      const page = await fetchFleet('', at, (p) => {
        if (ticket !== asked) return;
        fleetAt = p;
        ctx.rerender();
      });
      if (ticket !== asked) return;
      fleetAt = page;
      fleetError = undefined;
    } catch (e) {
      if (ticket !== asked) return;
      fleetError = e;
    }
    ctx.rerender();
  };
  const travel = debounce(() => void loadFleetAt(), 200);

  const scrollToEnd = (): void => {
    const el = document.querySelector<HTMLElement>('#timeline-viewport');
    if (el === null) return;
    el.scrollTop = el.scrollHeight;
  };

  const load = async (): Promise<void> => {
    try {
      const first = await apiFetch<EventsPage>(`/v1/console/events${q({ after: 0, limit: 1 })}`);
      head = first.head;
      error = undefined;
    } catch (e) {
      error = e;
    }
    pages.clear();
    matches = [];
    matchesNext = 0;
    ctx.rerender();
    ensure();
    await loadFleetAt();
    if (stickToEnd) requestAnimationFrame(scrollToEnd);
  };
  const reloadMatches = debounce(() => {
    matches = [];
    matchesNext = 0;
    scrollTop = 0;
    ensure();
    ctx.rerender();
  }, 300);

  const setAt = (value: number | undefined): void => {
    at = value === undefined || value >= head ? undefined : Math.max(0, value);
    ctx.rerender();
    travel();
  };

  const row = (index: number): TemplateResult => {
    const e = filtered(filters) ? matches[index] : undefined;
    const position = filtered(filters) ? (e?.position ?? 0) : index + 1;
    const page = filtered(filters) ? undefined : pages.get(Math.floor(index / PAGE) * PAGE);
    const event = filtered(filters) ? e : page instanceof Map ? page.get(position) : undefined;
    const known = filtered(filters) || page instanceof Map;
    return html`<li
      class="event ${at !== undefined && position > at ? 'future' : ''}"
      data-position=${position}
      data-type=${event?.type ?? ''}
    >
      <button
        type="button"
        class="linkish"
        @click=${() => setAt(position)}
        title="Show the fleet at position ${position}"
      >
        #${position}
      </button>
      ${
        event === undefined
          ? html`<span class="muted">${known ? '(not a fleet event)' : '…'}</span>`
          : html`<time>${event.occurredAt.replace('T', ' ').replace(/\..*$/, '')}</time>
              <strong>${event.type}</strong>
              <span class="who">${event.nodeId ?? event.policy ?? ''}</span>
              <span class="summary">${event.summary}</span>
              <span class="muted">${event.actor}</span>`
      }
    </li>`;
  };

  const list = (): TemplateResult => {
    const total = rowCount();
    const w = windowOf();
    const last = Math.min(total, w.first + w.count);
    return html`<div
      id="timeline-viewport"
      class="viewport"
      tabindex="0"
      role="region"
      aria-label="Log events (${total})"
      @scroll=${(e: Event) => {
        const el = e.target as HTMLElement;
        scrollTop = el.scrollTop;
        viewportPx = el.clientHeight;
        stickToEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_PX;
        ensure();
        ctx.rerender();
      }}
    >
      <div class="spacer" ${cssom({ height: `${w.spacer}px` })}>
        <ol class="rows" start=${w.first + 1} ${cssom({ transform: `translateY(${w.offset}px)` })}>
          ${Array.from({ length: Math.max(0, last - w.first) }, (_, i) => row(w.first + i))}
        </ol>
      </div>
    </div>`;
  };

  const filterInput = (key: keyof Filters, label: string, placeholder: string) =>
    html`<label
      >${label}
      <input
        name=${key}
        placeholder=${placeholder}
        .value=${filters[key]}
        @input=${(e: Event) => {
          filters[key] = (e.target as HTMLInputElement).value;
          reloadMatches();
        }}
    /></label>`;

  return {
    load,
    position: () => (head > 0 ? head : undefined),
    onEvent: (e) => {
      head = Math.max(head, e.position);
      const start = Math.floor((e.position - 1) / PAGE) * PAGE;
      const page = pages.get(start);
      if (page instanceof Map) page.set(e.position, e);
      else if (!filtered(filters)) void loadPage(start);
      if (filtered(filters) && matchesNext === null) {
        matchesNext = matches[matches.length - 1]?.position ?? 0;
        void loadMatches();
      }
      if (at === undefined) travel();
      ctx.rerender();
      if (stickToEnd) requestAnimationFrame(scrollToEnd);
    },
    render: () => html`
      <h1>Log timeline</h1>
      <form class="toolbar" role="search" @submit=${(e: Event) => e.preventDefault()}>
        ${filterInput('type', 'Type', 'PolicyApplied,LinkCreated')}
        ${filterInput('node', 'Node', 'web-1')} ${filterInput('policy', 'Policy', 'tcp-latency')}
        ${filterInput('actor', 'Actor', 'token:admin')}
      </form>
      ${errorBox(error)}
      <p class="muted">
        ${head} log
        positions${
          filtered(filters)
            ? html`, ${matches.length} matching so
              far${matchesNext !== null ? ' (reading on as you scroll)' : ''}`
            : nothing
        }
      </p>
      ${list()}
      <h2 id="travel-title">The fleet at a position</h2>
      <div class="travel">
        <label for="travel-slider">Position</label>
        <input
          id="travel-slider"
          type="range"
          min="0"
          max=${head}
          .value=${String(at ?? head)}
          @input=${(e: Event) => setAt(Number((e.target as HTMLInputElement).value))}
        />
        <label for="travel-position" class="visually-hidden">Position number</label>
        <input
          id="travel-position"
          type="number"
          min="0"
          max=${head}
          .value=${String(at ?? head)}
          @change=${(e: Event) => setAt(Number((e.target as HTMLInputElement).value))}
        />
        <button type="button" ?disabled=${at === undefined} @click=${() => setAt(undefined)}>
          Back to live
        </button>
        <span id="travel-state" role="status"
          >${at === undefined ? 'live' : `as of position ${at} of ${head}`}</span
        >
      </div>
      ${errorBox(fleetError)}
      ${
        fleetAt === undefined
          ? nothing
          : grid.render(
              fleetAt,
              fleetAt.live
                ? 'The fleet now'
                : `The fleet as it stood at position ${fleetAt.position}${fleetAt.recordedAt ? ` (${fleetAt.recordedAt})` : ''}`,
            )
      }
    `,
  };
};
