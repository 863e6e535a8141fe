/**
 * The CLI's client of the coordinator HTTP API (docs/fleet-protocol.md, "Coordinator HTTP API").
 * Every call resolves (never rejects) to the parsed JSON answer or to why there is none:
 * `unreachable` (nothing answered at the URL), `http` (an error document: an RFC 9457 problem,
 * read as its `code`, `detail` and `errors`/`details`), `protocol` (not JSON). Lists are paged
 * (`{ items, nextCursor }`): the client follows the cursors and answers every item.
 */
import type { PlanCounts } from '@tramway/shared/domain';
import type { ClientTls, HttpAnswer, HttpFetch } from './tls-fetch.js';
import { createNodeFetch } from './tls-fetch.js';
import type { FunctionsOfPolicy, ModuleEffect } from '@tramway/shared/contracts';

/** Default coordinator URL: the embedded mode (`npm start`) and `tramway demo` serve here. */
export const DEFAULT_COORDINATOR_URL = 'http://127.0.0.1:7070';

export interface ApiError {
  readonly code: string;
  readonly message: string;
  readonly details?: unknown;
}

export type ApiAnswer<T> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | {
      readonly ok: false;
      readonly kind: 'unreachable';
      readonly url: string;
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly kind: 'http';
      readonly url: string;
      readonly status: number;
      readonly error: ApiError;
    }
  | {
      readonly ok: false;
      readonly kind: 'protocol';
      readonly url: string;
      readonly message: string;
    };

export interface PlannedTargetView {
  readonly function: string;
  readonly module?: string;
  readonly cookie: string;
  readonly status: 'attach' | 'pending' | 'rejected' | 'trampoline-full';
  readonly errno?: string;
  readonly reason?: string;
  readonly headroom?: number;
}

export interface NodePlanView {
  readonly nodeId: string;
  readonly policy: string;
  readonly policyVersion: number;
  readonly path: string;
  readonly targets: readonly PlannedTargetView[];
  readonly unmatched: readonly { readonly pattern: string; readonly reason: string }[];
  /** the planner's own counts (node-plan.types.ts), sent as they are */
  readonly counts: PlanCounts;
}

export interface FunctionListView {
  readonly count: number;
  /** the first names (the coordinator bounds them), sorted */
  readonly names: readonly string[];
}

/** Per node, the functions a plan would attach against those the node holds for the policy. */
export interface NodeDiffView {
  readonly nodeId: string;
  /** false: the policy would no longer select the node */
  readonly selected: boolean;
  readonly added: FunctionListView;
  readonly removed: FunctionListView;
  readonly unchanged: FunctionListView;
}

export interface PlanView {
  readonly policy: string;
  readonly version: number;
  /** the spec is the one in force (absent from coordinators before it was answered) */
  readonly unchanged?: boolean;
  /** the version in force (null: a new policy) */
  readonly current?: { readonly version: number } | null;
  readonly diff?: readonly NodeDiffView[];
  readonly nodes: readonly NodePlanView[];
  readonly unreachable?: readonly { readonly nodeId: string; readonly reason: string }[];
  readonly refused?: { readonly reasons: readonly string[] };
}

export interface AppliedView {
  readonly policy: string;
  readonly version: number;
  readonly rolloutId: string;
  /** the spec was the one in force: nothing recorded, nothing rolled out */
  readonly unchanged?: boolean;
}

export type RolloutState = 'running' | 'held' | 'completed' | 'rolled-back';
export type RolloutKind = 'apply' | 'rollback' | 'release';
export type NodeState = 'converged' | 'pending' | 'failed' | 'stale';
export type PolicyState = 'active' | 'deleting' | 'deleted' | 'removed';

export interface RollbackView {
  /** the rollback's own rollout */
  readonly rolloutId: string;
  /** the rollout rolled back */
  readonly rolledBack?: string;
  readonly fromVersion?: number;
  /** null: the policy is removed (it had no previous version) */
  readonly toVersion?: number | null;
}

export interface PolicySummaryView {
  readonly name: string;
  readonly version: number;
  readonly state?: 'active' | 'deleting';
  readonly appliedAt: string;
  readonly appliedBy: string;
  readonly rollout?: {
    readonly id: string;
    readonly kind: RolloutKind;
    readonly version: number;
    readonly state: RolloutState;
  } | null;
}

export interface PolicyChangeView {
  readonly change: 'applied' | 'removed' | 'deleted';
  readonly version: number;
  readonly at: string;
  readonly by: string;
  readonly reason?: string;
}

export interface PolicyDetailView extends PolicySummaryView {
  readonly latestVersion?: number;
  readonly history?: readonly PolicyChangeView[];
  readonly deleting?: {
    readonly at: string;
    readonly by: string;
    readonly rolloutId: string | null;
  };
  readonly spec: Readonly<Record<string, unknown>>;
}

export interface DeletedView {
  readonly policy: string;
  readonly version: number;
  readonly state: 'deleting';
  readonly rolloutId: string;
  readonly nodes: readonly string[];
}

export type WaveState = 'pending' | 'running' | 'held' | 'completed';

export interface WaveStatusView {
  readonly index: number;
  /** the nodes of the wave; for a pending wave those the split fixed at start */
  readonly nodes: readonly string[];
  readonly state: WaveState | string;
  readonly succeeded: number;
  readonly failed: number;
  /** why the wave is held (or was resumed despite the gate) */
  readonly reason?: string;
  readonly completedAt?: string;
}

/** The pause between two waves: the next one starts at `endsAt`. */
export interface PauseView {
  readonly afterWave: number;
  readonly nextWave: number;
  readonly seconds: number;
  readonly endsAt: string;
}

export interface StatusView {
  readonly policy: string;
  /** null: no version in force (removed or deleted) */
  readonly version: number | null;
  readonly state?: PolicyState;
  /** the coordinator's clock when it answered (absent from older coordinators) */
  readonly now?: string;
  readonly rollout: {
    readonly id: string;
    readonly state: RolloutState;
    /** absent from coordinators before rollbacks and deletes had rollouts of their own */
    readonly kind?: RolloutKind;
    /** the version the rollout gives (or, for a release, takes away) */
    readonly version?: number;
    readonly fromVersion?: number | null;
    readonly rollsBack?: string;
    readonly startedAt?: string;
    readonly startedBy?: string;
    readonly waveCount?: number;
    readonly currentWave?: number | null;
    readonly paused?: boolean;
    readonly pause?: PauseView | null;
    readonly nextWaveAt?: string | null;
    /** the hold or rollback reason */
    readonly reason?: string | null;
    readonly waves: readonly WaveStatusView[];
  } | null;
  readonly nodes: readonly {
    readonly nodeId: string;
    readonly wave?: number | null;
    readonly generation: number;
    readonly observedGeneration: number;
    readonly state: NodeState;
    readonly functions: {
      readonly attached: number;
      readonly pending: number;
      readonly rejected: number;
    };
  }[];
}

export interface NodeView {
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly profile: string;
  readonly attachPath: string;
  readonly bootId: string;
  readonly lastSeen: string | null;
  readonly stale: boolean;
  readonly generation: number;
  readonly observedGeneration: number;
  /** absent from coordinators before admission existed (every node was admitted) */
  readonly admission?: 'pending' | 'approved';
}

/** What a module load or unload did on the node (asked with a wait): the API's contract. */
export type FunctionsOfPolicyView = FunctionsOfPolicy;
export type ModuleEffectView = ModuleEffect;

export interface ModuleView {
  readonly ok: boolean;
  readonly errno?: string;
  readonly reason?: string;
  /** with a wait: whether the log caught up with the agent's report in time */
  readonly waited?: 'reported' | 'timeout';
  readonly effect?: ModuleEffectView;
}

export interface TokenView {
  readonly name: string;
  readonly role: 'viewer' | 'operator' | 'admin' | null;
  readonly state: 'active' | 'revoked';
  readonly issuedBy: string | null;
  readonly issuedAt: string | null;
  readonly revokedBy?: string;
  readonly revokedAt?: string;
  readonly reason?: string;
}

export interface IssuedTokenView {
  readonly name: string;
  readonly role: string;
  readonly actor: string;
  /** the secret, shown this once */
  readonly token: string;
}

/** A program of a stored object (`GET /v1/programs/{digest}`). */
export interface ProgramEntryView {
  readonly name: string;
  readonly section: string;
  readonly attach: string;
  readonly sleepable: boolean;
  readonly target?: string;
  readonly instructions: number;
}

/** A stored program object: digest, size, license, BTF, its programs. */
export interface ProgramObjectView {
  readonly digest: string;
  readonly size: number;
  readonly storedAt: string;
  readonly license: string | null;
  readonly hasBtf: boolean;
  readonly hasBtfExt: boolean;
  readonly programs: readonly ProgramEntryView[];
  /** on a push: false when the same bytes were stored already */
  readonly created?: boolean;
}

export interface CoordinatorClient {
  readonly url: string;
  /** stores a compiled BPF object (`PUT /v1/programs`, operator) */
  pushProgram(bytes: Uint8Array): Promise<ApiAnswer<ProgramObjectView>>;
  programs(): Promise<ApiAnswer<readonly ProgramObjectView[]>>;
  program(digest: string): Promise<ApiAnswer<ProgramObjectView>>;
  tokens(): Promise<ApiAnswer<readonly TokenView[]>>;
  createToken(name: string, role: string): Promise<ApiAnswer<IssuedTokenView>>;
  revokeToken(name: string, reason?: string): Promise<ApiAnswer<{ readonly name: string }>>;
  plan(policy: string): Promise<ApiAnswer<PlanView>>;
  /** the policy as YAML text or as a parsed object */
  apply(policy: string | object): Promise<ApiAnswer<AppliedView>>;
  status(policy: string): Promise<ApiAnswer<StatusView>>;
  rollback(policy: string, reason?: string): Promise<ApiAnswer<RollbackView>>;
  policies(): Promise<ApiAnswer<readonly PolicySummaryView[]>>;
  policy(name: string): Promise<ApiAnswer<PolicyDetailView>>;
  deletePolicy(name: string, reason?: string): Promise<ApiAnswer<DeletedView>>;
  resume(rolloutId: string): Promise<ApiAnswer<{ readonly rolloutId: string }>>;
  nodes(): Promise<ApiAnswer<readonly NodeView[]>>;
  /** `waitMs`: wait that long at most for the agent's report of the effect */
  module(
    nodeId: string,
    module: string,
    action: 'load' | 'unload',
    waitMs?: number,
  ): Promise<ApiAnswer<ModuleView>>;
  /** the first and last fleet events of the coordinator's log */
  auditRange(): Promise<ApiAnswer<unknown>>;
  /** GET /v1/audit/state with `at` or `position`, and `node` */
  auditState(query: Readonly<Record<string, string | undefined>>): Promise<ApiAnswer<unknown>>;
  /** every page of GET /v1/audit/history */
  auditHistory(
    query: Readonly<Record<string, string | undefined>>,
  ): Promise<ApiAnswer<readonly unknown[]>>;
  /** every page of GET /v1/audit/functions/{name} */
  auditFunction(
    name: string,
    query: Readonly<Record<string, string | undefined>>,
  ): Promise<ApiAnswer<readonly unknown[]>>;
  auditPlans(
    nodeId: string,
    query: Readonly<Record<string, string | undefined>>,
  ): Promise<ApiAnswer<unknown>>;
  /** admits a pending node (admin) */
  approve(
    nodeId: string,
    reason?: string,
  ): Promise<ApiAnswer<{ readonly nodeId: string; readonly changed: boolean }>>;
  /** takes the node back with a new epoch */
  reset(
    nodeId: string,
    reason?: string,
  ): Promise<
    ApiAnswer<{ readonly nodeId: string; readonly epoch: number; readonly generation: number }>
  >;
}

export interface ClientOptions {
  readonly url: string;
  /** bearer token (`Authorization: Bearer`): the coordinator records its name as the actor */
  readonly token?: string;
  /** sent as `x-tramway-on-behalf-of` (admins only): recorded beside the actor */
  readonly onBehalfOf?: string;
  /** CA and client certificate for an https:// URL */
  readonly tls?: ClientTls;
  /** per request; default 15000 ms (a plan asks every node) */
  readonly timeoutMs?: number;
  /** injectable for tests (the global `fetch` fits); default node:http / node:https */
  readonly fetch?: HttpFetch;
}

const causeText = (error: unknown): string => {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  if ((error as { name?: unknown } | null)?.name === 'TimeoutError') return 'no answer in time';
  return error instanceof Error ? error.message : String(error);
};

/**
 * The error an answer carries: an RFC 9457 problem (`code`, `detail`, `errors` or `details`), or
 * the `{ error: { code, message, details? } }` of coordinators before it; undefined for neither.
 */
export const apiErrorOf = (value: unknown): ApiError | undefined => {
  const p = value as {
    code?: unknown;
    detail?: unknown;
    title?: unknown;
    errors?: unknown;
    details?: unknown;
    error?: { code?: unknown; message?: unknown; details?: unknown };
  } | null;
  if (p === null || typeof p !== 'object') return undefined;
  if (typeof p.code === 'string' && (typeof p.detail === 'string' || typeof p.title === 'string')) {
    const details = p.errors ?? p.details;
    return {
      code: p.code,
      message: typeof p.detail === 'string' ? p.detail : (p.title as string),
      ...(details === undefined ? {} : { details }),
    };
  }
  const e = p.error;
  if (typeof e?.code === 'string' && typeof e.message === 'string')
    return {
      code: e.code,
      message: e.message,
      ...(e.details === undefined ? {} : { details: e.details }),
    };
  return undefined;
};

/** A page of a list endpoint. */
interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

const isPage = (value: unknown): value is Page<unknown> =>
  typeof value === 'object' &&
  value !== null &&
  Array.isArray((value as Page<unknown>).items) &&
  ((value as Page<unknown>).nextCursor === null ||
    typeof (value as Page<unknown>).nextCursor === 'string');

/** Pages asked of one list before giving up (a cursor that never ends is a broken server). */
const MAX_PAGES = 10_000;
/** Items asked per page (the coordinator's largest page). */
const PAGE_LIMIT = 1000;

/** A client bound to one coordinator URL (trailing slashes ignored). */
export const createCoordinatorClient = (options: ClientOptions): CoordinatorClient => {
  const base = options.url.replace(/\/+$/, '');
  const tls = options.tls;
  const doFetch = options.fetch ?? createNodeFetch(base.startsWith('https:') ? (tls ?? {}) : {});
  const timeoutMs = options.timeoutMs ?? 15_000;

  const call = async <T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    callTimeoutMs: number = timeoutMs,
  ): Promise<ApiAnswer<T>> => {
    const url = `${base}${path}`;
    let res: HttpAnswer;
    try {
      res = await doFetch(url, {
        method,
        headers: {
          accept: 'application/json, application/problem+json',
          ...(body === undefined
            ? {}
            : {
                'content-type':
                  body instanceof Uint8Array ? 'application/octet-stream' : 'application/json',
              }),
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
          ...(options.onBehalfOf === undefined
            ? {}
            : { 'x-tramway-on-behalf-of': options.onBehalfOf }),
        },
        ...(body === undefined
          ? {}
          : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
        signal: AbortSignal.timeout(callTimeoutMs),
      });
    } catch (error) {
      return { ok: false, kind: 'unreachable', url: base, message: causeText(error) };
    }
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      return { ok: false, kind: 'unreachable', url: base, message: causeText(error) };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      return {
        ok: false,
        kind: 'protocol',
        url,
        message: `HTTP ${res.status}: the answer is not JSON (${text.slice(0, 80).trim() || 'empty'}); is ${base} a Tramway coordinator?`,
      };
    }
    if (res.ok) return { ok: true, status: res.status, body: parsed as T };
    const error = apiErrorOf(parsed);
    if (error !== undefined) return { ok: false, kind: 'http', url, status: res.status, error };
    return {
      ok: false,
      kind: 'protocol',
      url,
      message: `HTTP ${res.status} without an error document; is ${base} a Tramway coordinator?`,
    };
  };

  /** Every item of a paged list, following `nextCursor` (a plain array is taken as it is). */
  const all = async <T>(path: string): Promise<ApiAnswer<readonly T[]>> => {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const query: string =
        `${path.includes('?') ? '&' : '?'}limit=${PAGE_LIMIT}` +
        (cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`);
      const page: ApiAnswer<unknown> = await call<unknown>('GET', `${path}${query}`);
      if (!page.ok) return page;
      if (Array.isArray(page.body)) return { ...page, body: page.body as T[] };
      if (!isPage(page.body))
        return {
          ok: false,
          kind: 'protocol',
          url: `${base}${path}`,
          message: `the answer is not a list page ({ items, nextCursor }); is ${base} a Tramway coordinator?`,
        };
      items.push(...(page.body.items as T[]));
      cursor = page.body.nextCursor;
      if (cursor === null) return { ok: true, status: page.status, body: items };
    }
    return {
      ok: false,
      kind: 'protocol',
      url: `${base}${path}`,
      message: `more than ${MAX_PAGES} pages: the coordinator's cursor does not end`,
    };
  };

  const seg = encodeURIComponent;
  /** `?a=1&b=2` of the defined entries ('' for none) */
  const qs = (query: Readonly<Record<string, string | undefined>>): string => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) p.set(k, v);
    const text = p.toString();
    return text === '' ? '' : `?${text}`;
  };
  return {
    auditRange: () => call('GET', '/v1/audit/range'),
    auditState: (query) => call('GET', `/v1/audit/state${qs(query)}`),
    auditHistory: (query) => all('/v1/audit/history' + qs(query)),
    auditFunction: (name, query) => all(`/v1/audit/functions/${seg(name)}${qs(query)}`),
    auditPlans: (nodeId, query) => call('GET', `/v1/audit/plans/${seg(nodeId)}${qs(query)}`),
    url: base,
    pushProgram: (bytes) => call('PUT', '/v1/programs', bytes, Math.max(timeoutMs, 60_000)),
    programs: () => all<ProgramObjectView>('/v1/programs'),
    program: (digest) => call('GET', `/v1/programs/${seg(digest)}`),
    tokens: () => all<TokenView>('/v1/tokens'),
    createToken: (name, role) => call('POST', '/v1/tokens', { name, role }),
    revokeToken: (name, reason) =>
      call('DELETE', `/v1/tokens/${seg(name)}`, reason === undefined ? undefined : { reason }),
    plan: (policy) => call('POST', '/v1/plan', { policy }),
    apply: (policy) => call('POST', '/v1/policies', { policy }),
    status: (policy) => call('GET', `/v1/policies/${seg(policy)}/status`),
    rollback: (policy, reason) =>
      call('POST', `/v1/policies/${seg(policy)}/rollback`, reason === undefined ? {} : { reason }),
    resume: (rolloutId) => call('POST', `/v1/rollouts/${seg(rolloutId)}/resume`, {}),
    policies: () => all<PolicySummaryView>('/v1/policies'),
    policy: (name) => call('GET', `/v1/policies/${seg(name)}`),
    deletePolicy: (name, reason) =>
      call('DELETE', `/v1/policies/${seg(name)}`, reason === undefined ? undefined : { reason }),
    nodes: () => all<NodeView>('/v1/nodes'),
    module: (nodeId, module, action, waitMs) =>
      waitMs === undefined
        ? call('POST', `/v1/nodes/${seg(nodeId)}/modules/${seg(module)}/${action}`)
        : call(
            'POST',
            `/v1/nodes/${seg(nodeId)}/modules/${seg(module)}/${action}?wait=${waitMs}`,
            undefined,
            // the agent's answer, then the wait
            timeoutMs + waitMs,
          ),
    approve: (nodeId, reason) =>
      call('POST', `/v1/nodes/${seg(nodeId)}/approve`, reason === undefined ? {} : { reason }),
    reset: (nodeId, reason) =>
      call('POST', `/v1/nodes/${seg(nodeId)}/reset`, reason === undefined ? {} : { reason }),
  };
};
