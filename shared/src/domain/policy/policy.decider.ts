/**
 * A policy's versions, as the decider that owns the stream `policy-<name>`: applying a spec that
 * differs from the one in force records the next version (PolicyApplied); the same spec again
 * changes nothing, even while its rollout runs. Rolling back re-applies the version the rollout
 * replaced, or removes the policy when there was none (PolicyRemoved). Deleting records
 * PolicyDeleted with the person who asked; deleting again while nothing is in force changes
 * nothing. Versions are never reused: applying a deleted name again records the next version.
 */
import type { Decider, Decision } from '../decider.js';
import { accept, nothing, reject } from '../decider.js';
import type {
  FleetRecordedEvent,
  JsonValue,
  PolicyApplied,
  PolicyDeleted,
  PolicyRemoved,
} from '../fleet.events.js';

export type PolicyEvent = PolicyApplied | PolicyRemoved | PolicyDeleted;

/** One change of the policy, for `describe`: the latest `POLICY_HISTORY` are kept. */
export interface PolicyChange {
  readonly change: 'applied' | 'removed' | 'deleted';
  readonly version: number;
  /** the event's occurredAt */
  readonly at: string;
  /** the event's actor */
  readonly by: string;
  readonly reason?: string | undefined;
}

/** Changes kept per policy (the log keeps every one). */
export const POLICY_HISTORY = 20;

type Spec = { readonly [key: string]: JsonValue };

export interface PolicyState {
  readonly name: string;
  /** highest version ever recorded (0: none) */
  readonly lastVersion: number;
  /** every version's spec, by version */
  readonly versions: Readonly<Record<string, Spec>>;
  /** the version in force (null: never applied, or removed) */
  readonly current: number | null;
  /** the reason of the latest PolicyApplied or PolicyRemoved (a rollback's, after a rollback) */
  readonly reason?: string | undefined;
  /** deleted (PolicyDeleted) and not applied since */
  readonly deleted?: boolean | undefined;
  /** the latest changes, oldest first (at most POLICY_HISTORY) */
  readonly history?: readonly PolicyChange[] | undefined;
}

/** A rollout of the policy that has not ended, which a new version must wait for. */
export interface RunningRollout {
  readonly rolloutId: string;
  readonly status: 'running' | 'held' | 'paused';
}

export type ApplyPolicy = Readonly<{
  type: 'ApplyPolicy';
  data: Readonly<{
    name: string;
    /** a validated spec, as JSON */
    spec: Spec;
    /** the policy's latest rollout when it has not ended */
    running: RunningRollout | null;
  }>;
  metadata: Readonly<{ actor: string }>;
}>;

export type RevertPolicy = Readonly<{
  type: 'RevertPolicy';
  data: Readonly<{
    name: string;
    /** the rollout being rolled back, and its version */
    rolloutId: string;
    rolloutVersion: number;
    /** the version to re-apply (null: remove the policy) */
    previousVersion: number | null;
    reason: string;
  }>;
  metadata: Readonly<{ actor: string }>;
}>;

/** Delete the policy: its nodes release it afterwards (the shell starts a `release` rollout). */
export type DeletePolicy = Readonly<{
  type: 'DeletePolicy';
  data: Readonly<{
    name: string;
    /** the policy's latest rollout when it has not ended */
    running: RunningRollout | null;
    reason?: string | undefined;
  }>;
  metadata: Readonly<{ actor: string }>;
}>;

export type PolicyCommand = ApplyPolicy | RevertPolicy | DeletePolicy;

export const initialPolicyState = (): PolicyState => ({
  name: '',
  lastVersion: 0,
  versions: {},
  current: null,
});

/** A recorded version's spec: an own entry only (never one of Object.prototype's). */
const versionOf = (state: PolicyState, version: number): Spec | undefined =>
  Object.hasOwn(state.versions, String(version)) ? state.versions[String(version)] : undefined;

/** The spec in force, or undefined. */
export const currentSpec = (state: PolicyState): Spec | undefined =>
  state.current === null ? undefined : versionOf(state, state.current);

/** Key-order independent equality of two JSON values. */
const sameJson = (a: JsonValue | undefined, b: JsonValue | undefined): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameJson(x, (b as readonly JsonValue[])[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Spec)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Spec)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Spec)[k], (b as Spec)[k]));
};

/** Whether `spec` is the spec in force (key order aside): applying it changes nothing. */
export const isSpecInForce = (state: PolicyState, spec: Spec): boolean =>
  sameJson(currentSpec(state), spec);

const onApply = (command: ApplyPolicy, state: PolicyState): Decision<PolicyEvent> => {
  const { name, spec, running } = command.data;
  // the spec in force again is no change, whatever its rollout is doing
  if (sameJson(currentSpec(state), spec)) return nothing();
  if (running) {
    return reject(
      'Conflict',
      state.deleted
        ? `policy ${name} is being deleted (rollout ${running.rolloutId} is ${running.status}): wait for its nodes to release it, then apply again`
        : `rollout ${running.rolloutId} of policy ${name} is ${running.status}: resume it, wait for it, or roll it back first`,
    );
  }
  const version = state.lastVersion + 1;
  const actor = command.metadata.actor;
  return accept([
    {
      id: `policy:${name}:v${version}`,
      event: {
        type: 'PolicyApplied',
        data: {
          name,
          version,
          spec,
          reason:
            state.current === null
              ? `new policy applied by ${actor}`
              : `update of v${state.current} by ${actor}`,
        },
      },
    },
  ]);
};

const onRevert = (command: RevertPolicy, state: PolicyState): Decision<PolicyEvent> => {
  const { name, rolloutId, rolloutVersion, previousVersion, reason } = command.data;
  if (state.lastVersion === 0) return reject('NotFound', `no policy ${name}`);
  if (previousVersion === null) {
    return accept([
      {
        id: `policy:${name}:v${rolloutVersion}:removed`,
        event: { type: 'PolicyRemoved', data: { name, version: rolloutVersion, reason } },
      },
    ]);
  }
  const spec = versionOf(state, previousVersion);
  if (spec === undefined) {
    return reject('NotFound', `policy ${name} has no version ${previousVersion} to go back to`);
  }
  return accept([
    {
      id: `policy:${name}:v${previousVersion}:rollback:${rolloutId}`,
      event: { type: 'PolicyApplied', data: { name, version: previousVersion, spec, reason } },
    },
  ]);
};

const onDelete = (command: DeletePolicy, state: PolicyState): Decision<PolicyEvent> => {
  const { name, running, reason } = command.data;
  if (state.current === null) {
    // deleting what is deleted already changes nothing; a name never applied is not found
    if (state.deleted) return nothing();
    return reject(
      'NotFound',
      state.lastVersion === 0
        ? `no policy ${name}`
        : `no policy ${name} in force (v${state.lastVersion} was removed by a rollback)`,
    );
  }
  if (running) {
    return reject(
      'Conflict',
      `rollout ${running.rolloutId} of policy ${name} is ${running.status}: wait for it, or roll it back, before deleting the policy`,
    );
  }
  const version = state.current;
  return accept([
    {
      id: `policy:${name}:v${version}:deleted`,
      event: {
        type: 'PolicyDeleted',
        data: {
          name,
          version,
          reason: reason ?? `deleted by ${command.metadata.actor}`,
        },
      },
    },
  ]);
};

export const decidePolicy = (command: PolicyCommand, state: PolicyState): Decision<PolicyEvent> => {
  switch (command.type) {
    case 'ApplyPolicy':
      return onApply(command, state);
    case 'RevertPolicy':
      return onRevert(command, state);
    case 'DeletePolicy':
      return onDelete(command, state);
  }
};

const withChange = (
  state: PolicyState,
  event: FleetRecordedEvent & { data: { version: number; reason?: string } },
  change: PolicyChange['change'],
): readonly PolicyChange[] =>
  [
    ...(state.history ?? []),
    {
      change,
      version: event.data.version,
      at: event.metadata.occurredAt,
      by: event.metadata.actor,
      ...(event.data.reason === undefined ? {} : { reason: event.data.reason }),
    },
  ].slice(-POLICY_HISTORY);

export const evolvePolicy = (state: PolicyState, event: FleetRecordedEvent): PolicyState => {
  switch (event.type) {
    case 'PolicyApplied':
      return {
        name: event.data.name,
        lastVersion: Math.max(state.lastVersion, event.data.version),
        versions: { ...state.versions, [String(event.data.version)]: event.data.spec },
        current: event.data.version,
        reason: event.data.reason,
        history: withChange(state, event, 'applied'),
      };
    case 'PolicyRemoved':
      return {
        ...state,
        name: event.data.name,
        current: null,
        reason: event.data.reason,
        deleted: false,
        history: withChange(state, event, 'removed'),
      };
    case 'PolicyDeleted':
      return {
        ...state,
        name: event.data.name,
        current: null,
        reason: event.data.reason,
        deleted: true,
        history: withChange(state, event, 'deleted'),
      };
    default:
      return state;
  }
};

export const policyDecider: Decider<PolicyState, PolicyCommand, PolicyEvent> = {
  initialState: initialPolicyState,
  decide: decidePolicy,
  evolve: evolvePolicy,
};
