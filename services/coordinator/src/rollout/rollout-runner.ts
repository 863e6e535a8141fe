/**
 * The shell around the policy, rollout and node assignment deciders: applies a policy (its
 * version, each selected node's plan, the rollout), advances every rollout from the nodes'
 * standing in the log, resumes and rolls back, and gives the nodes of each wave started their
 * assignment. Every decision goes through `FleetLog.execute`; what the runner holds in memory is
 * only timers, so a restarted coordinator resumes from its log (`recover`).
 *
 * Slightly over ~400 lines: apply, advance, resume, rollback and recover share the
 * rollout-to-nodes step (`actOn`) and the judging of nodes; they are one seam.
 */
import type {
  Assignment,
  NodePlan,
  NodeVerdict,
  PolicySpec,
  RolloutEvent,
  RolloutState,
} from '@tramway/shared/domain';
import {
  COORDINATOR_ACTOR,
  FleetStreams,
  judgeNode,
  pauseEndsAt,
  reportedOutcome,
  rolloutIdOf,
  rolloutRollbackNodes,
  selectNodes,
} from '@tramway/shared/domain';
import type { JsonValue, NodeStanding, Policy } from '@tramway/shared/domain';
import type { FleetBus, Logger } from '@tramway/shared/infra';
import type { FleetLog, Requester } from '../log/fleet-log.js';
import { describeRequester } from '../log/fleet-log.js';
import { createNodeAssignments, inBatches } from './node-assignments.js';
import { ownEntry } from '@tramway/shared/lib';

export interface RunnerDeps {
  readonly log: FleetLog;
  readonly bus: FleetBus;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly timeoutMs: number;
  /** the node's observed generation, from its facts in the log only (never heartbeats) */
  readonly observedOf: (nodeId: string) => number;
  /** the assignment as sent: signed with the coordinator's key */
  readonly sign: (assignment: Assignment) => Assignment;
  /** whether the node is admitted (approved): only those are assigned and counted */
  readonly isAdmitted: (nodeId: string) => boolean;
  readonly isStale: (nodeId: string) => boolean;
  /** asks for another advance after `afterMs` */
  readonly schedule: (afterMs: number) => void;
}

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly code: 'NotFound' | 'Conflict' | 'Invalid';
      readonly message: string;
    };

const envelopeBy = (by: Requester): { actor: string; onBehalfOf?: string } =>
  by.onBehalfOf === undefined
    ? { actor: by.actor }
    : { actor: by.actor, onBehalfOf: by.onBehalfOf };

export const createRolloutRunner = (deps: RunnerDeps) => {
  const { log, logger } = deps;
  const { policy: policies, rollout: rollouts, assignment: assignments } = log.deciders;
  const nowIso = (): string => deps.now().toISOString();
  const nodes = createNodeAssignments(deps);
  const { specOf, assignmentOf, sendAssignment, assignNodes, takeBack, takeBackUnissued } = nodes;

  const rolloutOf = (rolloutId: string): RolloutState =>
    rollouts.get(FleetStreams.rollout(rolloutId)).state;

  /** Nodes a policy version selects now (stale ones included: they count as pending). */
  const candidatesOf = (name: string, spec: PolicySpec): string[] => {
    const policy: Policy = {
      apiVersion: 'tramway.dev/v1alpha1',
      kind: 'TracingPolicy',
      metadata: { name },
      spec,
    };
    return selectNodes(
      policy,
      Object.values(log.fleet().nodes).filter((n) => n.registered && deps.isAdmitted(n.nodeId)),
    ).map((n) => n.nodeId);
  };

  /** What the events of a rollout decision ask of the nodes: each wave started, each rollback. */
  const actOn = async (state: RolloutState, events: readonly RolloutEvent[]): Promise<void> => {
    for (const event of events) {
      if (event.type === 'WaveStarted') {
        await assignNodes(state.rolloutId, event.data.nodes, state.policy, state.policyVersion);
      } else if (event.type === 'RolloutRolledBack') {
        await assignNodes(
          state.rolloutId,
          rolloutRollbackNodes(state),
          state.policy,
          previousVersionOf(state),
        );
      }
    }
    const after = rolloutOf(state.rolloutId);
    const spec = specOf(after.policy, after.policyVersion);
    const endsAt = spec ? pauseEndsAt(after, spec.rollout) : undefined;
    if (endsAt !== undefined) deps.schedule(Math.max(0, endsAt - deps.now().getTime()) + 5);
  };

  const previousVersionOf = (state: RolloutState): number | null =>
    state.previousVersion !== undefined
      ? state.previousVersion
      : (ownEntry(log.coordinator().rolloutPrevious, state.rolloutId) ?? null);

  /**
   * How a node stands in a rollout, from the log alone: its facts (NodeReconciled) say which
   * generation it observed; a node not admitted is pending whatever it says.
   */
  const standingOf = (state: RolloutState, nodeId: string): NodeStanding => {
    const node = ownEntry(log.fleet().nodes, nodeId);
    if (!node || !deps.isAdmitted(nodeId)) return 'pending';
    const coord = log.coordinator();
    let generation = ownEntry(ownEntry(coord.rolloutGenerations, state.rolloutId) ?? {}, nodeId);
    if (generation === undefined && node.assignment) {
      const held = node.assignment.links.find((l) => l.policy === state.policy);
      if (held?.policyVersion === state.policyVersion) generation = node.assignment.generation;
    }
    return judgeNode({
      generation,
      observedGeneration: deps.observedOf(nodeId),
      failedGeneration: ownEntry(ownEntry(coord.failures, nodeId) ?? {}, state.policy),
      stale: deps.isStale(nodeId),
    });
  };

  const judged = (state: RolloutState, spec: PolicySpec) => {
    const wave = state.waves.find((w) => w.index === state.current);
    const verdicts: Record<string, NodeVerdict> = {};
    for (const nodeId of wave?.nodes ?? []) {
      verdicts[nodeId] = reportedOutcome(standingOf(state, nodeId));
    }
    return {
      rollout: spec.rollout,
      verdicts,
      candidates: state.plannedWaves ? [] : candidatesOf(state.policy, spec),
    };
  };

  /** Advances every rollout that is running or paused (a tick). */
  const advanceAll = async (): Promise<void> => {
    for (const [, { state }] of [...rollouts.all()]) {
      if (state.status !== 'running' && state.status !== 'paused') continue;
      const spec = specOf(state.policy, state.policyVersion);
      if (!spec) continue;
      const decision = await log.execute(
        rollouts,
        FleetStreams.rollout(state.rolloutId),
        {
          type: 'AdvanceRollout',
          data: judged(state, spec),
          metadata: { now: nowIso(), actor: COORDINATOR_ACTOR },
        },
        { actor: COORDINATOR_ACTOR, occurredAt: nowIso(), correlationId: state.rolloutId },
      );
      if (!decision.ok || decision.events.length === 0) continue;
      for (const { event } of decision.events) {
        if (event.type === 'WaveHeld') {
          logger.warn('wave held', { rolloutId: state.rolloutId, reason: event.data.reason });
        }
      }
      await actOn(
        state,
        decision.events.map((d) => d.event),
      );
    }
  };

  /** Starts the rollout of the policy's current version over the nodes it selects. */
  const startRollout = async (
    name: string,
    version: number,
    nodes: readonly string[],
    by: Requester,
  ): Promise<string> => {
    const rolloutId = rolloutIdOf(name, version);
    const spec = specOf(name, version);
    if (!spec) throw new Error(`policy ${name} v${version} is not in the log`);
    const decision = await log.execute(
      rollouts,
      FleetStreams.rollout(rolloutId),
      {
        type: 'StartRollout',
        data: {
          rolloutId,
          policy: name,
          policyVersion: version,
          previousVersion: ownEntry(log.coordinator().previousVersion, name) ?? null,
          rollout: spec.rollout,
          nodes,
        },
        metadata: { now: nowIso(), actor: describeRequester(by) },
      },
      { ...envelopeBy(by), occurredAt: nowIso(), correlationId: rolloutId },
    );
    if (decision.ok)
      await actOn(
        rolloutOf(rolloutId),
        decision.events.map((d) => d.event),
      );
    return rolloutId;
  };

  /**
   * Applies a validated policy: its next version (nothing when the spec is the one in force),
   * each planned node's plan, then the rollout over the planned and unreachable nodes.
   */
  const apply = async (input: {
    readonly policy: Policy;
    readonly plans: readonly NodePlan[];
    readonly unreachable: readonly string[];
    readonly by: Requester;
  }): Promise<Outcome<{ version: number; rolloutId: string; unchanged: boolean }>> => {
    const name = input.policy.metadata.name;
    const latest = ownEntry(log.coordinator().latestRollout, name);
    const running = latest === undefined ? undefined : rolloutOf(latest);
    const status = running?.status;
    const decision = await log.execute(
      policies,
      FleetStreams.policy(name),
      {
        type: 'ApplyPolicy',
        data: {
          name,
          spec: JSON.parse(JSON.stringify(input.policy.spec)) as Record<string, JsonValue>,
          running:
            latest !== undefined &&
            (status === 'running' || status === 'held' || status === 'paused')
              ? { rolloutId: latest, status }
              : null,
        },
        metadata: { actor: describeRequester(input.by) },
      },
      (events) => ({
        ...envelopeBy(input.by),
        occurredAt: nowIso(),
        correlationId: events
          .map(({ event }) =>
            event.type === 'PolicyApplied' ? rolloutIdOf(name, event.data.version) : undefined,
          )
          .find((id) => id !== undefined),
      }),
    );
    if (!decision.ok) return { ok: false, ...decision.rejection };
    const state = policies.get(FleetStreams.policy(name)).state;
    if (decision.events.length === 0 && state.current !== null) {
      return {
        ok: true,
        value: {
          version: state.current,
          rolloutId: latest ?? rolloutIdOf(name, state.current),
          unchanged: true,
        },
      };
    }
    const version = state.current!;
    const rolloutId = rolloutIdOf(name, version);
    const policyEventId = decision.events[0]?.id;
    await inBatches(input.plans, async (plan) => {
      await log.execute(
        assignments,
        FleetStreams.assignment(plan.nodeId),
        {
          type: 'RecordPlan',
          data: {
            nodeId: plan.nodeId,
            policy: name,
            policyVersion: version,
            rolloutId,
            plan: { path: plan.path, targets: plan.targets, unmatched: plan.unmatched },
          },
        },
        {
          ...envelopeBy(input.by),
          occurredAt: nowIso(),
          correlationId: rolloutId,
          causationId: policyEventId,
        },
      );
    });
    await startRollout(
      name,
      version,
      [...input.plans.map((p) => p.nodeId), ...input.unreachable],
      input.by,
    );
    logger.info('policy applied', {
      policy: name,
      version,
      rolloutId,
      actor: describeRequester(input.by),
    });
    return { ok: true, value: { version, rolloutId, unchanged: false } };
  };

  /**
   * Rolls the policy's latest rollout back: the version it replaced is in force again (or the
   * policy is removed when there was none), and every node the rollout reached gets it back.
   */
  const rollback = async (
    name: string,
    reasonGiven: string | undefined,
    by: Requester,
  ): Promise<Outcome<{ rolloutId: string }>> => {
    if (policies.get(FleetStreams.policy(name)).state.lastVersion === 0) {
      return { ok: false, code: 'NotFound', message: `no policy ${name}` };
    }
    const latest = ownEntry(log.coordinator().latestRollout, name);
    const state = latest === undefined ? undefined : rolloutOf(latest);
    if (!state || state.status === 'none' || state.status === 'rolled-back') {
      return { ok: false, code: 'Conflict', message: `policy ${name} has no rollout to roll back` };
    }
    const previous = previousVersionOf(state);
    const actor = describeRequester(by);
    const reason =
      reasonGiven ??
      (previous !== null
        ? `rolled back to v${previous} by ${actor}`
        : `policy ${name} removed by ${actor} (no previous version)`);
    const reverted = await log.execute(
      policies,
      FleetStreams.policy(name),
      {
        type: 'RevertPolicy',
        data: {
          name,
          rolloutId: state.rolloutId,
          rolloutVersion: state.policyVersion,
          previousVersion: previous,
          reason,
        },
        metadata: { actor },
      },
      { ...envelopeBy(by), occurredAt: nowIso(), correlationId: state.rolloutId },
    );
    if (!reverted.ok) return { ok: false, ...reverted.rejection };
    const decision = await log.execute(
      rollouts,
      FleetStreams.rollout(state.rolloutId),
      { type: 'RollbackRollout', data: { reason }, metadata: { now: nowIso(), actor } },
      { ...envelopeBy(by), occurredAt: nowIso(), correlationId: state.rolloutId },
    );
    if (!decision.ok) return { ok: false, ...decision.rejection };
    await actOn(
      rolloutOf(state.rolloutId),
      decision.events.map((d) => d.event),
    );
    logger.info('policy rolled back', { policy: name, rolloutId: state.rolloutId, actor, reason });
    return { ok: true, value: { rolloutId: state.rolloutId } };
  };

  const resume = async (
    rolloutId: string,
    by: Requester,
  ): Promise<Outcome<{ rolloutId: string }>> => {
    const state = rolloutOf(rolloutId);
    if (state.status === 'none') {
      return { ok: false, code: 'NotFound', message: `no rollout ${rolloutId}` };
    }
    const spec = specOf(state.policy, state.policyVersion);
    if (!spec) return { ok: false, code: 'NotFound', message: `no spec for rollout ${rolloutId}` };
    const decision = await log.execute(
      rollouts,
      FleetStreams.rollout(rolloutId),
      {
        type: 'ResumeRollout',
        data: judged(state, spec),
        metadata: { now: nowIso(), actor: describeRequester(by) },
      },
      { ...envelopeBy(by), occurredAt: nowIso(), correlationId: rolloutId },
    );
    if (!decision.ok) return { ok: false, ...decision.rejection };
    await actOn(
      state,
      decision.events.map((d) => d.event),
    );
    logger.info('rollout resumed', { rolloutId, actor: describeRequester(by) });
    return { ok: true, value: { rolloutId } };
  };

  /**
   * After a restart, re-does what a crash may have cut, from the log alone: a policy version
   * applied whose rollout never started is started; the nodes of each running wave of a policy's
   * latest rollout, and those of a rolled-back one, get what it gives them (the deciders answer
   * nothing where it is already so). Then every node is sent its assignment again.
   */
  const recover = async (): Promise<void> => {
    for (const [, { state }] of [...policies.all()]) {
      // a forward apply (not a rollback) whose rollout has not started
      if (state.current === null || state.current !== state.lastVersion) continue;
      const latest = ownEntry(log.coordinator().latestRollout, state.name);
      if (latest !== undefined && rolloutOf(latest).policyVersion >= state.current) continue;
      const spec = specOf(state.name, state.current);
      if (spec) {
        await startRollout(state.name, state.current, candidatesOf(state.name, spec), {
          actor: COORDINATOR_ACTOR,
        });
      }
    }
    for (const [, { state }] of [...rollouts.all()]) {
      if (ownEntry(log.coordinator().latestRollout, state.policy) !== state.rolloutId) continue;
      const policy = policies.get(FleetStreams.policy(state.policy)).state;
      if (
        state.status !== 'rolled-back' &&
        state.status !== 'none' &&
        policy.current !== state.policyVersion &&
        policy.lastVersion === state.policyVersion
      ) {
        // Stopped between re-applying the previous version and rolling the rollout back.
        const reason = policy.reason ?? `rolled back (completed after a coordinator restart)`;
        const decision = await log.execute(
          rollouts,
          FleetStreams.rollout(state.rolloutId),
          {
            type: 'RollbackRollout',
            data: { reason },
            metadata: { now: nowIso(), actor: COORDINATOR_ACTOR },
          },
          { actor: COORDINATOR_ACTOR, occurredAt: nowIso(), correlationId: state.rolloutId },
        );
        if (decision.ok) {
          await actOn(
            rolloutOf(state.rolloutId),
            decision.events.map((d) => d.event),
          );
        }
        continue;
      }
      if (state.status === 'running') {
        const wave = state.waves.find((w) => w.index === state.current);
        if (wave) await assignNodes(state.rolloutId, wave.nodes, state.policy, state.policyVersion);
      } else if (state.status === 'rolled-back') {
        await assignNodes(
          state.rolloutId,
          rolloutRollbackNodes(state),
          state.policy,
          previousVersionOf(state),
        );
      } else if (state.status === 'paused') {
        const spec = specOf(state.policy, state.policyVersion);
        const endsAt = spec ? pauseEndsAt(state, spec.rollout) : undefined;
        if (endsAt !== undefined) deps.schedule(Math.max(0, endsAt - deps.now().getTime()) + 5);
      }
    }
    const assigned = Object.values(log.fleet().nodes).filter(
      (n) => n.registered && n.assignment && deps.isAdmitted(n.nodeId),
    );
    await inBatches(assigned, (n) => sendAssignment(n.nodeId));
  };

  return {
    takeBack,
    takeBackUnissued,
    specOf,
    rolloutOf,
    standingOf,
    assignmentOf,
    sendAssignment,
    advanceAll,
    apply,
    rollback,
    resume,
    recover,
  };
};

export type RolloutRunner = ReturnType<typeof createRolloutRunner>;
