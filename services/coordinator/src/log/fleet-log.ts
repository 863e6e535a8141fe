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
  /** appends agent facts (already validated) to their node stream, and waits for the fold */
  appendFacts(streamId: string, events: readonly NewEvent[]): Promise<void>;
  /** events this process appended */
  appendedCount(): number;
  /** the error that stopped the log subscription, if any */
  fatal(): Error | undefined;
}

/** Attempts of one command against a stream other writers keep moving. */
const MAX_ATTEMPTS = 8;

export const createFleetLog = (store: EventStore, log: Logger): FleetLog => {
  const folder = createFleetFolder();
  let fleetDirty = false;
  let fleetCache: FleetState = folder.state();
  let coord = initialCoordinatorState();
  let position = 0;
  let appended = 0;
  let fatal: Error | undefined;
  let subscription: Subscription | undefined;
  const waiters: { position: number; resolve: () => void }[] = [];

  const deciders: FleetDeciders = {
    policy: createDeciderCache(policyDecider, ['PolicyApplied', 'PolicyRemoved']),
    rollout: createDeciderCache(rolloutDecider, [
      'RolloutStarted',
      'WaveStarted',
      'WaveHeld',
      'WaveCompleted',
      'RolloutCompleted',
      'RolloutRolledBack',
    ]),
    assignment: createDeciderCache(assignmentDecider, ['PlanRecorded', 'AssignmentIssued']),
    liveness: createDeciderCache(livenessDecider, ['NodeMarkedStale', 'NodeMarkedAlive']),
    drift: createDeciderCache(driftDecider, ['DriftFound']),
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

  const onEvent = (recorded: FleetRecordedEvent): void => {
    if (recorded.globalPosition <= position) return;
    folder.push(recorded);
    coord = evolveCoordinator(coord, recorded);
    for (const cache of caches) cache.fold(recorded);
    fleetDirty = true;
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
  ): Promise<AppendResult> => {
    const result = await store.append(streamId, expected, events);
    appended += result.appended;
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
        await folded((await append(streamId, aggregate.version, events)).lastGlobalPosition);
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

  const appendFacts = async (streamId: string, events: readonly NewEvent[]): Promise<void> => {
    try {
      await folded((await append(streamId, 'any', events)).lastGlobalPosition);
    } catch (error) {
      // A batch mixing stored and new ids (a resend that partly went through): one by one.
      if (!isAppError(error, 'EventIdConflict') || events.length === 1) throw error;
      for (const e of events) await appendFacts(streamId, [e]);
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
    fatal: () => fatal,
  };
};
