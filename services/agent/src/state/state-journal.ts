/**
 * The agent state as a snapshot plus a journal of changes (README "What survives a crash"): a
 * save appends what changed since the previous one (links and plans by key, the assignment and
 * the observed generation when they changed), and the snapshot is rewritten only now and then.
 * Entries are numbered; the snapshot records the last number it includes, so replaying a
 * journal that a crash left behind a newer snapshot applies nothing twice.
 */
import type { HeldLink, LinkIntent } from '../reconcile/agent-policy.js';
import type { HeldPlan } from '../reconcile/agent-plans.js';
import type { PersistedAgentState } from './agent-state.store.js';

export interface StateJournalEntry {
  readonly seq: number;
  readonly bootId?: string;
  readonly assignment?: PersistedAgentState['assignment'];
  readonly observedGeneration?: number;
  readonly links?: { readonly put: readonly HeldLink[]; readonly drop: readonly number[] };
  readonly plans?: { readonly put: readonly HeldPlan[]; readonly drop: readonly string[] };
  readonly intents?: { readonly put: readonly LinkIntent[]; readonly drop: readonly string[] };
}

const planKey = (p: HeldPlan): string => `${p.policy}@${p.version}`;

/** `put`: what is new or replaced (by reference: held records are never mutated); `drop`: what went */
const changes = <T, K>(
  before: readonly T[],
  after: readonly T[],
  key: (t: T) => K,
): { put: T[]; drop: K[] } | undefined => {
  const old = new Map(before.map((t) => [key(t), t]));
  const put = after.filter((t) => old.get(key(t)) !== t);
  const kept = new Set(after.map(key));
  const drop = [...old.keys()].filter((k) => !kept.has(k));
  return put.length === 0 && drop.length === 0 ? undefined : { put, drop };
};

/** What changed from `before` to `after` as entry `seq` (undefined: nothing did). */
export const diffState = (
  before: PersistedAgentState,
  after: PersistedAgentState,
  seq: number,
): StateJournalEntry | undefined => {
  const links = changes(before.links, after.links, (l) => l.linkId);
  const plans = changes(before.plans ?? [], after.plans ?? [], planKey);
  const intents = changes(before.intents ?? [], after.intents ?? [], (i) => i.id);
  const entry: StateJournalEntry = {
    seq,
    ...(after.bootId === before.bootId ? {} : { bootId: after.bootId }),
    ...(after.assignment === before.assignment ? {} : { assignment: after.assignment }),
    ...(after.observedGeneration === before.observedGeneration
      ? {}
      : { observedGeneration: after.observedGeneration }),
    ...(links === undefined ? {} : { links }),
    ...(plans === undefined ? {} : { plans }),
    ...(intents === undefined ? {} : { intents }),
  };
  return Object.keys(entry).length === 1 ? undefined : entry;
};

const apply = <T, K>(
  items: readonly T[],
  change: { readonly put: readonly T[]; readonly drop: readonly K[] } | undefined,
  key: (t: T) => K,
): T[] => {
  if (change === undefined) return [...items];
  const put = new Map(change.put.map((t) => [key(t), t]));
  const dropped = new Set(change.drop);
  const kept = items.filter((t) => !dropped.has(key(t)));
  const had = new Set(kept.map(key));
  // replaced in place, new ones after: the order they were saved in
  return [...kept.map((t) => put.get(key(t)) ?? t), ...change.put.filter((t) => !had.has(key(t)))];
};

/** `state` with `entry` applied. */
export const applyEntry = (
  state: PersistedAgentState,
  entry: StateJournalEntry,
): PersistedAgentState => {
  const intents = apply(state.intents ?? [], entry.intents, (i) => i.id);
  return {
    bootId: entry.bootId ?? state.bootId,
    assignment: entry.assignment === undefined ? state.assignment : entry.assignment,
    observedGeneration: entry.observedGeneration ?? state.observedGeneration,
    links: apply(state.links, entry.links, (l) => l.linkId),
    plans: apply(state.plans ?? [], entry.plans, planKey),
    // none outside a pass: left out, as state saved before intents were recorded
    ...(intents.length === 0 ? {} : { intents }),
  };
};
