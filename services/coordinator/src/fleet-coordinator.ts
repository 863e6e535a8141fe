/**
 * The coordinator's core (docs/fleet-protocol.md, "Division of work"), composed of its seams: the
 * log it follows and appends to through the deciders (`log/`), the rollout runner (`rollout/`),
 * liveness (`liveness/`), the ingestion of agents' facts and heartbeats (`ingest/`), drift repair
 * (`drift/`) and the operations the API offers (`commands/`). Every decision is an event appended
 * with the version its decider's state was folded at; ids of decisions are deterministic, so a
 * restarted coordinator that replays the log repeats nothing and loses nothing.
 *
 * Decisions run one at a time (`serially`); ingestion of facts and heartbeats runs in arrival
 * order (`inOrder`), so a heartbeat is counted only after the facts sent before it are folded.
 */
import type { AuditApi } from './audit/audit-api.js';
import { createAuditApi } from './audit/audit-api.js';
import type { KeyObject } from 'node:crypto';
import type { Assignment } from '@tramway/shared/domain';
import { pauseEndsAt } from '@tramway/shared/domain';
import type {
  EventStore,
  FleetBus,
  Logger,
  ProgramStore,
  Unsubscribe,
} from '@tramway/shared/infra';
import {
  AppError,
  errorText,
  isAppError,
  signAssignment,
  silentLogger,
} from '@tramway/shared/infra';
import type { AdmissionOptions } from './admission/node-admission.js';
import { APPROVE_EVERY_NODE, createNodeAdmission } from './admission/node-admission.js';
import type { FactAck } from '@tramway/shared/contracts';
import {
  FACTS_CONSUMER,
  FleetSubjects,
  decodeMessageOrThrow,
  nodeIdOfSubject,
} from '@tramway/shared/contracts';
import type {
  FleetState,
  FleetStateCache,
  FleetStateCacheOptions,
} from '@tramway/shared/projections';
import { createFleetStateCache } from '@tramway/shared/projections';
import type { AccessTokens } from './commands/access-tokens.js';
import { createAccessTokens } from './commands/access-tokens.js';
import type { FleetCommands } from './commands/fleet-commands.js';
import { MAX_PLAN_ENTRIES, createFleetCommands } from './commands/fleet-commands.js';
import type { DriftReport } from './drift/drift-repair.js';
import type { ProgramObjects } from './commands/program-objects.js';
import { createProgramObjects } from './commands/program-objects.js';
import { createDriftRepair } from './drift/drift-repair.js';
import { createFactIngestion } from './ingest/fact-ingestion.js';
import type { RefusedMessages } from './ingest/refused-messages.js';
import { RefusedReason, createRefusedMessages } from './ingest/refused-messages.js';
import { createLivenessMonitor } from './liveness/liveness-monitor.js';
import { createFleetLog } from './log/fleet-log.js';
import type { RetainedCounts } from './log/fleet-log.js';
import type { CoordinatorMetrics, MetricsBounds } from './metrics/coordinator-metrics.js';
import { createCoordinatorMetrics } from './metrics/coordinator-metrics.js';
import type { CoordinatorState } from './rollout/coordinator.state.js';
import { createRolloutRunner } from './rollout/rollout-runner.js';

export type { DriftReport } from './drift/drift-repair.js';

export interface CoordinatorClock {
  now(): Date;
}

export interface CoordinatorOptions {
  /** a node whose last heartbeat is older than this is stale (default 15000) */
  readonly staleAfterMs?: number;
  /** how often waves, pauses and staleness are re-judged (default 1000; 0: only on events) */
  readonly tickMs?: number;
  /** how often every node's actual state is compared with the log (default 30000; 0: on demand only) */
  readonly driftIntervalMs?: number;
  /** timeout of plan/assign/state/module requests (default 5000) */
  readonly requestTimeoutMs?: number;
  /**
   * most targets plus unmatched patterns a plan may hold over all its nodes; a larger plan is
   * refused (400 PlanTooLarge) instead of answered or recorded (default `MAX_PLAN_ENTRIES`)
   */
  readonly maxPlanEntries?: number;
  /**
   * which nodes are approved without a person when first heard (default: every node, recorded
   * as approved by `coordinator`, "auto-approved credential"); the others wait as pending for
   * `POST /v1/nodes/{node}/approve`
   */
  readonly admission?: AdmissionOptions;
  /** how many series the per-node and per-policy labels may take (docs/metrics.md) */
  readonly metricsBounds?: MetricsBounds;
  /**
   * past fleet states kept in memory for time travel (`?at=`): first every `every` positions, at
   * most `max` (the interval doubles when full); default `PAST_STATES`
   */
  readonly pastStates?: FleetStateCacheOptions;
}

/** Past states for time travel: one every 5,000 positions, 48 at most (every ~21,000 at 1M). */
export const PAST_STATES: FleetStateCacheOptions = { every: 5000, max: 48 };

export interface FleetCoordinatorDeps {
  readonly bus: FleetBus;
  readonly store: EventStore;
  readonly clock: CoordinatorClock;
  readonly logger?: Logger;
  readonly options?: CoordinatorOptions;
  /**
   * the Ed25519 key every assignment is signed with (`assignment-signing.key`); without it
   * assignments go unsigned and agents that hold a verify key refuse them
   */
  readonly assignmentSigningKey?: KeyObject;
  /**
   * the SQLite file of the audit read model (`GET /v1/audit/...`; the log's own file when it is
   * SQLite); without it the audit endpoints answer 503
   */
  readonly auditReadModelPath?: string;
  /**
   * where program objects are stored (`/v1/programs`; embedded: files under the data dir, NATS:
   * an Object Store bucket); without it those endpoints answer 503
   */
  readonly programs?: ProgramStore;
}

export interface FleetCoordinator {
  start(): Promise<void>;
  stop(): Promise<Error | undefined>;
  /** the projection as folded so far */
  fleet(): FleetState;
  /** the coordinator's own fold */
  state(): CoordinatorState;
  /** re-judges rollouts and staleness now (after the decisions already queued) */
  tick(): Promise<void>;
  /** compares every live node's actual state with the log now, records and repairs drift */
  checkDrift(): Promise<DriftReport[]>;
  /** nodes currently considered stale */
  staleNodes(): readonly string[];
  /** events this process appended (metrics) */
  appendedCount(): number;
  /** the Prometheus registry of this coordinator and its series (`GET /metrics`) */
  readonly metrics: CoordinatorMetrics;
  /** what is kept outside the log (memory bounds) */
  retained(): RetainedCounts;
  /** messages of agents refused since start, by reason (metrics) */
  refusedMessages(): ReturnType<RefusedMessages['counts']>;
  /**
   * why the coordinator cannot serve yet (or any more): not started, log not replayed, stopping,
   * or the log failed; undefined when it is ready (`GET /readyz`)
   */
  notReady(): string | undefined;
  readonly api: FleetCommands;
  /** the log itself, for the read endpoints that page it or rebuild a past state (console) */
  readonly history: EventStore;
  /**
   * fleet states at intervals of the log, left by the live fold (replay included) and by time
   * travel: a past state is folded from the nearest one before it, not from the start
   */
  readonly pastStates: FleetStateCache;
  /**
   * the rollout's live standing the projection does not keep: paused (and until when) or not
   * (undefined: no such rollout is tracked any more)
   */
  rolloutPhase(rolloutId: string): { status: string; pauseEndsAt: string | null } | undefined;
  /** people's API tokens (issue, list, revoke, authenticate, bootstrap) */
  readonly tokens: AccessTokens;
  /** the audit over HTTP; undefined without a read model file */
  readonly audit: AuditApi | undefined;
  /** program objects: push, list, inspect, bytes (`/v1/programs`) */
  readonly programs: ProgramObjects;
}

/** One job at a time, in the order asked; a failed job does not stop the next. */
const createQueue = () => {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run: <T>(work: () => Promise<T>): Promise<T> => {
      const run = tail.then(work, work);
      tail = run.catch(() => undefined);
      return run;
    },
    drained: (): Promise<unknown> => tail,
  };
};

export const createFleetCoordinator = (deps: FleetCoordinatorDeps): FleetCoordinator => {
  const logger = (deps.logger ?? silentLogger).child({ service: 'coordinator' });
  const options = deps.options ?? {};
  const tickMs = options.tickMs ?? 1000;
  const driftIntervalMs = options.driftIntervalMs ?? 30_000;
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const now = (): Date => deps.clock.now();

  const decisions = createQueue();
  const arrivals = createQueue();
  const unsubscribes: Unsubscribe[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];
  let started = false;
  /** start() finished: the log is replayed and the bus answered */
  let ready = false;
  let stopping = false;

  // the gauges read the parts below when scraped, never before start
  const metrics = createCoordinatorMetrics(
    {
      fleet: () => log.fleet(),
      isStale: (nodeId) => liveness.isStale(nodeId),
      lastHeardMs: (nodeId) => liveness.lastHeardMs(nodeId),
      refused: () => refused.counts(),
      nowMs: () => now().getTime(),
    },
    options.metricsBounds,
  );
  const pastStates = createFleetStateCache(options.pastStates ?? PAST_STATES);
  /** the next position at which the live fold leaves a state in `pastStates` */
  let nextPastState = 0;
  const log = createFleetLog(deps.store, logger, {
    ...metrics.logObserver,
    folded: (event, replaying) => {
      metrics.logObserver.folded?.(event, replaying);
      if (event.globalPosition < nextPastState) return;
      // handing a state out ends the fold's copy-on-write segment: once per interval only
      pastStates.saveSnapshot(log.fleet());
      nextPastState =
        (Math.floor(event.globalPosition / pastStates.every()) + 1) * pastStates.every();
    },
  });
  const liveness = createLivenessMonitor({
    log,
    logger,
    now,
    staleAfterMs: options.staleAfterMs ?? 15_000,
  });

  let kickPending = false;
  const step = async (): Promise<void> => {
    if (log.fatal()) return;
    await admission.admitAll();
    await runner.takeBackUnissued();
    await liveness.judgeAll();
    await runner.advanceAll();
  };
  /** Queues a tick unless one is already waiting (bursts of facts coalesce into one). */
  const kick = (): void => {
    if (stopping || kickPending) return;
    kickPending = true;
    decisions
      .run(async () => {
        kickPending = false;
        await step();
      })
      .catch((error: unknown) => {
        logger.error('rollout step failed', { error: errorText(error) });
      });
  };

  const signingKey = deps.assignmentSigningKey;
  if (signingKey === undefined)
    logger.warn(
      'no assignment signing key: assignments are sent unsigned and verifying agents refuse them',
    );
  const sign = (assignment: Assignment): Assignment =>
    signingKey === undefined ? assignment : signAssignment(signingKey, assignment);
  const admission = createNodeAdmission({
    log,
    logger,
    now,
    options: options.admission ?? APPROVE_EVERY_NODE,
    onApproved: (nodeId) => runner.sendAssignment(nodeId),
  });

  const runner = createRolloutRunner({
    log,
    bus: deps.bus,
    logger,
    now,
    timeoutMs,
    sign,
    isAdmitted: admission.isAdmitted,
    observedOf: liveness.observedOf,
    isStale: liveness.isStale,
    schedule: (afterMs) => {
      if (!stopping) timers.push(setTimeout(kick, afterMs));
    },
  });
  const drift = createDriftRepair({ log, bus: deps.bus, logger, now, timeoutMs, liveness, runner });
  const refused = createRefusedMessages();
  const ingestion = createFactIngestion({ log, logger, liveness, refused });
  const api = createFleetCommands({
    log,
    bus: deps.bus,
    timeoutMs,
    maxPlanEntries: options.maxPlanEntries ?? MAX_PLAN_ENTRIES,
    runner,
    liveness,
    admission,
    serially: decisions.run,
    kick,
    now,
  });
  const tokens = createAccessTokens({ log, logger, serially: decisions.run, now });

  /** Ingests a message in arrival order; a fact batch's ack (undefined: nothing to answer). */
  const onInbound = (subject: string, payload: unknown): Promise<FactAck | undefined> =>
    arrivals.run(async () => {
      let ack: FactAck | undefined;
      try {
        if (subject.startsWith('tramway.facts.') || subject.startsWith('tramway.factlog.'))
          ack = await ingestion.ingestFacts(subject, payload);
        else if (subject.startsWith('tramway.hb.')) ingestion.ingestHeartbeat(subject, payload);
        else return undefined;
      } catch (error) {
        if (isAppError(error, 'InvalidMessage')) {
          refused.count(RefusedReason.Malformed);
          logger.warn('message rejected', { subject, error: errorText(error) });
        } else if (!isAppError(error, 'FactBatchRefused')) {
          logger.error('message not ingested', { subject, error: errorText(error) });
        }
        // a fact batch sent as a request gets the error reply (its code and problems)
        throw error;
      }
      kick();
      return ack;
    });

  const start = async (): Promise<void> => {
    if (started) return;
    started = true;
    liveness.startListening();
    await log.start();
    logger.info('log replayed', { nodes: Object.keys(log.fleet().nodes).length });
    unsubscribes.push(
      // a batch sent as a request is answered with the ids the log holds (FactAck); one only
      // published (older agents) is ingested the same way, unanswered
      deps.bus.respond(FleetSubjects.allFacts(), (m) => onInbound(m.subject, m.payload)),
      deps.bus.subscribe(FleetSubjects.allHeartbeats(), async (m) => {
        await onInbound(m.subject, m.payload).catch(() => undefined);
      }),
      deps.bus.respond(FleetSubjects.allAssignments(), (m) => {
        const { nodeId } = decodeMessageOrThrow('AssignmentRequest', m.payload);
        const subjectNode = nodeIdOfSubject(m.subject);
        if (nodeId !== subjectNode) {
          refused.count(RefusedReason.NodeMismatch);
          logger.warn('assignment request refused', {
            subject: m.subject,
            problem: `nodeId ${nodeId} does not match the subject's node`,
          });
          throw new AppError(`${m.subject}: a node may ask only for its own assignment`, {
            code: 'NodeMismatch',
            retryable: false,
          });
        }
        return runner.assignmentOf(nodeId);
      }),
    );
    // The facts stream (at least once): a fact is acknowledged once the log holds it; a message
    // that cannot be taken (not JSON, not a fact batch, a fact of another node, content the
    // log holds under its id otherwise) is acknowledged too, counted and logged as refused with
    // its reason, so it never blocks the stream; any other failure (the log) has it delivered
    // again after a backoff.
    unsubscribes.push(
      await deps.bus.consumePersisted(
        FleetSubjects.allFactLogs(),
        async (m) => {
          try {
            await onInbound(m.subject, m.payload);
          } catch (error) {
            if (isAppError(error, 'InvalidMessage') || isAppError(error, 'FactBatchRefused')) {
              logger.warn('fact refused and acknowledged (never delivered again)', {
                subject: m.subject,
                msgId: m.msgId ?? null,
                reason: errorText(error),
              });
              return;
            }
            throw error;
          }
        },
        {
          durable: FACTS_CONSUMER,
          onMalformed: (error) => {
            refused.count(RefusedReason.Malformed);
            logger.warn('fact refused and acknowledged (never delivered again)', {
              subject: error.subject,
              reason: error.message,
            });
          },
        },
      ),
    );
    await deps.bus.flush();
    // Resume from the log: what a crash may have cut, then every node's assignment again (a
    // node that missed it adopts it; one that has it re-publishes its boot's facts, which the
    // log dedups by id, so facts published while no coordinator listened are not lost).
    await decisions.run(runner.recover);
    if (tickMs > 0) timers.push(setInterval(kick, tickMs));
    if (driftIntervalMs > 0) {
      timers.push(
        setInterval(() => {
          if (stopping) return;
          decisions.run(drift.checkAll).catch((error: unknown) => {
            logger.error('drift check failed', { error: errorText(error) });
          });
        }, driftIntervalMs),
      );
    }
    kick();
    ready = true;
  };

  const notReady = (): string | undefined => {
    if (log.fatal() !== undefined) return 'the event log failed';
    if (stopping) return 'stopping';
    if (!ready) return 'starting: the log is not replayed yet';
    return undefined;
  };

  const audit =
    deps.auditReadModelPath === undefined
      ? undefined
      : createAuditApi({
          store: deps.store,
          readModelPath: deps.auditReadModelPath,
          logger: logger.child({ part: 'audit' }),
        });

  const stop = async (): Promise<Error | undefined> => {
    if (stopping) return undefined;
    stopping = true;
    for (const t of timers) clearInterval(t);
    for (const u of unsubscribes) u();
    await arrivals.drained();
    await decisions.drained();
    log.stop();
    await audit?.close();
    return log.fatal();
  };

  return {
    start,
    stop,
    notReady,
    fleet: log.fleet,
    state: log.coordinator,
    tick: () => decisions.run(step),
    checkDrift: () => decisions.run(drift.checkAll),
    staleNodes: () =>
      Object.keys(log.fleet().nodes)
        .filter((n) => liveness.isStale(n))
        .sort(),
    appendedCount: log.appendedCount,
    metrics,
    retained: log.retained,
    refusedMessages: refused.counts,
    api,
    history: deps.store,
    pastStates,
    rolloutPhase: (rolloutId) => {
      const state = runner.rolloutOf(rolloutId);
      if (state.status === 'none') return undefined;
      const spec = runner.specOf(state.policy, state.policyVersion);
      const endsAt = spec ? pauseEndsAt(state, spec.rollout) : undefined;
      return {
        status: state.status,
        pauseEndsAt: endsAt === undefined ? null : new Date(endsAt).toISOString(),
      };
    },
    tokens,
    audit,
    programs: createProgramObjects(deps.programs, now),
  };
};
