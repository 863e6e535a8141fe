/**
 * The coordinator's core (docs/fleet-protocol.md, "Division of work"): ingests agent facts into
 * the log, keeps the fleet projection live from the log, turns policies into plans and rollouts,
 * issues assignments wave by wave, judges waves, holds, resumes and rolls back, repairs drift and
 * marks silent nodes stale. Every decision is an event with its actor; ids of decisions are
 * deterministic from (rollout, wave, node, generation), so a restarted coordinator that replays
 * the log repeats nothing and loses nothing.
 *
 * Decisions run one at a time (`decide` queue); ingestion of facts and heartbeats runs in arrival
 * order (`ingest` queue), so a heartbeat is counted only after the facts sent before it are folded.
 */
import type { Subscription } from 'rxjs';
import type { EventStore, FleetBus, Unsubscribe } from '@tramway/shared/infra';
import { isAppError } from '@tramway/shared/infra';
import { decodeFleetEvent, encodeFleetEvent } from '@tramway/shared/contracts';
import {
  FleetStreams,
  initialRolloutState,
  runRolloutStep,
  refusePlan,
  selectNodes,
  validatePolicySpec,
} from '@tramway/shared/domain';
import type {
  Assignment,
  AssignPolicy,
  NodePlan,
  RolloutEvent as RolloutOutputEvent,
  RolloutInput,
  RolloutState,
  RolloutStep,
  Policy,
  PolicySpec,
  DesiredLink,
  DriftItem,
  FleetEvent,
  FleetRecordedEvent,
  JsonValue,
  NodeFact,
} from '@tramway/shared/domain';
import type { FleetState, NodeView, RolloutView } from '@tramway/shared/projections';
import { createFleetFolder } from '@tramway/shared/projections';
import type { NewEvent } from '@tramway/shared/lib';
import { assertNever } from '@tramway/shared/lib';
import type { NodeActualState } from '@tramway/shared/contracts';
import {
  FleetSubjects,
  decodeMessageOrThrow,
  nodeIdOfSubject,
  parsePolicyOrProblems,
} from '@tramway/shared/contracts';
import type { Logger } from '@tramway/shared/infra';
import { silentLogger } from '@tramway/shared/infra';
import type { CoordinatorState } from './rollout/coordinator.state.js';
import { evolveCoordinator, initialCoordinatorState } from './rollout/coordinator.state.js';
import { rehydrateRollout } from './rollout/rollout-rehydrate.js';
import type { NodeVerdict } from './rollout/rollout.rules.js';
import {
  desiredLinkOf,
  findDrift,
  judgeNode,
  reportedOutcome,
  withPolicy,
} from './rollout/rollout.rules.js';
import type { ApiResult } from './http/api-result.js';
import { ApiErrorCode, failure, success } from './http/api-result.js';

export interface CoordinatorClock {
  now(): Date;
}
export interface CoordinatorIds {
  newId(): string;
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
}

export interface FleetCoordinatorDeps {
  readonly bus: FleetBus;
  readonly store: EventStore;
  readonly clock: CoordinatorClock;
  readonly ids: CoordinatorIds;
  readonly logger?: Logger;
  readonly options?: CoordinatorOptions;
}

import { COORDINATOR_ACTOR } from '@tramway/shared/domain';
/** assignments re-sent concurrently at start-up */
const RESEND_BATCH = 64;
/** assignments of one wave issued concurrently */
const SEND_BATCH = 64;
export const DEFAULT_ACTOR = 'user:anonymous';

/** A decision to record: the event and its envelope (the id is deterministic). */
interface Decision {
  readonly id: string;
  readonly event: FleetEvent;
  readonly actor: string;
  readonly correlationId?: string;
  readonly causationId?: string;
}

export interface DriftReport {
  readonly nodeId: string;
  readonly items: readonly DriftItem[];
  readonly repaired: boolean;
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
  readonly api: {
    plan(body: unknown): Promise<ApiResult>;
    apply(body: unknown, actor: string): Promise<ApiResult>;
    status(name: string): ApiResult;
    rollback(name: string, body: unknown, actor: string): Promise<ApiResult>;
    resume(rolloutId: string, actor: string): Promise<ApiResult>;
    nodes(): ApiResult;
    module(nodeId: string, module: string, action: 'load' | 'unload'): Promise<ApiResult>;
  };
}

const NODE_FACT_TYPES: ReadonlySet<string> = new Set<NodeFact['type']>([
  'NodeRegistered',
  'NodeBooted',
  'KernelProfileDetected',
  'ModuleLoaded',
  'ModuleUnloaded',
  'ProgramLoaded',
  'ProgramUnloaded',
  'LinkCreated',
  'LinkCreateFailed',
  'LinkReleased',
  'DriftFound',
  'NodeReconciled',
]);

const errorText = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

const policiesOf = (links: readonly DesiredLink[]): Record<string, number> =>
  Object.fromEntries(links.map((l) => [l.policy, l.policyVersion]));

export const createFleetCoordinator = (deps: FleetCoordinatorDeps): FleetCoordinator => {
  const log = (deps.logger ?? silentLogger).child({ service: 'coordinator' });
  const options = deps.options ?? {};
  const staleAfterMs = options.staleAfterMs ?? 15_000;
  const tickMs = options.tickMs ?? 1000;
  const driftIntervalMs = options.driftIntervalMs ?? 30_000;
  const timeoutMs = options.requestTimeoutMs ?? 5000;

  const folder = createFleetFolder();
  let fleetDirty = false;
  let fleetCache: FleetState = folder.state();
  /**
   * The projection as folded so far. Taken lazily: handing a state out ends the folder's
   * copy-on-write segment, so taking it per event would copy the node table per event.
   */
  const fleetNow = (): FleetState => {
    if (fleetDirty) {
      fleetCache = folder.state();
      fleetDirty = false;
    }
    return fleetCache;
  };
  let coord: CoordinatorState = initialCoordinatorState();
  let position = 0;
  const positionWaiters: { position: number; resolve: () => void }[] = [];
  let subscription: Subscription | undefined;
  let fatal: Error | undefined;

  /** live liveness: last heartbeat (ms) and the generation it reported */
  const lastSeen = new Map<string, number>();
  const heartbeatGeneration = new Map<string, number>();
  const stale = new Set<string>();
  /** plans asked at apply time, per rollout and node (their functions go into assignments) */
  const plans = new Map<string, Map<string, NodePlan>>();
  let appended = 0;
  let startedAtMs = 0;
  let started = false;
  let stopping = false;
  const unsubscribes: Unsubscribe[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];

  let decideQueue: Promise<unknown> = Promise.resolve();
  let ingestQueue: Promise<unknown> = Promise.resolve();
  const decide = <T>(work: () => Promise<T>): Promise<T> => {
    const run = decideQueue.then(work, work);
    decideQueue = run.catch(() => undefined);
    return run;
  };
  const ingest = (work: () => Promise<void>): Promise<void> => {
    const run = ingestQueue.then(work, work);
    ingestQueue = run.catch(() => undefined);
    return run;
  };

  const onEvent = (recorded: FleetRecordedEvent): void => {
    folder.push(recorded);
    coord = evolveCoordinator(coord, recorded);
    position = Math.max(position, recorded.globalPosition);
    fleetDirty = true;
    for (let i = positionWaiters.length - 1; i >= 0; i--) {
      const w = positionWaiters[i]!;
      if (w.position <= position) {
        positionWaiters.splice(i, 1);
        w.resolve();
      }
    }
  };

  const folded = (target: number): Promise<void> =>
    target <= position
      ? Promise.resolve()
      : new Promise((resolve) => positionWaiters.push({ position: target, resolve }));

  const appendToStream = async (streamId: string, events: readonly NewEvent[]): Promise<number> => {
    try {
      const result = await deps.store.append(streamId, 'any', events);
      appended += result.appended;
      return result.lastGlobalPosition;
    } catch (error) {
      // A batch mixing stored and new ids (a retry that partly went through): one by one.
      if (!isAppError(error, 'EventIdConflict') || events.length === 1) throw error;
      let last = 0;
      for (const e of events) last = Math.max(last, await appendToStream(streamId, [e]));
      return last;
    }
  };

  /** Appends decisions (grouped by stream, in order) and waits until the projection has them. */
  const record = async (decisions: readonly Decision[]): Promise<void> => {
    const now = deps.clock.now().toISOString();
    const byStream = new Map<string, NewEvent[]>();
    for (const d of decisions) {
      const encoded = encodeFleetEvent(d.event, {
        id: d.id,
        metadata: {
          occurredAt: now,
          actor: d.actor,
          ...(d.correlationId === undefined ? {} : { correlationId: d.correlationId }),
          ...(d.causationId === undefined ? {} : { causationId: d.causationId }),
        },
      });
      const list = byStream.get(encoded.streamId) ?? [];
      list.push(encoded.event);
      byStream.set(encoded.streamId, list);
    }
    let last = 0;
    for (const [streamId, events] of byStream) {
      last = Math.max(last, await appendToStream(streamId, events));
    }
    await folded(last);
  };

  const nowMs = (): number => deps.clock.now().getTime();

  const observedOf = (node: NodeView): number =>
    Math.max(node.observedGeneration ?? 0, heartbeatGeneration.get(node.nodeId) ?? 0);

  /** validated specs by `name@version` (a version's spec never changes) */
  const specs = new Map<string, PolicySpec>();
  const specOf = (name: string, version: number): PolicySpec | undefined => {
    const key = `${name}@${version}`;
    const known = specs.get(key);
    if (known) return known;
    const raw = coord.policyVersions[name]?.[String(version)];
    if (raw === undefined) return undefined;
    const parsed = validatePolicySpec(raw);
    if (!parsed.ok) return undefined;
    specs.set(key, parsed.value);
    return parsed.value;
  };

  const assignmentOf = (nodeId: string): Assignment | null => {
    const a = fleetNow().nodes[nodeId]?.assignment;
    if (!a) return null;
    const cause = coord.assignmentCause[nodeId];
    return {
      nodeId,
      generation: a.generation,
      policies: a.links.flatMap((l) => {
        const spec = specOf(l.policy, l.policyVersion);
        return spec ? [{ name: l.policy, version: l.policyVersion, spec }] : [];
      }),
      ...(cause?.generation === a.generation
        ? {
            cause: {
              initiatedBy: cause.initiatedBy,
              ...(cause.correlationId === undefined ? {} : { correlationId: cause.correlationId }),
              eventId: cause.eventId,
            },
          }
        : {}),
    };
  };

  const liveNodes = (): NodeView[] =>
    Object.values(fleetNow().nodes).filter((n) => n.registered && !stale.has(n.nodeId));

  const sendAssignment = async (nodeId: string): Promise<void> => {
    const assignment = assignmentOf(nodeId);
    if (!assignment) return;
    try {
      const reply = decodeMessageOrThrow(
        'AssignReply',
        await deps.bus.request(FleetSubjects.assign(nodeId), assignment, { timeoutMs }),
      );
      log.debug('assignment sent', { nodeId, generation: assignment.generation, reply });
    } catch (error) {
      // The node will be judged pending/stale; the drift check re-sends to nodes behind.
      log.warn('assignment not delivered', { nodeId, error: errorText(error) });
    }
  };

  /**
   * Issues the next generation of `nodeId` with `links`, as part of `rolloutId` (or a repair), on
   * behalf of the rollout's latest request (its actor; the event it caused is the cause).
   */
  const issueAssignment = async (
    nodeId: string,
    links: readonly DesiredLink[],
    actor: string,
    correlationId: string | undefined,
    reason: string,
  ): Promise<void> => {
    const generation = (fleetNow().nodes[nodeId]?.assignment?.generation ?? 0) + 1;
    const cause = correlationId === undefined ? undefined : coord.rolloutCause[correlationId];
    await record([
      {
        id: `assignment:${nodeId}:g${generation}`,
        event: {
          type: 'AssignmentIssued',
          data: { nodeId, generation, links, reason, initiatedBy: cause?.actor ?? actor },
        },
        actor,
        ...(correlationId === undefined ? {} : { correlationId }),
        ...(cause === undefined ? {} : { causationId: cause.eventId }),
      },
    ]);
    await sendAssignment(nodeId);
  };

  const asPolicy = (name: string, spec: PolicySpec): Policy => ({
    apiVersion: 'tramway.dev/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name },
    spec,
  });

  /** Nodes a policy version selects now (stale ones included: they count as pending until heard). */
  const candidatesOf = (name: string, spec: PolicySpec): string[] =>
    selectNodes(
      asPolicy(name, spec),
      Object.values(fleetNow().nodes).filter((n) => n.registered),
    ).map((n) => n.nodeId);

  const nodeVerdict = (rollout: RolloutView, nodeId: string): NodeVerdict => {
    const node = fleetNow().nodes[nodeId];
    if (!node) return 'pending';
    let generation = coord.rolloutGenerations[rollout.rolloutId]?.[nodeId];
    if (generation === undefined && node.assignment) {
      const current = policiesOf(node.assignment.links)[rollout.policy];
      if (current === rollout.policyVersion) generation = node.assignment.generation;
    }
    return judgeNode({
      generation,
      observedGeneration: observedOf(node),
      failedGeneration: coord.failures[nodeId]?.[rollout.policy],
      stale: stale.has(nodeId),
    });
  };

  // ---- the rollout workflow (shared/src/domain/rollout) and its runner ----

  /** The workflow state of each rollout not yet completed or rolled back. */
  const workflows = new Map<string, RolloutState>();

  const previousOf = (rolloutId: string): RolloutState['previous'] => {
    const version = coord.rolloutPrevious[rolloutId];
    const spec =
      version === null || version === undefined
        ? undefined
        : specOf(fleetNow().rollouts[rolloutId]?.policy ?? '', version);
    return version !== null && version !== undefined && spec ? { version, spec } : null;
  };

  const rehydrate = (view: RolloutView): RolloutState | undefined => {
    const spec = specOf(view.policy, view.policyVersion);
    if (!spec) return undefined;
    return rehydrateRollout({
      view,
      spec,
      previous: previousOf(view.rolloutId),
      candidates: candidatesOf(view.policy, spec),
      completedAt: coord.waveCompletedAt[view.rolloutId]?.[String(view.currentWave ?? -1)],
    });
  };

  const eventIdOf = (event: RolloutOutputEvent): string => {
    const r = `rollout:${event.data.rolloutId}`;
    switch (event.type) {
      case 'RolloutStarted':
        return `${r}:started`;
      case 'WaveStarted':
        return `${r}:wave:${event.data.wave}:started`;
      case 'WaveHeld':
        return `${r}:wave:${event.data.wave}:held`;
      case 'WaveCompleted':
        return `${r}:wave:${event.data.wave}:completed`;
      case 'RolloutCompleted':
        return `${r}:completed`;
      case 'RolloutRolledBack':
        return `${r}:rolled-back`;
      default:
        return assertNever(event, 'rollout event');
    }
  };

  /** Gives a node a policy version (null: removes the policy), once per rollout. */
  const assignPolicy = async (command: AssignPolicy['data']): Promise<void> => {
    const { rolloutId, nodeId, policy, version, spec } = command;
    const node = fleetNow().nodes[nodeId];
    if (!node) return;
    const links = node.assignment?.links ?? [];
    const held = policiesOf(links)[policy];
    if (version === null || spec === null) {
      if (held === undefined) return;
      await issueAssignment(
        nodeId,
        links.filter((l) => l.policy !== policy),
        COORDINATOR_ACTOR,
        rolloutId,
        `rollout ${rolloutId}: policy ${policy} removed (v${held} rolled back, no previous version)`,
      );
      return;
    }
    if (held === version) return;
    const link = desiredLinkOf(policy, version, spec, plans.get(rolloutId)?.get(nodeId));
    await issueAssignment(
      nodeId,
      withPolicy(links, link),
      COORDINATOR_ACTOR,
      rolloutId,
      held === undefined
        ? `rollout ${rolloutId}: policy ${policy} v${version}`
        : `rollout ${rolloutId}: policy ${policy} v${held} -> v${version}`,
    );
  };

  /** Runs one workflow input: records what it publishes, sends what it sends, keeps its state. */
  const runInput = async (state: RolloutState, input: RolloutInput): Promise<RolloutStep> => {
    const stepped = runRolloutStep(state, input);
    const id = stepped.state.rolloutId;
    if (stepped.state.status === 'completed' || stepped.state.status === 'rolled-back') {
      workflows.delete(id);
    } else {
      workflows.set(id, stepped.state);
    }
    // Consecutive Sends go to different nodes: they run concurrently, a batch at a time, in order
    // with the events around them.
    let sends: AssignPolicy['data'][] = [];
    const flushSends = async (): Promise<void> => {
      for (let i = 0; i < sends.length; i += SEND_BATCH) {
        await Promise.all(sends.slice(i, i + SEND_BATCH).map((c) => assignPolicy(c)));
      }
      sends = [];
    };
    for (const output of stepped.outputs) {
      if (output.kind === 'Send') {
        sends.push(output.command.data);
        continue;
      }
      await flushSends();
      switch (output.kind) {
        case 'Publish':
          await record([
            {
              id: eventIdOf(output.event),
              // WaveCompleted carries the reason of an operator's override of the gate
              event:
                output.event.type === 'WaveCompleted' && output.reason !== undefined
                  ? { ...output.event, data: { ...output.event.data, reason: output.reason } }
                  : output.event,
              actor: output.actor,
              correlationId: output.event.data.rolloutId,
            },
          ]);
          if (output.event.type === 'WaveHeld') {
            log.warn('wave held', {
              rolloutId: id,
              reason: output.reason ?? output.event.data.reason,
            });
          }
          break;
        case 'Schedule':
          timers.push(setTimeout(kick, output.afterMs + 5));
          break;
        case 'Complete':
          workflows.delete(id);
          break;
        case 'Ignore':
          log.debug('rollout input ignored', {
            rolloutId: id,
            input: input.type,
            reason: output.reason,
          });
          break;
        default:
          assertNever(output, 'rollout output');
      }
    }
    await flushSends();
    return stepped;
  };

  /** Reports to each running workflow the nodes of its current wave that are decided now. */
  const reportNodes = async (): Promise<void> => {
    const now = deps.clock.now().toISOString();
    for (const [rolloutId, state] of [...workflows]) {
      const view = fleetNow().rollouts[rolloutId];
      const wave = state.waves[state.current];
      if (!view || !wave || wave.state !== 'running' || state.status !== 'running') continue;
      for (const nodeId of wave.nodes) {
        const current = workflows.get(rolloutId);
        if (!current || current.status !== 'running') break;
        const verdict = nodeVerdict(view, nodeId);
        // stale is not failed: the node is judged once heard again (reportedOutcome)
        const outcome = reportedOutcome(verdict);
        if (outcome === undefined) continue;
        const known = current.waves[current.current]?.outcomes[nodeId];
        const node = fleetNow().nodes[nodeId];
        const observedGeneration = node ? observedOf(node) : 0;
        if (known?.outcome === outcome && known.observedGeneration === observedGeneration) continue;
        await runInput(current, {
          type: 'NodeReported',
          data: {
            rolloutId,
            nodeId,
            observedGeneration,
            outcome,
            ...(outcome === 'failed'
              ? { reason: node?.lastFailure?.reason ?? 'attach failed' }
              : {}),
          },
          metadata: { now },
        });
      }
    }
  };

  const pumpRollouts = async (): Promise<void> => {
    const now = deps.clock.now().toISOString();
    for (const [rolloutId, state] of [...workflows]) {
      if (state.status === 'paused') {
        await runInput(state, { type: 'Tick', data: { rolloutId }, metadata: { now } });
      }
    }
    await reportNodes();
  };

  /** Loads the rollouts of the log that are still going, and re-does what a crash may have cut. */
  const resumeWorkflows = async (): Promise<void> => {
    for (const view of Object.values(fleetNow().rollouts)) {
      if (view.status === 'completed' || view.status === 'rolled-back') continue;
      const state = rehydrate(view);
      if (!state) continue;
      if (state.current === -1) {
        // Crashed between RolloutStarted and its first wave: start it again (same event ids).
        await runInput(initialRolloutState(), {
          type: 'StartRollout',
          data: {
            rolloutId: view.rolloutId,
            policy: view.policy,
            policyVersion: view.policyVersion,
            spec: state.spec!,
            previous: state.previous,
            nodes: candidatesOf(view.policy, state.spec!),
          },
          metadata: { now: deps.clock.now().toISOString(), actor: view.startedBy },
        });
        continue;
      }
      const wave = state.waves[state.current];
      if (state.current === state.waves.length - 1 && wave?.state === 'completed') {
        // Crashed between the last WaveCompleted and RolloutCompleted.
        await record([
          {
            id: `rollout:${view.rolloutId}:completed`,
            event: { type: 'RolloutCompleted', data: { rolloutId: view.rolloutId } },
            actor: COORDINATOR_ACTOR,
            correlationId: view.rolloutId,
          },
        ]);
        continue;
      }
      workflows.set(view.rolloutId, state);
      if (state.status === 'running' && wave) {
        for (const nodeId of wave.nodes) {
          await assignPolicy({
            rolloutId: view.rolloutId,
            nodeId,
            policy: view.policy,
            version: view.policyVersion,
            spec: state.spec,
          });
        }
      }
    }
  };

  /** Marks silent nodes stale and heard ones alive again, each change recorded (ids from lastSeen). */
  const markStale = async (): Promise<void> => {
    const now = nowMs();
    for (const node of Object.values(fleetNow().nodes)) {
      if (!node.registered) continue;
      const heard = lastSeen.get(node.nodeId);
      const seen = heard ?? startedAtMs;
      // a node the log left stale stays stale until it is heard again
      const isStale = (heard === undefined && stale.has(node.nodeId)) || now - seen > staleAfterMs;
      if (isStale && !stale.has(node.nodeId)) {
        stale.add(node.nodeId);
        const lastSeenIso = heard === undefined ? null : new Date(heard).toISOString();
        await record([
          {
            id: `stale:${node.nodeId}:${seen}`,
            event: {
              type: 'NodeMarkedStale',
              data: { nodeId: node.nodeId, lastSeen: lastSeenIso, silentMs: now - seen },
            },
            actor: COORDINATOR_ACTOR,
          },
        ]);
        log.warn('node marked stale', { nodeId: node.nodeId, silentMs: now - seen });
      } else if (!isStale && stale.has(node.nodeId)) {
        stale.delete(node.nodeId);
        await record([
          {
            id: `alive:${node.nodeId}:${seen}`,
            event: {
              type: 'NodeMarkedAlive',
              data: { nodeId: node.nodeId, lastSeen: new Date(seen).toISOString() },
            },
            actor: COORDINATOR_ACTOR,
          },
        ]);
        log.info('node alive again', { nodeId: node.nodeId });
      }
    }
  };

  const tick = (): Promise<void> =>
    decide(async () => {
      if (fatal) return;
      await markStale();
      await pumpRollouts();
    });

  let kickPending = false;
  /** Queues a tick unless one is already waiting (bursts of facts coalesce into one). */
  const kick = (): void => {
    if (stopping || kickPending) return;
    kickPending = true;
    decide(async () => {
      kickPending = false;
      if (fatal) return;
      await markStale();
      await pumpRollouts();
    }).catch((error: unknown) => {
      log.error('rollout step failed', { error: errorText(error) });
    });
  };

  // ---- ingestion (facts, heartbeats) ----

  const ingestFacts = async (subject: string, payload: unknown): Promise<void> => {
    const batch = decodeMessageOrThrow('FactBatch', payload);
    const subjectNode = nodeIdOfSubject(subject);
    const problems: string[] = [];
    if (batch.nodeId !== subjectNode) {
      problems.push(
        `nodeId: ${batch.nodeId} does not match the subject's node ${subjectNode ?? '(none)'}`,
      );
    }
    const encoded: { streamId: string; event: NewEvent }[] = [];
    batch.events.forEach((e, i) => {
      if (!NODE_FACT_TYPES.has(e.type)) {
        problems.push(`events[${i}].type: ${e.type} is not a node fact`);
        return;
      }
      if ((e.data as { nodeId?: unknown } | null)?.nodeId !== batch.nodeId) {
        problems.push(`events[${i}].data.nodeId: must be ${batch.nodeId}`);
        return;
      }
      // Validate through the codec of the log (an upcast to the current version included).
      const decoded = decodeFleetEvent({
        id: e.id,
        type: e.type,
        schemaVersion: e.schemaVersion,
        data: e.data,
        metadata: e.metadata as NewEvent['metadata'],
        streamId: FleetStreams.node(batch.nodeId),
        streamVersion: 1,
        globalPosition: 1,
        recordedAt: e.metadata.occurredAt,
      });
      if (!decoded.ok) {
        problems.push(
          `events[${i}]${decoded.error.path ? `.${decoded.error.path}` : ''}: ${decoded.error.problem}`,
        );
        return;
      }
      try {
        encoded.push(
          encodeFleetEvent({ type: decoded.value.type, data: decoded.value.data } as FleetEvent, {
            id: e.id,
            metadata: decoded.value.metadata,
          }),
        );
      } catch (error) {
        problems.push(`events[${i}]: ${errorText(error)}`);
      }
    });
    if (problems.length > 0) {
      log.warn('fact batch rejected', { subject, problems });
      return;
    }
    lastSeen.set(batch.nodeId, nowMs());
    if (encoded.length === 0) return;
    const last = await appendToStream(
      encoded[0]!.streamId,
      encoded.map((e) => e.event),
    );
    await folded(last);
  };

  const ingestHeartbeat = (subject: string, payload: unknown): void => {
    const hb = decodeMessageOrThrow('Heartbeat', payload);
    if (hb.nodeId !== nodeIdOfSubject(subject)) {
      log.warn('heartbeat rejected', { subject, problem: `nodeId ${hb.nodeId} does not match` });
      return;
    }
    lastSeen.set(hb.nodeId, nowMs());
    const node = fleetNow().nodes[hb.nodeId];
    // A heartbeat of an older boot says nothing of the current one.
    if (node && node.bootId !== '' && node.bootId !== hb.bootId) return;
    heartbeatGeneration.set(hb.nodeId, hb.observedGeneration);
  };

  const onInbound = (subject: string, payload: unknown): Promise<void> =>
    ingest(async () => {
      try {
        if (subject.startsWith('tramway.facts.')) await ingestFacts(subject, payload);
        else if (subject.startsWith('tramway.hb.')) ingestHeartbeat(subject, payload);
        else return;
      } catch (error) {
        if (isAppError(error, 'InvalidMessage')) {
          log.warn('message rejected', { subject, error: errorText(error) });
          return;
        }
        log.error('message not ingested', { subject, error: errorText(error) });
        return;
      }
      kick();
    });

  // ---- drift ----

  const requestState = async (nodeId: string): Promise<NodeActualState> =>
    decodeMessageOrThrow(
      'NodeActualState',
      await deps.bus.request(FleetSubjects.state(nodeId), {}, { timeoutMs }),
    );

  const checkDrift = (): Promise<DriftReport[]> =>
    decide(async () => {
      const reports: DriftReport[] = [];
      for (const node of liveNodes()) {
        const assignment = node.assignment;
        if (!assignment) continue;
        let actual: NodeActualState;
        try {
          actual = await requestState(node.nodeId);
        } catch (error) {
          log.warn('state not fetched', { nodeId: node.nodeId, error: errorText(error) });
          continue;
        }
        if (actual.observedGeneration < assignment.generation) {
          // Behind: the assignment may have been lost; sending it again is harmless.
          await sendAssignment(node.nodeId);
          continue;
        }
        const failed = new Set(
          Object.entries(coord.failures[node.nodeId] ?? {})
            .filter(([, g]) => g >= assignment.generation)
            .map(([p]) => p),
        );
        const items = findDrift({
          desired: assignment.links,
          generation: assignment.generation,
          failedPolicies: failed,
          loggedLinkIds: Object.values(node.links).map((l) => l.linkId),
          actual,
        });
        // Log-side items already recorded (a link the log still holds) are not found again.
        const known = node.drift;
        const fresh = items.filter(
          (i) =>
            i.linkId === undefined ||
            !known.some((k) => k.kind === i.kind && k.linkId === i.linkId),
        );
        if (fresh.length === 0) continue;
        await record([
          {
            id: `drift:${node.nodeId}:g${assignment.generation}`,
            event: {
              type: 'DriftFound',
              data: {
                nodeId: node.nodeId,
                observedGeneration: actual.observedGeneration,
                items,
              },
            },
            actor: COORDINATOR_ACTOR,
          },
        ]);
        log.warn('drift found', { nodeId: node.nodeId, items });
        // Repair: the same policies as a new generation, so the agent reconciles again.
        await issueAssignment(
          node.nodeId,
          assignment.links,
          COORDINATOR_ACTOR,
          undefined,
          `drift repair: generation ${assignment.generation} again as a new generation`,
        );
        reports.push({ nodeId: node.nodeId, items, repaired: true });
      }
      return reports;
    });

  // ---- API ----

  const askPlans = async (
    policy: Policy,
    version: number,
    nodes: readonly NodeView[],
  ): Promise<{ plans: NodePlan[]; unreachable: { nodeId: string; reason: string }[] }> => {
    type Asked = { plan: NodePlan } | { nodeId: string; reason: string };
    const results = await Promise.all(
      nodes.map(async (n): Promise<Asked> => {
        const subject = FleetSubjects.plan(n.nodeId);
        try {
          const reply = await deps.bus.request(
            subject,
            { policy, policyVersion: version },
            { timeoutMs },
          );
          return { plan: decodeMessageOrThrow('NodePlan', reply) };
        } catch (error) {
          return { nodeId: n.nodeId, reason: errorText(error) };
        }
      }),
    );
    return {
      plans: results.flatMap((r) => ('plan' in r ? [r.plan] : [])),
      unreachable: results.flatMap((r) => ('reason' in r ? [r] : [])),
    };
  };

  const nextVersion = (name: string): number =>
    Math.max(0, ...Object.keys(coord.policyVersions[name] ?? {}).map(Number)) + 1;

  const planFor = async (
    body: unknown,
  ): Promise<
    | { ok: false; result: ApiResult }
    | {
        ok: true;
        policy: Policy;
        version: number;
        plans: NodePlan[];
        refused: readonly string[];
        unreachable: { nodeId: string; reason: string }[];
      }
  > => {
    if (typeof body !== 'object' || body === null || !('policy' in body)) {
      return {
        ok: false,
        result: failure(400, ApiErrorCode.InvalidRequest, 'the body must be { policy }', [
          'policy: required (YAML text or an object)',
        ]),
      };
    }
    const parsed = parsePolicyOrProblems((body as { policy: unknown }).policy);
    if (!parsed.ok) {
      return {
        ok: false,
        result: failure(
          400,
          ApiErrorCode.InvalidPolicy,
          'the policy is invalid',
          parsed.problems.map((p) => `policy.${p}`),
        ),
      };
    }
    const policy = parsed.policy;
    const version = nextVersion(policy.metadata.name);
    const all = liveNodes();
    const selected = selectNodes(policy, all);
    const asked = await askPlans(policy, version, selected);
    const knownLabels = new Set(
      Object.values(fleetNow().nodes)
        .filter((n) => n.registered)
        .flatMap((n) => Object.keys(n.labels)),
    );
    const refused = refusePlan(asked.plans, policy, knownLabels)?.reasons ?? [];
    return { ok: true, policy, version, ...asked, refused };
  };

  const plan = async (body: unknown): Promise<ApiResult> => {
    const p = await planFor(body);
    if (!p.ok) return p.result;
    return success({
      policy: p.policy.metadata.name,
      version: p.version,
      nodes: p.plans,
      ...(p.unreachable.length > 0 ? { unreachable: p.unreachable } : {}),
      ...(p.refused.length > 0 ? { refused: { reasons: p.refused } } : {}),
    });
  };

  const apply = (body: unknown, actor: string): Promise<ApiResult> =>
    decide(async () => {
      const p = await planFor(body);
      if (!p.ok) return p.result;
      const name = p.policy.metadata.name;
      if (p.refused.length > 0) {
        return failure(
          400,
          ApiErrorCode.PlanRefused,
          `policy ${name} refused at plan time`,
          p.refused,
        );
      }
      const latest = coord.latestRollout[name];
      const running = latest === undefined ? undefined : fleetNow().rollouts[latest];
      if (running && (running.status === 'running' || running.status === 'held')) {
        return failure(
          409,
          ApiErrorCode.Conflict,
          `rollout ${running.rolloutId} of policy ${name} is ${running.status}: resume it, wait for it, or roll it back first`,
        );
      }
      const current = fleetNow().policies[name];
      if (current && JSON.stringify(current.spec) === JSON.stringify(p.policy.spec) && latest) {
        return success({ policy: name, version: current.version, rolloutId: latest }, 202);
      }
      const rolloutId = `${name}-v${p.version}-${deps.ids.newId()}`;
      plans.set(rolloutId, new Map(p.plans.map((x) => [x.nodeId, x])));
      await record([
        {
          id: `policy:${name}:v${p.version}`,
          event: {
            type: 'PolicyApplied',
            data: {
              name,
              version: p.version,
              spec: p.policy.spec as unknown as Record<string, JsonValue>,
              reason: current
                ? `update of v${current.version} by ${actor}`
                : `new policy applied by ${actor}`,
            },
          },
          actor,
          correlationId: rolloutId,
        },
      ]);
      const previousSpec = current ? specOf(name, current.version) : undefined;
      await runInput(initialRolloutState(), {
        type: 'StartRollout',
        data: {
          rolloutId,
          policy: name,
          policyVersion: p.version,
          spec: p.policy.spec,
          previous:
            current && previousSpec ? { version: current.version, spec: previousSpec } : null,
          nodes: [...p.plans.map((x) => x.nodeId), ...p.unreachable.map((x) => x.nodeId)],
        },
        metadata: { now: deps.clock.now().toISOString(), actor },
      });
      log.info('policy applied', { policy: name, version: p.version, rolloutId, actor });
      kick();
      return success({ policy: name, version: p.version, rolloutId }, 202);
    });

  /**
   * Rolls the policy's latest rollout back (the workflow's RollbackRollout): every node it gave
   * the new version gets the previous one back, or loses the policy when there was none. The
   * version in force again is recorded first (PolicyApplied of it, or PolicyRemoved).
   */
  const rollback = (name: string, body: unknown, actor: string): Promise<ApiResult> =>
    decide(async () => {
      const reasonValue = (body as { reason?: unknown } | null)?.reason;
      if (reasonValue !== undefined && typeof reasonValue !== 'string') {
        return failure(400, ApiErrorCode.InvalidRequest, 'invalid body', [
          'reason: expected a string',
        ]);
      }
      if (!fleetNow().policies[name])
        return failure(404, ApiErrorCode.NotFound, `no policy ${name}`);
      const latest = coord.latestRollout[name];
      const view = latest === undefined ? undefined : fleetNow().rollouts[latest];
      const state = view ? (workflows.get(view.rolloutId) ?? rehydrate(view)) : undefined;
      if (!view || !state || view.status === 'rolled-back') {
        return failure(409, ApiErrorCode.Conflict, `policy ${name} has no rollout to roll back`);
      }
      const previous = state.previous;
      const reason =
        reasonValue ??
        (previous
          ? `rolled back to v${previous.version} by ${actor}`
          : `policy ${name} removed by ${actor} (no previous version)`);
      await record([
        previous
          ? {
              id: `policy:${name}:v${previous.version}:rollback:${view.rolloutId}`,
              event: {
                type: 'PolicyApplied',
                data: {
                  name,
                  version: previous.version,
                  spec: previous.spec as unknown as Record<string, JsonValue>,
                  reason,
                },
              },
              actor,
              correlationId: view.rolloutId,
            }
          : {
              id: `policy:${name}:v${view.policyVersion}:removed`,
              event: {
                type: 'PolicyRemoved',
                data: { name, version: view.policyVersion, reason },
              },
              actor,
              correlationId: view.rolloutId,
            },
      ]);
      await runInput(state, {
        type: 'RollbackRollout',
        data: { rolloutId: view.rolloutId, reason },
        metadata: { now: deps.clock.now().toISOString(), actor },
      });
      log.info('policy rolled back', { policy: name, rolloutId: view.rolloutId, actor, reason });
      return success({ rolloutId: view.rolloutId });
    });

  const resume = (rolloutId: string, actor: string): Promise<ApiResult> =>
    decide(async () => {
      const view = fleetNow().rollouts[rolloutId];
      if (!view) return failure(404, ApiErrorCode.NotFound, `no rollout ${rolloutId}`);
      const state = workflows.get(rolloutId);
      if (!state || (state.status !== 'held' && state.status !== 'paused')) {
        return failure(
          409,
          ApiErrorCode.Conflict,
          `rollout ${rolloutId} is ${state?.status ?? view.status}: only a held or paused rollout resumes`,
        );
      }
      await runInput(state, {
        type: 'ResumeRollout',
        data: { rolloutId },
        metadata: { now: deps.clock.now().toISOString(), actor },
      });
      log.info('rollout resumed', { rolloutId, actor });
      kick();
      return success({ rolloutId });
    });

  const status = (name: string): ApiResult => {
    const policy = fleetNow().policies[name];
    if (!policy) return failure(404, ApiErrorCode.NotFound, `no policy ${name}`);
    const rolloutId = coord.latestRollout[name];
    const rollout = rolloutId === undefined ? undefined : fleetNow().rollouts[rolloutId];
    const waves = rollout
      ? Object.values(rollout.waves)
          .sort((a, b) => a.wave - b.wave)
          .map((w) => {
            const verdicts = w.nodes.map((n) => nodeVerdict(rollout, n));
            return {
              index: w.wave,
              nodes: w.nodes,
              state: w.status,
              succeeded: w.succeeded ?? verdicts.filter((v) => v === 'converged').length,
              failed: w.failed ?? verdicts.filter((v) => v === 'failed').length,
            };
          })
      : [];
    const nodeIds = rollout ? Object.values(rollout.waves).flatMap((w) => w.nodes) : [];
    const nodes = nodeIds.map((nodeId) => {
      const node = fleetNow().nodes[nodeId];
      const verdict = rollout ? nodeVerdict(rollout, nodeId) : 'pending';
      const attached = Object.values(node?.links ?? {})
        .filter((l) => l.policy === name)
        .reduce((sum, l) => sum + l.connections.length, 0);
      // pending and rejected are the node's own report of its last reconcile pass (NodeReconciled,
      // in the log): right after a coordinator restart, and updated when a module loads
      const outcome = node?.reconciled?.[name];
      return {
        nodeId,
        generation: node?.assignment?.generation ?? 0,
        observedGeneration: node ? observedOf(node) : 0,
        state: verdict,
        functions: {
          attached,
          pending: outcome?.pending.length ?? 0,
          rejected: outcome?.rejected.length ?? 0,
        },
      };
    });
    return success({
      policy: name,
      version: policy.version,
      rollout: rollout ? { id: rollout.rolloutId, state: rollout.status, waves } : null,
      nodes,
    });
  };

  const nodes = (): ApiResult =>
    success(
      Object.values(fleetNow().nodes)
        .filter((n) => n.registered)
        .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))
        .map((n) => {
          const seen = lastSeen.get(n.nodeId);
          return {
            nodeId: n.nodeId,
            labels: n.labels,
            profile: n.profile,
            attachPath: n.attachPath,
            bootId: n.bootId,
            lastSeen: seen === undefined ? null : new Date(seen).toISOString(),
            stale: stale.has(n.nodeId),
            generation: n.assignment?.generation ?? 0,
            observedGeneration: observedOf(n),
          };
        }),
    );

  const moduleAction = async (
    nodeId: string,
    module: string,
    action: 'load' | 'unload',
  ): Promise<ApiResult> => {
    if (!fleetNow().nodes[nodeId]?.registered)
      return failure(404, ApiErrorCode.NotFound, `no node ${nodeId}`);
    if (!/^[A-Za-z0-9_.-]+$/.test(module)) {
      return failure(400, ApiErrorCode.InvalidRequest, 'invalid module name', [
        `module: ${JSON.stringify(module)} is not a module name`,
      ]);
    }
    const subject = FleetSubjects.module(nodeId);
    try {
      const reply = decodeMessageOrThrow(
        'ModuleReply',
        await deps.bus.request(subject, { action, module }, { timeoutMs }),
      );
      return success(reply);
    } catch (error) {
      return failure(503, ApiErrorCode.AgentUnavailable, `node ${nodeId}: ${errorText(error)}`);
    }
  };

  // ---- lifecycle ----

  const start = async (): Promise<void> => {
    if (started) return;
    started = true;
    startedAtMs = nowMs();
    const head = await deps.store.headPosition();
    subscription = deps.store.subscribe(0).subscribe({
      next: (recorded) => {
        const decoded = decodeFleetEvent(recorded);
        if (!decoded.ok) {
          // Not a fleet event we can read: skip it, but keep the position moving.
          log.error('event not decoded', {
            position: recorded.globalPosition,
            problem: decoded.error.problem,
          });
          position = Math.max(position, recorded.globalPosition);
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
    log.info('log replayed', { position, nodes: Object.keys(fleetNow().nodes).length });
    // Nodes the log left stale stay stale until they are heard again.
    for (const nodeId of Object.keys(coord.staleNodes)) stale.add(nodeId);
    unsubscribes.push(
      deps.bus.subscribe(FleetSubjects.allFacts(), (m) => onInbound(m.subject, m.payload)),
      deps.bus.subscribe(FleetSubjects.allHeartbeats(), (m) => onInbound(m.subject, m.payload)),
      deps.bus.respond(FleetSubjects.assignment(), (m) => {
        const { nodeId } = decodeMessageOrThrow('AssignmentRequest', m.payload);
        return assignmentOf(nodeId);
      }),
    );
    await deps.bus.flush();
    await decide(resumeWorkflows);
    // Resume: re-send every node its current generation. A node that missed it adopts it; one
    // that has it re-publishes its boot's facts (the log dedups by id), so facts published while
    // no coordinator listened are not lost.
    await decide(async () => {
      const assigned = Object.values(fleetNow().nodes).filter((n) => n.registered && n.assignment);
      for (let i = 0; i < assigned.length; i += RESEND_BATCH) {
        await Promise.all(assigned.slice(i, i + RESEND_BATCH).map((n) => sendAssignment(n.nodeId)));
      }
    });
    if (tickMs > 0) timers.push(setInterval(kick, tickMs));
    if (driftIntervalMs > 0) {
      timers.push(
        setInterval(() => {
          if (stopping) return;
          checkDrift().catch((error: unknown) => {
            log.error('drift check failed', { error: errorText(error) });
          });
        }, driftIntervalMs),
      );
    }
    kick();
  };

  const stop = async (): Promise<Error | undefined> => {
    if (stopping) return undefined;
    stopping = true;
    for (const t of timers) clearInterval(t);
    for (const u of unsubscribes) u();
    await ingestQueue;
    await decideQueue;
    subscription?.unsubscribe();
    return fatal;
  };

  return {
    start,
    stop,
    fleet: fleetNow,
    state: () => coord,
    tick,
    checkDrift,
    staleNodes: () => [...stale].sort(),
    appendedCount: () => appended,
    api: {
      plan,
      apply,
      status,
      rollback,
      resume,
      nodes,
      module: moduleAction,
    },
  };
};
