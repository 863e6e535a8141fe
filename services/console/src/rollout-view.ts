/**
 * Rollouts: each rollout's waves as a timeline with their progress, the failure gate
 * (maxFailureRatio), why a wave is held, the pause before the next wave counting down; resume
 * and rollback for operators, each behind a confirmation dialog.
 */
import { html, nothing } from 'lit-html';
import type { TemplateResult } from 'lit-html';
import { apiFetch } from './api.js';
import type { RolloutSummary, RolloutsPage, WaveSummary } from './types.js';
import type { View, ViewContext } from './view.js';
import { debounce, errorBox, mayOperate } from './view.js';

interface Pending {
  readonly kind: 'resume' | 'rollback';
  readonly rollout: RolloutSummary;
}

const pauseLeft = (r: RolloutSummary, now: number): number | undefined => {
  const ends = r.phase?.pauseEndsAt;
  if (ends === null || ends === undefined) return undefined;
  return Math.max(0, Math.ceil((Date.parse(ends) - now) / 1000));
};

const wave = (r: RolloutSummary, w: WaveSummary): TemplateResult => {
  const judged = w.succeeded + w.failed;
  return html`<li class="wave wave-${w.status}" data-wave=${w.index} data-status=${w.status}>
    <h3>Wave ${w.index + 1} <span class="badge">${w.status}</span></h3>
    <label
      >${w.succeeded} of ${w.nodes.length} nodes converged
      <progress max=${Math.max(1, w.nodes.length)} .value=${judged}></progress>
    </label>
    ${w.failed > 0 ? html`<p class="bad">${w.failed} failed</p>` : nothing}
    ${w.reason !== null ? html`<p class="reason" role="status">Held: ${w.reason}</p>` : nothing}
    <details>
      <summary>${w.nodes.length} nodes</summary>
      <p class="small">${w.nodes.join(', ')}</p>
    </details>
  </li>`;
};

export const createRolloutView = (ctx: ViewContext): View => {
  let page: RolloutsPage | undefined;
  let error: unknown;
  let pending: Pending | undefined;
  let actionError: unknown;
  let busy = false;
  let ticker: ReturnType<typeof setInterval> | undefined;

  const load = async (): Promise<void> => {
    try {
      page = await apiFetch<RolloutsPage>('/v1/console/rollouts');
      error = undefined;
    } catch (e) {
      error = e;
    }
    const paused = page?.items.some((r) => r.phase?.pauseEndsAt) ?? false;
    if (paused && ticker === undefined) ticker = setInterval(ctx.rerender, 1000);
    if (!paused && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
    ctx.rerender();
  };
  const reload = debounce(() => void load(), 250);

  const dialog = (): HTMLDialogElement | null =>
    document.querySelector<HTMLDialogElement>('#confirm-dialog');
  const ask = (p: Pending): void => {
    pending = p;
    actionError = undefined;
    ctx.rerender();
    queueMicrotask(() => dialog()?.showModal());
  };
  const confirm = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (pending === undefined) return;
    const form = e.target as HTMLFormElement;
    const reason = (form.elements.namedItem('reason') as HTMLInputElement | null)?.value ?? '';
    busy = true;
    ctx.rerender();
    try {
      if (pending.kind === 'resume')
        await apiFetch(`/v1/rollouts/${encodeURIComponent(pending.rollout.rolloutId)}/resume`, {
          method: 'POST',
        });
      else
        await apiFetch(`/v1/policies/${encodeURIComponent(pending.rollout.policy)}/rollback`, {
          method: 'POST',
          body: reason.trim() === '' ? {} : { reason: reason.trim() },
        });
      dialog()?.close();
      pending = undefined;
      await load();
    } catch (err) {
      actionError = err;
    } finally {
      busy = false;
      ctx.rerender();
    }
  };

  const rollout = (r: RolloutSummary, now: number): TemplateResult => {
    const left = pauseLeft(r, now);
    const operator = mayOperate(ctx.who());
    const resumable = r.status === 'held' || left !== undefined;
    return html`<section
      class="rollout"
      aria-labelledby="r-${r.rolloutId}"
      data-rollout=${r.rolloutId}
    >
      <h2 id="r-${r.rolloutId}">
        ${r.policy} v${r.policyVersion}
        <span class="badge status-${r.status}" data-status=${r.status}>${r.status}</span>
      </h2>
      <p class="muted">
        Rollout ${r.rolloutId}, started by ${r.startedBy} at ${r.startedAt}.
        ${r.maxFailureRatio === null ? nothing : html`Failure gate: at most ${r.maxFailureRatio * 100}% of a wave may fail.`}
        ${r.pauseSeconds ? html`Pause between waves: ${r.pauseSeconds} s.` : nothing}
      </p>
      ${
        r.reason !== null && !r.waves.some((w) => w.reason === r.reason)
          ? html`<p class="reason">${r.reason}</p>`
          : nothing
      }
      ${
        left !== undefined
          ? html`<p class="pause" role="timer" aria-live="off">Next wave in ${left} s</p>`
          : nothing
      }
      <ol class="waves">
        ${r.waves.map((w) => wave(r, w))}
        ${Array.from(
          { length: Math.max(0, r.waveCount - r.waves.length) },
          (_, i) =>
            html`<li class="wave wave-waiting">
              <h3>Wave ${r.waves.length + i + 1} <span class="badge">not started</span></h3>
            </li>`,
        )}
      </ol>
      ${
        operator
          ? html`<div class="actions">
              ${
                resumable
                  ? html`<button type="button" @click=${() => ask({ kind: 'resume', rollout: r })}>
                      Resume
                    </button>`
                  : nothing
              }
              ${
                r.status !== 'rolled-back'
                  ? html`<button
                      type="button"
                      class="danger"
                      @click=${() => ask({ kind: 'rollback', rollout: r })}
                    >
                      Roll back
                    </button>`
                  : nothing
              }
            </div>`
          : nothing
      }
    </section>`;
  };

  const confirmDialog = (): TemplateResult =>
    html`<dialog
      id="confirm-dialog"
      aria-labelledby="confirm-title"
      @close=${() => {
        pending = undefined;
        ctx.rerender();
      }}
    >
      ${
        pending === undefined
          ? nothing
          : html`<form @submit=${(e: Event) => void confirm(e)}>
              <h2 id="confirm-title">
                ${
                  pending.kind === 'resume'
                    ? `Resume rollout ${pending.rollout.rolloutId}?`
                    : `Roll back ${pending.rollout.policy}?`
                }
              </h2>
              <p>
                ${
                  pending.kind === 'resume'
                    ? 'The held wave’s failures are accepted and the rollout goes on to the next wave (tramway resume).'
                    : 'The previous version is applied again on every node this rollout reached, make-before-break (tramway rollback).'
                }
              </p>
              ${
                pending.kind === 'rollback'
                  ? html`<label for="rollback-reason">Reason (recorded in the log)</label>
                      <input id="rollback-reason" name="reason" maxlength="500" />`
                  : nothing
              }
              ${errorBox(actionError)}
              <div class="actions">
                <button type="button" @click=${() => dialog()?.close()}>Cancel</button>
                <button
                  type="submit"
                  class=${pending.kind === 'rollback' ? 'danger' : ''}
                  ?disabled=${busy}
                >
                  ${pending.kind === 'resume' ? 'Resume' : 'Roll back'}
                </button>
              </div>
            </form>`
      }
    </dialog>`;

  return {
    load,
    onEvent: (e) => {
      if (
        e.rolloutId !== null ||
        e.type.startsWith('Wave') ||
        e.type.startsWith('Rollout') ||
        e.type === 'NodeReconciled'
      )
        reload();
    },
    leave: () => {
      if (ticker !== undefined) clearInterval(ticker);
      ticker = undefined;
    },
    render: () => {
      const now = Date.now();
      return html`
        <h1>Rollouts</h1>
        ${errorBox(error)}
        ${
          page === undefined
            ? html`<p aria-busy="true">Loading rollouts…</p>`
            : page.items.length === 0
              ? html`<p>No rollout yet: apply a policy (tramway apply -f policy.yaml).</p>`
              : page.items.map((r) => rollout(r, now))
        }
        ${confirmDialog()}
      `;
    },
  };
};
