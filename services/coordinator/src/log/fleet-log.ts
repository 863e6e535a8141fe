/**
 * The coordinator's view of the log: it follows the log from the start (a restarted coordinator
 * is its log), folds every event into the fleet projection, the coordinator's own fold and the
 * state of every decider's aggregates, and appends what the deciders decide with the version
 * their state was folded at (a conflict means another writer moved the stream: catch up, decide
 * again). Agents' facts are appended as they come (the node stream has one writer, its agent).
 */
import type { Subscription } from 'rxjs';
import type { AppendResult, EventStore, Logger } from '@tramway/shared/infra';
import { errorText, isAppError } from '@tramway/shared/infra';
import { decodeFleetEvent, encodeFleetEvent } from '@tramway/shared/contracts';
import type {
  AdmissionCommand,
  AdmissionEvent,
  AdmissionState,
  AccessTokenCommand,
  AccessTokenEvent,
  AccessTokenState,
  AssignmentCommand,
  AssignmentEvent,
  AssignmentState,
  Decided,
  Decision,
  DriftFound,
  DriftState,
  FleetEvent,
  FleetRecordedEvent,
  JudgeLiveness,
  LivenessEvent,
  LivenessState,
  ModuleRequestEvent,
  ModuleRequestState,
  PolicyCommand,
  PolicyEvent,
  PolicyState,
  RecordDrift,
  RecordModuleRequest,
  RolloutCommand,
  RolloutEvent,
  RolloutState,
} from '@tramway/shared/domain';
import {
  accessTokenDecider,
  FleetStreams,
  admissionDecider,
  assignmentDecider,
  driftDecider,
  livenessDecider,
  moduleRequestDecider,
  policyDecider,
  rolloutDecider,
} from '@tramway/shared/domain';
import type { FleetState } from '@tramway/shared/projections';
import { createFleetFolder } from '@tramway/shared/projections';
import type { NewEvent } from '@tramway/shared/lib';
import { ownEntry } from '@tramway/shared/lib';
import type { CoordinatorState } from '../rollout/coordinator.state.js';
import { evolveCoordinator, initialCoordinatorState } from '../rollout/coordinator.state.js';
import type { DeciderCache } from './decider-cache.js';
import { createDeciderCache } from './decider-cache.js';

/** The envelope of the events one command decides. */
export interface Envelope {
  /** the authenticated identity (or `coordinator`, `agent:<node>`) */
  readonly actor: string;
  /** the person an admin acted for, as the request said (never the actor) */
  readonly onBehalfOf?: string | undefined;
  readonly occurredAt: string;
  readonly correlationId?: string | undefined;
  readonly causationId?: string | undefined;
}

/** Who asked for a decision: the authenticated identity, and whom an admin acted for. */
export interface Requester {
  readonly actor: string;
  readonly onBehalfOf?: string | undefined;
}

/** `token:admin` or `token:admin on behalf of bob`: for reasons and log lines, not the actor field. */
export const describeRequester = (by: Requester): string =>
  by.onBehalfOf === undefined ? by.actor : `${by.actor} on behalf of ${by.onBehalfOf}`;

export interface FleetDeciders {
  readonly policy: DeciderCache<PolicyState, PolicyCommand, PolicyEvent>;
  readonly rollout: DeciderCache<RolloutState, RolloutCommand, RolloutEvent>;
  readonly assignment: DeciderCache<AssignmentState, AssignmentCommand, AssignmentEvent>;
  readonly liveness: DeciderCache<LivenessState, JudgeLiveness, LivenessEvent>;
  readonly drift: DeciderCache<DriftState, RecordDrift, DriftFound>;
  readonly admission: DeciderCache<AdmissionState, AdmissionCommand, AdmissionEvent>;
  readonly accessToken: DeciderCache<AccessTokenState, AccessTokenCommand, AccessTokenEvent>;
  readonly moduleRequest: DeciderCache<ModuleRequestState, RecordModuleRequest, ModuleRequestEvent>;
}

export interface FleetLog {
  /** replays the log up to its head, then stays live */
  start(): Promise<void>;
  stop(): void;
  fleet(): FleetState;
  coordinator(): CoordinatorState;
  readonly deciders: FleetDeciders;
  /** resolves once every event up to `position` is folded */
  folded(position: number): Promise<void>;
  /** decides `command` on the aggregate's state and appends the events (retried on conflict) */
  execute<S, C, E extends FleetEvent>(
    cache: DeciderCache<S, C, E>,
    streamId: string,
    command: C,
    /** the envelope, or how to make it from the events decided (ids known only then) */
    envelope: Envelope | ((events: readonly Decided<E>[]) => Envelope),
  ): Promise<Decision<E>>;
  /**
   * appends agent facts (already validated) to their node stream, and waits for the fold:
   * `held`, the ids the log now holds as sent (appended or already there); `refused`, the ids
   * taken by an event with other content (each once with why)
   */
  appendFacts(streamId: string, events: readonly NewEvent[]): Promise<FactsAppended>;
  /** events this process appended */
  appendedCount(): number;
  /** what the coordinator keeps outside the log (memory bounds; tests and bench/memory.bench.ts) */
  retained(): RetainedCounts;
  /** the error that stopped the log subscription, if any */
  fatal(): Error | undefined;
}

export interface RetainedCounts {
  /** policy specs held by the policies' aggregates (all versions of all policies) */
  readonly specVersions: number;
  /** recorded plans held by the nodes' assignment aggregates */
  readonly plans: number;
  /** rollouts the coordinator's fold keeps generations for */
  readonly rolloutsTracked: number;
  /** aggregates per decider */
  readonly aggregates: Readonly<Record<keyof FleetDeciders, number>>;
}

export interface FactsAppended {
  readonly held: readonly string[];
  readonly refused: readonly { readonly id: string; readonly reason: string }[];
}

/** What the metrics see of the log (coordinator-metrics.ts); every hook is optional. */
export interface FleetLogObserver {
  /** `events` were stored by this process: a decision's (`decision`) or an agent's facts (`facts`) */
  readonly appended?: (events: readonly NewEvent[], source: 'decision' | 'facts') => void;
  /** `event` was folded in; `replaying` until `start` has caught up with the log's head */
  readonly folded?: (event: FleetRecordedEvent, replaying: boolean) => void;
}

/** Attempts of one command against a stream other writers keep moving. */
const MAX_ATTEMPTS = 8;

export const createFleetLog = (
  store: EventStore,
  log: Logger,
  observer: FleetLogObserver = {},
): FleetLog => {
  const folder = createFleetFolder();
  let fleetDirty = false;
  let fleetCache: FleetState = folder.state();
  let coord = initialCoordinatorState();
  let position = 0;
  let appended = 0;
  let replaying = true;
  let fatal: Error | undefined;
  let subscription: Subscription | undefined;
  const waiters: { position: number; resolve: () => void }[] = [];

  const deciders: FleetDeciders = {
    policy: createDeciderCache(policyDecider, ['PolicyApplied', 'PolicyRemoved', 'PolicyDeleted']),
    rollout: createDeciderCache(rolloutDecider, [
      'RolloutStarted',
      'WaveStarted',
      'WaveHeld',
      'WaveCompleted',
      'RolloutCompleted',
      'RolloutRolledBack',
    ]),
    assignment: createDeciderCache(assignmentDecider, [
      'PlanRecorded',
      'AssignmentIssued',
      'NodeTakenBack',
    ]),
    liveness: createDeciderCache(livenessDecider, ['NodeMarkedStale', 'NodeMarkedAlive']),
    drift: createDeciderCache(driftDecider, ['DriftFound']),
    admission: createDeciderCache(admissionDecider, ['NodeAdmissionPending', 'NodeApproved']),
    accessToken: createDeciderCache(accessTokenDecider, [
      'AccessTokenIssued',
      'AccessTokenRevoked',
    ]),
    moduleRequest: createDeciderCache(moduleRequestDecider, ['ModuleActionRequested']),
  };
  const caches = Object.values(deciders) as DeciderCache<unknown, unknown, FleetEvent>[];

  const advanceTo = (p: number): void => {
    position = Math.max(position, p);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.position <= position) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };

  /**
   * Policy versions some node's latest assignment holds (`policy@version` -> nodes), so that a
   * policy's aggregate keeps the specs of those versions only (with the versions in force now
   * and before the latest apply): memory stays bounded however many versions were applied.
   */
  const referenced = new Map<string, number>();
  const refKey = (policy: string, version: number): string => `${policy}@${version}`;
  const countRefs = (links: readonly { policy: string; policyVersion: number }[], by: number) => {
    for (const l of links) {
      const key = refKey(l.policy, l.policyVersion);
      const n = (referenced.get(key) ?? 0) + by;
      if (n > 0) referenced.set(key, n);
      else referenced.delete(key);
    }
  };
  const trimPolicy = (name: string): void => {
    const current = ownEntry(coord.currentVersion, name);
    const previous = ownEntry(coord.previousVersion, name) ?? undefined;
    deciders.policy.trim(FleetStreams.policy(name), (state) => {
      const kept = Object.keys(state.versions).filter(
        (v) =>
          Number(v) === current ||
          Number(v) === previous ||
          Number(v) === state.current ||
          referenced.has(refKey(name, Number(v))),
      );
      if (kept.length === Object.keys(state.versions).length) return state;
      const versions: Record<string, (typeof state.versions)[string]> = {};
      for (const v of kept) versions[v] = state.versions[v]!;
      return { ...state, versions };
    });
  };

  /**
   * A new rollout of a policy starts only once the former has ended: the ended rollouts of that
   * policy are never decided on again (rollback and resume act on the latest), so their
   * aggregates go, and a tick no longer walks the whole history.
   */
  const forgetEndedRollouts = (started: { policy: string; rolloutId: string }): void => {
    for (const [streamId, { state }] of [...deciders.rollout.all()])
      if (
        state.policy === started.policy &&
        state.rolloutId !== started.rolloutId &&
        (state.status === 'completed' || state.status === 'rolled-back')
      )
        deciders.rollout.drop(streamId);
  };

  const onEvent = (recorded: FleetRecordedEvent): void => {
    if (recorded.globalPosition <= position) return;
    const before =
      recorded.type === 'AssignmentIssued'
        ? deciders.assignment.get(FleetStreams.assignment(recorded.data.nodeId)).state.links
        : undefined;
    folder.push(recorded);
    coord = evolveCoordinator(coord, recorded);
    for (const cache of caches) cache.fold(recorded);
    if (recorded.type === 'AssignmentIssued') {
      countRefs(before ?? [], -1);
      countRefs(recorded.data.links, 1);
      for (const policy of new Set(
        [...(before ?? []), ...recorded.data.links].map((l) => l.policy),
      ))
        trimPolicy(policy);
    } else if (
      recorded.type === 'PolicyApplied' ||
      recorded.type === 'PolicyRemoved' ||
      recorded.type === 'PolicyDeleted'
    )
      trimPolicy(recorded.data.name);
    else if (recorded.type === 'RolloutStarted') forgetEndedRollouts(recorded.data);
    fleetDirty = true;
    observer.folded?.(recorded, replaying);
    advanceTo(recorded.globalPosition);
  };

  const folded = (target: number): Promise<void> =>
    target <= position
      ? Promise.resolve()
      : new Promise((resolve) => waiters.push({ position: target, resolve }));

  const append = async (
    streamId: string,
    expected: number | 'any',
    events: readonly NewEvent[],
    source: 'decision' | 'facts',
  ): Promise<AppendResult> => {
    const result = await store.append(streamId, expected, events);
    appended += result.appended;
    // all or none (EventStore port): an exact retry stores nothing and reports 0
    if (result.appended > 0) observer.appended?.(events, source);
    return result;
  };

  const execute = async <S, C, E extends FleetEvent>(
    cache: DeciderCache<S, C, E>,
    streamId: string,
    command: C,
    envelopeOf: Envelope | ((events: readonly Decided<E>[]) => Envelope),
  ): Promise<Decision<E>> => {
    for (let attempt = 1; ; attempt++) {
      const aggregate = cache.get(streamId);
      const decision = cache.decider.decide(command, aggregate.state);
      if (!decision.ok || decision.events.length === 0) return decision;
      const envelope = typeof envelopeOf === 'function' ? envelopeOf(decision.events) : envelopeOf;
      const events = decision.events.map((d) => {
        const encoded = encodeFleetEvent(d.event, {
          id: d.id,
          metadata: {
            occurredAt: envelope.occurredAt,
            actor: envelope.actor,
            ...(envelope.correlationId === undefined
              ? {}
              : { correlationId: envelope.correlationId }),
            ...(envelope.causationId === undefined ? {} : { causationId: envelope.causationId }),
            ...(envelope.onBehalfOf === undefined ? {} : { onBehalfOf: envelope.onBehalfOf }),
          },
        });
        if (encoded.streamId !== streamId) {
          throw new Error(`${d.event.type} belongs to ${encoded.streamId}, not ${streamId}`);
        }
        return encoded.event;
      });
      try {
        // an exact retry of this decision is answered with what is stored; the same ids with
        // other content are refused (EventStore port), never taken as this decision
        await folded(
          (await append(streamId, aggregate.version, events, 'decision')).lastGlobalPosition,
        );
        return decision;
      } catch (error) {
        // the store refuses a stored id sent with other content: another writer's different
        // decision took these deterministic ids first, so catch up and decide again, as above
        const idsTaken = isAppError(error, 'EventIdConflict');
        if (
          !(idsTaken || isAppError(error, 'ExpectedVersionConflict')) ||
          attempt >= MAX_ATTEMPTS
        ) {
          throw error;
        }
        log.debug(
          idsTaken
            ? 'another writer took the ids of a decision first: catching up'
            : 'stream moved under a decision: catching up',
          { streamId, attempt, error: errorText(error) },
        );
        await folded(await store.headPosition());
      }
    }
  };

  const appendFacts = async (
    streamId: string,
    events: readonly NewEvent[],
  ): Promise<FactsAppended> => {
    try {
      await folded((await append(streamId, 'any', events, 'facts')).lastGlobalPosition);
      return { held: events.map((e) => e.id), refused: [] };
    } catch (error) {
      if (!isAppError(error, 'EventIdConflict')) throw error;
      if (events.length === 1)
        return { held: [], refused: [{ id: events[0]!.id, reason: errorText(error) }] };
      // A batch with an id stored with other content: one by one, to tell which.
      const held: string[] = [];
      const refused: { id: string; reason: string }[] = [];
      for (const e of events) {
        const one = await appendFacts(streamId, [e]);
        held.push(...one.held);
        refused.push(...one.refused);
      }
      return { held, refused };
    }
  };

  return {
    start: async () => {
      const head = await store.headPosition();
      subscription = store.subscribe(0).subscribe({
        next: (recorded) => {
          const decoded = decodeFleetEvent(recorded);
          if (!decoded.ok) {
            // Not a fleet event we can read: skip it, but keep the position moving.
            log.error('event not decoded', {
              position: recorded.globalPosition,
              problem: decoded.error.problem,
            });
            advanceTo(recorded.globalPosition);
            return;
          }
          onEvent(decoded.value);
        },
        error: (error: unknown) => {
          fatal = error instanceof Error ? error : new Error(String(error));
          log.error('log subscription failed', { error: errorText(error) });
        },
      });
      await folded(head);
      replaying = false;
    },
    stop: () => subscription?.unsubscribe(),
    fleet: () => {
      // Taken lazily: handing a state out ends the folder's copy-on-write segment.
      if (fleetDirty) {
        fleetCache = folder.state();
        fleetDirty = false;
      }
      return fleetCache;
    },
    coordinator: () => coord,
    deciders,
    folded,
    execute,
    appendFacts,
    appendedCount: () => appended,
    retained: () => {
      let specVersions = 0;
      for (const [, a] of deciders.policy.all())
        specVersions += Object.keys(a.state.versions).length;
      let plans = 0;
      for (const [, a] of deciders.assignment.all()) plans += Object.keys(a.state.plans).length;
      return {
        specVersions,
        plans,
        rolloutsTracked: Object.keys(coord.rolloutGenerations).length,
        aggregates: {
          policy: deciders.policy.size(),
          rollout: deciders.rollout.size(),
          assignment: deciders.assignment.size(),
          liveness: deciders.liveness.size(),
          drift: deciders.drift.size(),
          admission: deciders.admission.size(),
          accessToken: deciders.accessToken.size(),
          moduleRequest: deciders.moduleRequest.size(),
        },
      };
    },
    fatal: () => fatal,
  };
};
