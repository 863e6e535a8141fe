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
  RolloutKind,
  RolloutSpec,
  RolloutState,
} from '@tramway/shared/domain';
import {
  COORDINATOR_ACTOR,
  UNDO_ROLLOUT,
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

  /**
   * The waves of a rollout: the policy version's own for an apply; every node at once for a
   * rollback or a release (undoing is not rolled out gradually, and no failure holds it).
   */
  const rolloutSpecOf = (state: RolloutState): RolloutSpec | undefined =>
    state.kind === 'apply' ? specOf(state.policy, state.policyVersion)?.rollout : UNDO_ROLLOUT;

  /** What a rollout gives its nodes: its version, or nothing (null) for a release. */
  const targetOf = (state: RolloutState): number | null =>
    state.kind === 'release' ? null : state.policyVersion;

  /** What the events of a rollout decision ask of the nodes: each wave started. */
  const actOn = async (state: RolloutState, events: readonly RolloutEvent[]): Promise<void> => {
    for (const event of events) {
      if (event.type === 'WaveStarted') {
        await assignNodes(state.rolloutId, event.data.nodes, state.policy, targetOf(state));
      }
    }
    const after = rolloutOf(state.rolloutId);
    const rollout = rolloutSpecOf(after);
    const endsAt = rollout ? pauseEndsAt(after, rollout) : undefined;
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
    if (generation === undefined) {
      // given nothing by this rollout: it already held what the rollout gives (that version,
      // or, for a release, no link of the policy) since its latest generation
      const held = node.assignment?.links.find((l) => l.policy === state.policy);
      if (
        state.kind === 'release' ? held === undefined : held?.policyVersion === state.policyVersion
      )
        generation = node.assignment?.generation ?? 0;
    }
    return judgeNode({
      generation,
      observedGeneration: deps.observedOf(nodeId),
      // releasing a policy attaches nothing: an earlier failed attach of it is not this rollout's
      failedGeneration:
        state.kind === 'release'
          ? undefined
          : ownEntry(ownEntry(coord.failures, nodeId) ?? {}, state.policy),
      stale: deps.isStale(nodeId),
    });
  };

  const judged = (state: RolloutState, rollout: RolloutSpec) => {
    const wave = state.waves.find((w) => w.index === state.current);
    const verdicts: Record<string, NodeVerdict> = {};
    for (const nodeId of wave?.nodes ?? []) {
      verdicts[nodeId] = reportedOutcome(standingOf(state, nodeId));
    }
    const spec = state.plannedWaves ? undefined : specOf(state.policy, state.policyVersion);
    return {
      rollout,
      verdicts,
      candidates: spec ? candidatesOf(state.policy, spec) : [],
    };
  };

  /** Advances every rollout that is running or paused (a tick). */
  const advanceAll = async (): Promise<void> => {
    for (const [, { state }] of [...rollouts.all()]) {
      if (state.status !== 'running' && state.status !== 'paused') continue;
      const rollout = rolloutSpecOf(state);
      if (!rollout) continue;
      const decision = await log.execute(
        rollouts,
        FleetStreams.rollout(state.rolloutId),
        {
          type: 'AdvanceRollout',
          data: judged(state, rollout),
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
    undo?: {
      readonly rolloutId: string;
      readonly kind: Exclude<RolloutKind, 'apply'>;
      readonly rollsBack?: string;
      readonly previousVersion: number | null;
    },
  ): Promise<string> => {
    const rolloutId = undo?.rolloutId ?? rolloutIdOf(name, version);
    const spec = undo ? undefined : specOf(name, version);
    if (!undo && !spec) throw new Error(`policy ${name} v${version} is not in the log`);
    const decision = await log.execute(
      rollouts,
      FleetStreams.rollout(rolloutId),
      {
        type: 'StartRollout',
        data: {
          rolloutId,
          policy: name,
          policyVersion: version,
          previousVersion: undo
            ? undo.previousVersion
            : (ownEntry(log.coordinator().previousVersion, name) ?? null),
          rollout: spec?.rollout ?? UNDO_ROLLOUT,
          nodes,
          ...(undo ? { kind: undo.kind } : {}),
          ...(undo?.rollsBack === undefined ? {} : { rollsBack: undo.rollsBack }),
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

  /** The rollout that undoes `undone` (a rollback, or a release of a policy's first version). */
  const undoIdOf = (undone: string): string => `${undone}-rollback`;
  /** The rollout that releases a deleted policy version from its nodes. */
  const deleteIdOf = (name: string, version: number): string => `${name}-v${version}-delete`;

  /** Why a policy whose latest rollout is `state` cannot be rolled back (undefined: it can). */
  const nothingToRollBack = (name: string, state: RolloutState | undefined): string | undefined => {
    const policy = policies.get(FleetStreams.policy(name)).state;
    if (!state || state.status === 'none') return `policy ${name} has no rollout to roll back`;
    const live = state.status === 'running' || state.status === 'held' || state.status === 'paused';
    if (state.kind === 'release' && state.rollsBack === null) {
      return `policy ${name} v${state.policyVersion} was deleted${live ? ` and its nodes are releasing it (rollout ${state.rolloutId} is ${state.status})` : ''}: there is nothing to roll back; apply it again instead`;
    }
    if (state.kind !== 'apply') {
      const from = state.previousVersion ?? state.policyVersion;
      const to = state.kind === 'release' ? 'no version (removed)' : `v${state.policyVersion}`;
      return live
        ? `rollback ${state.rolloutId} of policy ${name} (v${from} -> ${to}) is ${state.status}: follow it with 'tramway status ${name}'; there is nothing newer to roll back to`
        : `policy ${name} runs ${to} since rollback ${state.rolloutId} undid v${from} (rollout ${state.rollsBack ?? '?'}): there is nothing newer to roll back to; apply a new version first`;
    }
    if (state.status === 'rolled-back') {
      const runs = policy.current === null ? 'no version' : `v${policy.current}`;
      return `rollout ${state.rolloutId} of policy ${name} v${state.policyVersion} was rolled back already (the policy runs ${runs}): there is nothing newer to roll back to`;
    }
    return undefined;
  };

  /**
   * Starts the rollout that undoes a rolled-back rollout: its nodes get the version it replaced
   * again (`rollback`), or lose the policy when it had none (`release`).
   */
  const startUndo = async (undone: RolloutState, by: Requester): Promise<string> => {
    const previous = previousVersionOf(undone);
    return startRollout(
      undone.policy,
      previous ?? undone.policyVersion,
      rolloutRollbackNodes(undone),
      by,
      {
        rolloutId: undoIdOf(undone.rolloutId),
        kind: previous === null ? 'release' : 'rollback',
        rollsBack: undone.rolloutId,
        previousVersion: undone.policyVersion,
      },
    );
  };

  /**
   * Rolls the policy's latest rollout back: the version it replaced is in force again (or the
   * policy is removed when there was none), and a rollout of its own gives every node the
   * rollout reached that version back (or takes the policy away).
   */
  const rollback = async (
    name: string,
    reasonGiven: string | undefined,
    by: Requester,
  ): Promise<
    Outcome<{
      rolloutId: string;
      rolledBack: string;
      fromVersion: number;
      toVersion: number | null;
    }>
  > => {
    if (policies.get(FleetStreams.policy(name)).state.lastVersion === 0) {
      return { ok: false, code: 'NotFound', message: `no policy ${name}` };
    }
    const latest = ownEntry(log.coordinator().latestRollout, name);
    const state = latest === undefined ? undefined : rolloutOf(latest);
    const refusal = nothingToRollBack(name, state);
    if (refusal !== undefined || !state) {
      return { ok: false, code: 'Conflict', message: refusal ?? `policy ${name} has no rollout` };
    }
    const previous = previousVersionOf(state);
    const actor = describeRequester(by);
    const undoId = undoIdOf(state.rolloutId);
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
      // the rollback's rollout acts for whoever asked (its assignments' cause)
      { ...envelopeBy(by), occurredAt: nowIso(), correlationId: undoId },
    );
    if (!reverted.ok) return { ok: false, ...reverted.rejection };
    const decision = await log.execute(
      rollouts,
      FleetStreams.rollout(state.rolloutId),
      { type: 'RollbackRollout', data: { reason }, metadata: { now: nowIso(), actor } },
      { ...envelopeBy(by), occurredAt: nowIso(), correlationId: state.rolloutId },
    );
    if (!decision.ok) return { ok: false, ...decision.rejection };
    const rolloutId = await startUndo(rolloutOf(state.rolloutId), by);
    logger.info('policy rolled back', {
      policy: name,
      rolledBack: state.rolloutId,
      rolloutId,
      actor,
      reason,
    });
    return {
      ok: true,
      value: {
        rolloutId,
        rolledBack: state.rolloutId,
        fromVersion: state.policyVersion,
        toVersion: previous,
      },
    };
  };

  /** The nodes whose assignment holds a link of the policy (admitted: only those are assigned). */
  const holdersOf = (name: string): string[] =>
    Object.values(log.fleet().nodes)
      .filter(
        (n) =>
          n.registered &&
          deps.isAdmitted(n.nodeId) &&
          (n.assignment?.links.some((l) => l.policy === name) ?? false),
      )
      .map((n) => n.nodeId)
      .sort();

  /**
   * Deletes the policy (PolicyDeleted, with the person who asked), then releases it from every
   * node that holds it through a `release` rollout. Deleting a policy being deleted answers that
   * rollout again; one never applied, or whose deletion completed, is not found.
   */
  const deletePolicy = async (
    name: string,
    reasonGiven: string | undefined,
    by: Requester,
  ): Promise<Outcome<{ version: number; rolloutId: string; nodes: readonly string[] }>> => {
    const latest = ownEntry(log.coordinator().latestRollout, name);
    const running = latest === undefined ? undefined : rolloutOf(latest);
    const status = running?.status;
    const decision = await log.execute(
      policies,
      FleetStreams.policy(name),
      {
        type: 'DeletePolicy',
        data: {
          name,
          running:
            latest !== undefined &&
            (status === 'running' || status === 'held' || status === 'paused')
              ? { rolloutId: latest, status }
              : null,
          ...(reasonGiven === undefined ? {} : { reason: reasonGiven }),
        },
        metadata: { actor: describeRequester(by) },
      },
      (events) => ({
        ...envelopeBy(by),
        occurredAt: nowIso(),
        correlationId: events
          .map(({ event }) =>
            event.type === 'PolicyDeleted' ? deleteIdOf(name, event.data.version) : undefined,
          )
          .find((id) => id !== undefined),
      }),
    );
    if (!decision.ok) return { ok: false, ...decision.rejection };
    const deleted = decision.events.find((d) => d.event.type === 'PolicyDeleted')?.event;
    if (deleted === undefined) {
      // deleted already: its release is still under way, or done (then the name is unknown)
      const release = running?.kind === 'release' && running.rollsBack === null ? running : null;
      if (release && release.status !== 'completed')
        return {
          ok: true,
          value: {
            version: release.policyVersion,
            rolloutId: release.rolloutId,
            nodes: rolloutRollbackNodes(release),
          },
        };
      return { ok: false, code: 'NotFound', message: `no policy ${name} (it was deleted)` };
    }
    const version = deleted.data.version;
    const nodes = holdersOf(name);
    const rolloutId = await startRollout(name, version, nodes, by, {
      rolloutId: deleteIdOf(name, version),
      kind: 'release',
      previousVersion: version,
    });
    logger.info('policy deleted', {
      policy: name,
      version,
      rolloutId,
      nodes: nodes.length,
      actor: describeRequester(by),
    });
    return { ok: true, value: { version, rolloutId, nodes } };
  };

  const resume = async (
    rolloutId: string,
    by: Requester,
  ): Promise<Outcome<{ rolloutId: string }>> => {
    const state = rolloutOf(rolloutId);
    if (state.status === 'none') {
      // an ended rollout that a later one of its policy replaced is no longer decided on
      const ended = ownEntry(log.fleet().rollouts, rolloutId);
      return ended
        ? {
            ok: false,
            code: 'Conflict',
            message: `rollout ${rolloutId} is ${ended.status}: only a held or paused rollout resumes`,
          }
        : { ok: false, code: 'NotFound', message: `no rollout ${rolloutId}` };
    }
    const rollout = rolloutSpecOf(state);
    if (!rollout)
      return { ok: false, code: 'NotFound', message: `no spec for rollout ${rolloutId}` };
    const decision = await log.execute(
      rollouts,
      FleetStreams.rollout(rolloutId),
      {
        type: 'ResumeRollout',
        data: judged(state, rollout),
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
      const deletedVersion = state.deleted
        ? state.history?.findLast((c) => c.change === 'deleted')?.version
        : undefined;
      if (deletedVersion !== undefined) {
        // deleted, and its release has not started
        const releaseId = deleteIdOf(state.name, deletedVersion);
        if (ownEntry(log.coordinator().latestRollout, state.name) !== releaseId) {
          await startRollout(
            state.name,
            deletedVersion,
            holdersOf(state.name),
            {
              actor: COORDINATOR_ACTOR,
            },
            { rolloutId: releaseId, kind: 'release', previousVersion: deletedVersion },
          );
        }
        continue;
      }
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
        state.kind === 'apply' &&
        !policy.deleted &&
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
        if (decision.ok) await startUndo(rolloutOf(state.rolloutId), { actor: COORDINATOR_ACTOR });
        continue;
      }
      if (state.status === 'running') {
        const wave = state.waves.find((w) => w.index === state.current);
        if (wave) await assignNodes(state.rolloutId, wave.nodes, state.policy, targetOf(state));
      } else if (state.status === 'rolled-back') {
        // rolled back, and the rollout undoing it has not started (it would be the latest)
        await startUndo(state, { actor: COORDINATOR_ACTOR });
      } else if (state.status === 'paused') {
        const rollout = rolloutSpecOf(state);
        const endsAt = rollout ? pauseEndsAt(state, rollout) : undefined;
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
    deletePolicy,
    resume,
    recover,
  };
};

export type RolloutRunner = ReturnType<typeof createRolloutRunner>;
