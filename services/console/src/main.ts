/**
 * The console's shell: sign-in (a bearer token, as for the API; a `#token=` sign-in link from
 * `npm start` signs in on its own), the navigation between the views, and the live feed that
 * tells the view in sight to refresh.
 */
import { html, nothing, render } from 'lit-html';
import './style.css';
import {
  ApiError,
  TOKEN_SYNTAX,
  apiFetch,
  forgetToken,
  storeToken,
  storedToken,
  takeTokenFromFragment,
  whenUnauthorized,
} from './api.js';
import { createFleetView, dropPrefetch, prefetchFleet } from './fleet-view.js';
import { createFunctionView } from './function-view.js';
import type { Live, LiveStatus } from './live.js';
import { startLive } from './live.js';
import { createNodeView } from './node-view.js';
import { createRolloutView } from './rollout-view.js';
import { createTimelineView } from './timeline-view.js';
import type { WhoAmI } from './types.js';
import type { View, ViewContext } from './view.js';

const root = document.querySelector<HTMLElement>('#app')!;

let who: WhoAmI | null = null;
let signInError: string | undefined;
let liveStatus: LiveStatus = 'connecting';
let live: Live | undefined;
let head = 0;
let view: View | undefined;
let viewKey = '';

const NAV = [
  ['#/fleet', 'Fleet'],
  ['#/rollouts', 'Rollouts'],
  ['#/function/', 'Function'],
  ['#/timeline', 'Timeline'],
] as const;

const ctx: ViewContext = {
  rerender: () => draw(),
  who: () => who,
  head: () => head,
};

const navigate = (hash: string): void => {
  if (location.hash === hash) void route();
  else location.hash = hash;
};

/** The view of the address's fragment (`#/fleet`, `#/node/web-1`, …). */
const viewOf = (hash: string): { key: string; make: () => View } => {
  const [, name = 'fleet', arg = ''] = /^#\/([a-z]+)\/?(.*)$/.exec(hash) ?? [];
  const value = decodeURIComponent(arg);
  switch (name) {
    case 'rollouts':
      return { key: 'rollouts', make: () => createRolloutView(ctx) };
    case 'node':
      return { key: `node/${value}`, make: () => createNodeView(ctx, value) };
    case 'function':
      return { key: `function/${value}`, make: () => createFunctionView(ctx, value, navigate) };
    case 'timeline':
      return { key: 'timeline', make: () => createTimelineView(ctx) };
    default:
      return { key: 'fleet', make: () => createFleetView(ctx) };
  }
};

/** Shows the view of the address; resolves once its data is loaded. */
const route = (): Promise<void> => {
  if (who === null) return Promise.resolve();
  const next = viewOf(location.hash);
  if (next.key === viewKey && view !== undefined) return Promise.resolve();
  view?.leave?.();
  viewKey = next.key;
  view = next.make();
  draw();
  const loaded = view.load();
  document.querySelector<HTMLElement>('main h1')?.focus();
  return loaded;
};

const signIn = async (): Promise<void> => {
  try {
    who = await apiFetch<WhoAmI>('/v1/console/whoami');
    signInError = undefined;
  } catch (e) {
    who = null;
    dropPrefetch();
    signInError =
      e instanceof ApiError && e.status === 401
        ? `The coordinator refused the token: ${e.message}`
        : `Cannot reach the coordinator: ${e instanceof Error ? e.message : String(e)}`;
    if (e instanceof ApiError && e.status === 401) forgetToken();
    draw();
    return;
  }
  live?.stop();
  live = undefined;
  const goLive = (after?: number): void => {
    if (who === null || live !== undefined) return;
    if (after !== undefined) head = Math.max(head, after);
    live = startLive(
      {
        event: (e) => {
          head = Math.max(head, e.position);
          view?.onEvent?.(e);
        },
        reset: (h) => {
          head = h;
          void view?.load();
        },
        status: (s) => {
          liveStatus = s;
          draw();
        },
      },
      after,
    );
  };
  viewKey = '';
  const loaded = route();
  // A view that says where its data stands is drawn first, then the feed resumes from there
  // (nothing missed in between): the first view does not share the start with the stream.
  if (view?.position === undefined) goLive();
  else void loaded.finally(() => goLive(view?.position?.()));
};

const signOut = (): void => {
  forgetToken();
  dropPrefetch();
  live?.stop();
  live = undefined;
  who = null;
  view?.leave?.();
  view = undefined;
  viewKey = '';
  draw();
};

whenUnauthorized((message) => {
  if (who === null) return;
  signOut();
  signInError = `Signed out: ${message}`;
  draw();
});

const signInForm = () => html`
  <main id="main" class="signin">
    <h1>Sign in to the Tramway console</h1>
    <p>
      Paste an API token (<code>tramway token create NAME --role viewer</code>; the first admin
      token is <code>.tramway/admin.token</code>). It is kept for this browser tab only.
    </p>
    <form
      @submit=${(e: Event) => {
        e.preventDefault();
        const input = (e.target as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
        const token = input.value.trim();
        if (!TOKEN_SYNTAX.test(token)) {
          signInError = 'That is not a token (letters, digits and ._~+/=- only).';
          draw();
          return;
        }
        storeToken(token);
        void signIn();
      }}
    >
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="off" required />
      <button type="submit">Sign in</button>
    </form>
    ${signInError === undefined ? nothing : html`<p class="error" role="alert">${signInError}</p>`}
  </main>
`;

const LIVE_TEXT: Record<LiveStatus, string> = {
  connecting: 'connecting…',
  live: 'live',
  offline: 'offline: reconnecting',
};

const draw = (): void => {
  if (who === null) {
    render(signInForm(), root);
    return;
  }
  const current = viewKey.split('/')[0];
  render(
    html`
      <a
        class="skip"
        href="#main"
        @click=${(e: Event) => {
          e.preventDefault();
          document.querySelector<HTMLElement>('main')?.focus();
        }}
        >Skip to content</a
      >
      <header>
        <span class="brand">Tramway</span>
        <nav aria-label="Views">
          <ul>
            ${NAV.map(
              ([href, text]) =>
                html`<li>
                  <a
                    href=${href}
                    aria-current=${href.slice(2).replace(/\/$/, '') === current ? 'page' : 'false'}
                    >${text}</a
                  >
                </li>`,
            )}
          </ul>
        </nav>
        <span class="live live-${liveStatus}" role="status" id="live-status"
          >${LIVE_TEXT[liveStatus]}</span
        >
        <span class="who">${who.actor} (${who.role})</span>
        <button type="button" @click=${signOut}>Sign out</button>
      </header>
      <main id="main" tabindex="-1">${view?.render() ?? nothing}</main>
    `,
    root,
  );
};

window.addEventListener('hashchange', () => {
  if (takeTokenFromFragment()) void signIn();
  else void route();
});
takeTokenFromFragment();
if (storedToken() === null) draw();
else {
  // the fleet's first page travels with the sign-in check (one round trip for the first view)
  if (viewOf(location.hash).key === 'fleet') prefetchFleet();
  void signIn();
}
