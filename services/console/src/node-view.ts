/**
 * Node: its links and the functions they connect, each trampoline's occupancy against the
 * kernel's budget (38 links on x86_64), its modules and the targets pending on modules not
 * loaded (with a Load button for operators), the last reconcile and any drift.
 */
import { html, nothing } from 'lit-html';
import type { TemplateResult } from 'lit-html';
import { apiFetch } from './api.js';
import type { NodeDetail } from './types.js';
import type { View, ViewContext } from './view.js';
import { ago, debounce, errorBox, labelsText, mayOperate } from './view.js';

export const createNodeView = (ctx: ViewContext, nodeId: string): View => {
  let node: NodeDetail | undefined;
  let error: unknown;
  let actionError: unknown;
  let loading: string | undefined;

  const load = async (): Promise<void> => {
    try {
      node = await apiFetch<NodeDetail>(`/v1/console/nodes/${encodeURIComponent(nodeId)}`);
      error = undefined;
    } catch (e) {
      error = e;
    }
    ctx.rerender();
  };
  const reload = debounce(() => void load(), 250);

  const loadModule = async (module: string): Promise<void> => {
    loading = module;
    actionError = undefined;
    ctx.rerender();
    try {
      const r = await apiFetch<{ ok: boolean; reason?: string }>(
        `/v1/nodes/${encodeURIComponent(nodeId)}/modules/${encodeURIComponent(module)}/load`,
        { method: 'POST' },
      );
      if (!r.ok) actionError = new Error(`${module} did not load: ${r.reason ?? 'refused'}`);
    } catch (e) {
      actionError = e;
    } finally {
      loading = undefined;
      await load();
    }
  };

  const body = (n: NodeDetail): TemplateResult => {
    const pendingModules = [...new Set(n.pending.map((p) => p.module))];
    return html`
      <dl class="facts">
        <dt>Labels</dt>
        <dd>${labelsText(n.labels) || '—'}</dd>
        <dt>Kernel</dt>
        <dd>${n.kernelRelease} (${n.profile}), attach path ${n.attachPath ?? '—'}</dd>
        <dt>Health</dt>
        <dd>
          ${
            n.liveness === null
              ? 'not known at a past position'
              : html`${n.liveness.stale ? 'stale' : 'heard'} ${ago(n.liveness.lastSeen)},
                ${n.liveness.admission}`
          }
        </dd>
        <dt>Last reconcile</dt>
        <dd>
          generation ${n.observedGeneration ?? '—'} of ${n.generation}
          ${
            n.observedGeneration !== null && n.observedGeneration >= n.generation
              ? html`<span class="good">(converged)</span>`
              : html`<span class="warn">(behind)</span>`
          }
        </dd>
        <dt>Drift</dt>
        <dd>
          ${
            n.drift.length === 0
              ? 'none'
              : html`<span class="bad">${n.drift.length} difference(s)</span>
                  <pre>${JSON.stringify(n.drift, null, 1)}</pre>`
          }
        </dd>
        <dt>Boot</dt>
        <dd>${n.bootId} at ${n.bootedAt ?? '—'}</dd>
      </dl>

      <h2>Trampolines</h2>
      ${
        n.trampolines.length === 0
          ? html`<p>No function is traced on this node.</p>`
          : html`<ul class="bars">
              ${n.trampolines.map(
                (t) =>
                  html`<li>
                    <label for="tr-${t.objId}-${t.btfId}"
                      ><a href="#/function/${encodeURIComponent(t.function)}">${t.function}</a>
                      <span class="num">${t.links} of ${n.trampolineBudget} links</span></label
                    >
                    <meter
                      id="tr-${t.objId}-${t.btfId}"
                      min="0"
                      max=${n.trampolineBudget}
                      low=${Math.floor(n.trampolineBudget * 0.6)}
                      high=${Math.floor(n.trampolineBudget * 0.85)}
                      optimum="0"
                      .value=${t.links}
                    ></meter>
                  </li>`,
              )}
            </ul>`
      }

      <h2>Links</h2>
      <table class="grid">
        <caption class="visually-hidden">
          Links of ${n.nodeId}
        </caption>
        <thead>
          <tr>
            <th scope="col">Link</th>
            <th scope="col">Program</th>
            <th scope="col">Policy</th>
            <th scope="col">Type</th>
            <th scope="col">Functions</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          ${n.links.map(
            (l) =>
              html`<tr>
                <td class="num">${l.linkId}</td>
                <td>${l.programName}#${l.programId}</td>
                <td>${l.policy ?? '—'}</td>
                <td>${l.attachType}</td>
                <td>
                  ${l.functions.map(
                    (f, i) =>
                      html`${i > 0 ? ', ' : ''}<a href="#/function/${encodeURIComponent(f)}"
                          >${f}</a
                        >`,
                  )}
                </td>
                <td>${l.createdAt} by ${l.createdBy}</td>
              </tr>`,
          )}
        </tbody>
      </table>

      <h2>Modules</h2>
      <p>${n.modules.map((m) => m.module).join(', ') || 'none loaded'}</p>
      <h2>Pending targets</h2>
      ${
        n.pending.length === 0
          ? html`<p id="no-pending">Nothing waits for a module.</p>`
          : html`<ul id="pending-targets">
                ${n.pending.map(
                  (p) => html`<li>${p.function} (${p.policy}) waits for module ${p.module}</li>`,
                )}
              </ul>
              ${
                mayOperate(ctx.who()) && n.live
                  ? pendingModules.map(
                      (m) =>
                        html`<button
                          type="button"
                          data-module=${m}
                          ?disabled=${loading !== undefined}
                          @click=${() => void loadModule(m)}
                        >
                          Load module ${m}
                        </button>`,
                    )
                  : nothing
              }`
      }
      ${errorBox(actionError)}
      ${
        n.rejected.length === 0
          ? nothing
          : html`<h2>Rejected targets</h2>
              <ul>
                ${n.rejected.map(
                  (r) => html`<li>${r.function} (${r.policy}): errno ${r.errno}, ${r.reason}</li>`,
                )}
              </ul>`
      }
    `;
  };

  return {
    load,
    onEvent: (e) => {
      if (e.nodeId === nodeId) reload();
    },
    render: () => html`
      <h1>Node ${nodeId}</h1>
      ${errorBox(error)} ${node === undefined ? html`<p aria-busy="true">Loading…</p>` : body(node)}
    `,
  };
};
