/**
 * Function: which nodes and programs trace a kernel function now (e.g. tcp_sendmsg), and its
 * history: the events of the log that name it, in log order, page by page.
 */
import { html, nothing } from 'lit-html';
import type { TemplateResult } from 'lit-html';
import { apiFetch, q } from './api.js';
import type { ConsoleEvent, EventsPage, FunctionPage, FunctionUse } from './types.js';
import type { View, ViewContext } from './view.js';
import { debounce, errorBox, nodeLink } from './view.js';

const FUNCTION_NAME = /^[A-Za-z0-9._:@/-]{1,253}$/;

export const createFunctionView = (
  ctx: ViewContext,
  initial: string,
  navigate: (hash: string) => void,
): View => {
  let name = initial;
  let uses: FunctionUse[] | undefined;
  let history: ConsoleEvent[] = [];
  let nextAfter: number | null = 0;
  let error: unknown;

  const loadHistory = async (after: number): Promise<void> => {
    const page = await apiFetch<EventsPage>(
      `/v1/console/events${q({ function: name, after, limit: 200 })}`,
    );
    history = after === 0 ? page.items : [...history, ...page.items];
    nextAfter = page.nextAfter;
  };
  const load = async (): Promise<void> => {
    if (name === '') return;
    try {
      const first = await apiFetch<FunctionPage>(
        `/v1/console/functions/${encodeURIComponent(name)}${q({ limit: 1000 })}`,
      );
      uses = first.items;
      await loadHistory(0);
      error = undefined;
    } catch (e) {
      error = e;
    }
    ctx.rerender();
  };
  const reload = debounce(() => void load(), 300);

  const usesTable = (list: FunctionUse[]): TemplateResult =>
    list.length === 0
      ? html`<p id="no-uses">Nothing traces ${name} now.</p>`
      : html`<table class="grid" id="function-uses">
          <caption>
            ${list.length} link(s) on ${new Set(list.map((u) => u.nodeId)).size} node(s) trace
            ${name} now
          </caption>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Program</th>
              <th scope="col">Policy</th>
              <th scope="col">Type</th>
              <th scope="col">Link</th>
              <th scope="col">Trampoline links</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            ${list.map(
              (u) =>
                html`<tr>
                  <th scope="row">${nodeLink(u.nodeId)}</th>
                  <td>${u.programName}#${u.programId}</td>
                  <td>${u.policy ?? '—'}</td>
                  <td>${u.attachType}</td>
                  <td class="num">${u.linkId}</td>
                  <td class="num">${u.trampolineLinks}</td>
                  <td>${u.createdAt}</td>
                </tr>`,
            )}
          </tbody>
        </table>`;

  return {
    load,
    onEvent: (e) => {
      if (e.function === name || e.type.startsWith('Link') || e.type === 'NodeReconciled') reload();
    },
    render: () => html`
      <h1>Function</h1>
      <form
        class="toolbar"
        role="search"
        @submit=${(e: Event) => {
          e.preventDefault();
          const value = (
            (e.target as HTMLFormElement).elements.namedItem('fn') as HTMLInputElement
          ).value.trim();
          if (!FUNCTION_NAME.test(value)) {
            error = new Error('a function name: letters, digits and ._:@/- (e.g. tcp_sendmsg)');
            ctx.rerender();
            return;
          }
          name = value;
          navigate(`#/function/${encodeURIComponent(value)}`);
        }}
      >
        <label for="fn-search">Kernel function</label>
        <input id="fn-search" name="fn" placeholder="tcp_sendmsg" .value=${name} required />
        <button type="submit">Search</button>
      </form>
      ${errorBox(error)}
      ${
        name === ''
          ? html`<p>Search a function to see who traces it.</p>`
          : uses === undefined
            ? html`<p aria-busy="true">Loading…</p>`
            : html`${usesTable(uses)}
                <h2>History of ${name}</h2>
                ${
                  history.length === 0
                    ? html`<p>No event of the log names ${name}.</p>`
                    : html`<ol class="events">
                        ${history.map(
                          (e) =>
                            html`<li>
                              <span class="pos">#${e.position}</span> <time>${e.occurredAt}</time>
                              <strong>${e.type}</strong> ${e.nodeId ?? ''} — ${e.summary}
                              <span class="muted">by ${e.actor}</span>
                            </li>`,
                        )}
                      </ol>`
                }
                ${
                  nextAfter !== null
                    ? html`<button
                        type="button"
                        @click=${async () => {
                          await loadHistory(nextAfter ?? 0);
                          ctx.rerender();
                        }}
                      >
                        Older log positions: read further
                      </button>`
                    : nothing
                }`
      }
    `,
  };
};
