/** What every view is given by the shell (main.ts), and small helpers they share. */
import { html, nothing } from 'lit-html';
import type { TemplateResult } from 'lit-html';
import { ref } from 'lit-html/directives/ref.js';
import type { ConsoleEvent, WhoAmI } from './types.js';

export interface ViewContext {
  /** draws the page again (after data arrived or state changed) */
  readonly rerender: () => void;
  /** the signed-in identity (null until known) */
  readonly who: () => WhoAmI | null;
  /** the last log position the page knows of */
  readonly head: () => number;
}

export interface View {
  /** fetches what the view shows (again) */
  load(): Promise<void>;
  render(): TemplateResult;
  /** a live event arrived (the view decides whether to reload) */
  onEvent?(e: ConsoleEvent): void;
  /** the view is left */
  leave?(): void;
  /** the log position the view's data stands at, once loaded (the live feed resumes there) */
  position?(): number | undefined;
}

/**
 * Sets inline styles through the CSSOM (allowed by the CSP's `style-src 'self'`, unlike a `style`
 * attribute, which lit-html's styleMap writes on first render).
 */
export const cssom = (styles: Readonly<Record<string, string>>) =>
  ref((el) => {
    if (el instanceof HTMLElement)
      for (const [k, v] of Object.entries(styles)) el.style.setProperty(k, v);
  });

export const mayOperate = (who: WhoAmI | null): boolean =>
  who !== null && (who.role === 'operator' || who.role === 'admin');

export const ago = (iso: string | null, now = Date.now()): string => {
  if (iso === null) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return iso;
  if (s < 2) return 'just now';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
};

export const labelsText = (labels: Readonly<Record<string, string>>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

export const errorBox = (error: unknown): TemplateResult | typeof nothing =>
  error === undefined || error === null
    ? nothing
    : html`<p class="error" role="alert">
        ${error instanceof Error ? error.message : String(error)}
      </p>`;

/** Calls `f` at most once per `ms` (the last call wins), for live reloads. */
export const debounce = (f: () => void, ms: number): (() => void) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      f();
    }, ms);
  };
};

export const nodeLink = (id: string): TemplateResult =>
  html`<a href="#/node/${encodeURIComponent(id)}">${id}</a>`;
