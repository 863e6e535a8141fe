/**
 * A policy's versions, as the decider that owns the stream `policy-<name>`: applying a spec that
 * differs from the one in force records the next version (PolicyApplied); the same spec again
 * changes nothing. Rolling back re-applies the version the rollout replaced, or removes the
 * policy when there was none (PolicyRemoved). Versions are never reused.
 */
import type { Decider, Decision } from '../decider.js';
import { accept, nothing, reject } from '../decider.js';
import type {
  FleetRecordedEvent,
  JsonValue,
  PolicyApplied,
  PolicyRemoved,
} from '../fleet.events.js';

export type PolicyEvent = PolicyApplied | PolicyRemoved;

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

export type PolicyCommand = ApplyPolicy | RevertPolicy;

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

const onApply = (command: ApplyPolicy, state: PolicyState): Decision<PolicyEvent> => {
  const { name, spec, running } = command.data;
  // the spec in force again is unchanged even while its rollout runs (`npm start`, then
  // `tramway apply` of the same example during a pause between waves): nothing to decide
  if (sameJson(currentSpec(state), spec)) return nothing();
  if (running) {
    return reject(
      'Conflict',
      `rollout ${running.rolloutId} of policy ${name} is ${running.status}: resume it, wait for it, or roll it back first`,
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

export const decidePolicy = (command: PolicyCommand, state: PolicyState): Decision<PolicyEvent> => {
  switch (command.type) {
    case 'ApplyPolicy':
      return onApply(command, state);
    case 'RevertPolicy':
      return onRevert(command, state);
  }
};

export const evolvePolicy = (state: PolicyState, event: FleetRecordedEvent): PolicyState => {
  switch (event.type) {
    case 'PolicyApplied':
      return {
        name: event.data.name,
        lastVersion: Math.max(state.lastVersion, event.data.version),
        versions: { ...state.versions, [String(event.data.version)]: event.data.spec },
        current: event.data.version,
        reason: event.data.reason,
      };
    case 'PolicyRemoved':
      return { ...state, name: event.data.name, current: null, reason: event.data.reason };
    default:
      return state;
  }
};

export const policyDecider: Decider<PolicyState, PolicyCommand, PolicyEvent> = {
  initialState: initialPolicyState,
  decide: decidePolicy,
  evolve: evolvePolicy,
};
