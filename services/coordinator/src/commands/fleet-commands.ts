/**
 * The coordinator's operations as the API offers them (docs/fleet-protocol.md, "API"): each
 * validates its input, asks the runner or reads the log, and answers an `ApiResult`. Decisions
 * run one at a time through `serially`.
 */
import type { JsonValue, NodePlan, NodePlanDiff, Policy } from '@tramway/shared/domain';
import {
  FleetStreams,
  POLICY_NAME,
  POLICY_NAME_MAX,
  diffNodePlan,
  functionKey,
  isSpecInForce,
  pauseEndsAt,
  refusePlan,
  selectNodes,
} from '@tramway/shared/domain';
import type { NodeView } from '@tramway/shared/projections';
import {
  FleetSubjects,
  decodeMessageOrThrow,
  parsePolicyOrProblems,
} from '@tramway/shared/contracts';
import type { FleetBus } from '@tramway/shared/infra';
import type { ApiResult } from '../http/api-result.js';
import { ApiErrorCode, failure, success } from '../http/api-result.js';
import type { FleetLog, Requester } from '../log/fleet-log.js';
import type { LivenessMonitor } from '../liveness/liveness-monitor.js';
import type { NodeAdmission } from '../admission/node-admission.js';
import type { Outcome, RolloutRunner } from '../rollout/rollout-runner.js';
import { errorText } from '@tramway/shared/infra';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModuleEffect } from './module-effect.js';
import { moduleEffect, reported } from './module-effect.js';
import { ownEntry } from '@tramway/shared/lib';

export interface FleetCommands {
  plan(body: unknown): Promise<ApiResult>;
  apply(body: unknown, by: Requester): Promise<ApiResult>;
  status(name: string): ApiResult;
  rollback(name: string, body: unknown, by: Requester): Promise<ApiResult>;
  /** deletes the policy: every node holding it releases it (a `release` rollout) */
  deletePolicy(name: string, body: unknown, by: Requester): Promise<ApiResult>;
  resume(rolloutId: string, by: Requester): Promise<ApiResult>;
  nodes(): ApiResult;
  /** the policies in force or being deleted: name, version, state, when and by whom applied */
  policies(): ApiResult;
  /** one policy in force (or being deleted), with its spec and recent changes; else 404 */
  policy(name: string): ApiResult;
  /** admits a pending node (the actor is the approver) */
  approve(nodeId: string, body: unknown, actor: string): Promise<ApiResult>;
  /** takes the node back with a new epoch (its next assignment wins over what it holds) */
  reset(nodeId: string, body: unknown, actor: string): Promise<ApiResult>;
  /**
   * forwards the request to the node's agent and records who asked and what it answered; with
   * `waitMs`, then waits (at most that long) until the log holds what the agent reported of it,
   * and answers its `effect` (module-effect.ts)
   */
  module(
    nodeId: string,
    module: string,
    action: 'load' | 'unload',
    by: Requester,
    waitMs?: number,
  ): Promise<ApiResult>;
}

const STATUS_OF: Record<'NotFound' | 'Conflict' | 'Invalid', number> = {
  NotFound: 404,
  Conflict: 409,
  Invalid: 400,
};
const CODE_OF = {
  NotFound: ApiErrorCode.NotFound,
  Conflict: ApiErrorCode.Conflict,
  Invalid: ApiErrorCode.InvalidRequest,
} as const;

const answer = <T>(outcome: Outcome<T>, body: (value: T) => ApiResult): ApiResult =>
  outcome.ok
    ? body(outcome.value)
    : failure(STATUS_OF[outcome.code], CODE_OF[outcome.code], outcome.message);

/**
 * Default bound of a plan: targets plus unmatched patterns over all nodes. A plan entry is about
 * 100-200 bytes of JSON, so a plan answer stays within a few MiB however many nodes match.
 */
export const MAX_PLAN_ENTRIES = 10_000;

export const createFleetCommands = (deps: {
  readonly log: FleetLog;
  readonly bus: FleetBus;
  readonly timeoutMs: number;
  /** most targets + unmatched patterns of one plan over all nodes */
  readonly maxPlanEntries: number;
  readonly runner: RolloutRunner;
  readonly liveness: LivenessMonitor;
  readonly admission: NodeAdmission;
  /** runs a decision after those already queued */
  readonly serially: <T>(work: () => Promise<T>) => Promise<T>;
  /** asks for a tick (rollouts advance, staleness) */
  readonly kick: () => void;
  readonly now: () => Date;
}): FleetCommands => {
  const { log, runner, liveness } = deps;

  /** The nodes a plan asks and a rollout counts: registered, admitted and not stale. */
  const liveNodes = (): NodeView[] =>
    Object.values(log.fleet().nodes).filter(
      (n) => n.registered && deps.admission.isAdmitted(n.nodeId) && !liveness.isStale(n.nodeId),
    );

  const askPlans = async (
    policy: Policy,
    version: number,
    nodes: readonly NodeView[],
  ): Promise<{ plans: NodePlan[]; unreachable: { nodeId: string; reason: string }[] }> => {
    type Asked = { plan: NodePlan } | { nodeId: string; reason: string };
    const results = await Promise.all(
      nodes.map(async (n): Promise<Asked> => {
        try {
          const reply = await deps.bus.request(
            FleetSubjects.plan(n.nodeId),
            { policy, policyVersion: version },
            { timeoutMs: deps.timeoutMs },
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

  type Planned =
    | { ok: false; result: ApiResult }
    | {
        ok: true;
        policy: Policy;
        version: number;
        /** the version in force (null: a new policy, or none in force) */
        current: number | null;
        /** the spec is the one in force: applying it changes nothing */
        unchanged: boolean;
        diff: NodePlanDiff[];
        plans: NodePlan[];
        refused: readonly string[];
        unreachable: { nodeId: string; reason: string }[];
      };

  const planFor = async (body: unknown): Promise<Planned> => {
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
    const state = log.deciders.policy.get(FleetStreams.policy(policy.metadata.name)).state;
    const unchanged = isSpecInForce(
      state,
      JSON.parse(JSON.stringify(policy.spec)) as Record<string, JsonValue>,
    );
    const version = unchanged && state.current !== null ? state.current : state.lastVersion + 1;
    const selected = selectNodes(policy, liveNodes());
    const asked = await askPlans(policy, version, selected);
    const entries = asked.plans.reduce((sum, p) => sum + p.targets.length + p.unmatched.length, 0);
    if (entries > deps.maxPlanEntries) {
      return {
        ok: false,
        result: failure(
          400,
          ApiErrorCode.PlanTooLarge,
          `the plan has ${entries} entries (targets and unmatched patterns over ${asked.plans.length} nodes), over the limit of ${deps.maxPlanEntries}`,
          ['policy.spec.targets: narrow the patterns or the node selector'],
        ),
      };
    }
    const knownLabels = new Set(
      Object.values(log.fleet().nodes)
        .filter((n) => n.registered)
        .flatMap((n) => Object.keys(n.labels)),
    );
    const refused = refusePlan(asked.plans, policy, knownLabels)?.reasons ?? [];
    const diff = diffAgainstRunning(
      policy.metadata.name,
      asked.plans,
      new Set(selected.map((n) => n.nodeId)),
    );
    return {
      ok: true,
      policy,
      version,
      current: state.current,
      unchanged,
      diff,
      ...asked,
      refused,
    };
  };

  /**
   * Per node, the functions the plan would attach against those the node holds now for the
   * policy (its links in the log): each planned node, and each node holding the policy that it
   * would no longer select (everything it runs is removed). Unreachable nodes have no diff.
   */
  const diffAgainstRunning = (
    name: string,
    plans: readonly NodePlan[],
    selected: ReadonlySet<string>,
  ): NodePlanDiff[] => {
    const runningOn = (nodeId: string): string[] =>
      Object.values(ownEntry(log.fleet().nodes, nodeId)?.links ?? {})
        .filter((l) => l.policy === name)
        .flatMap((l) => l.connections.map(functionKey));
    const planned = plans.map((p) =>
      diffNodePlan({
        nodeId: p.nodeId,
        selected: true,
        running: runningOn(p.nodeId),
        planned: p.targets.filter((t) => t.status === 'attach').map(functionKey),
      }),
    );
    const dropped = Object.values(log.fleet().nodes)
      .filter(
        (n) => !selected.has(n.nodeId) && Object.values(n.links).some((l) => l.policy === name),
      )
      .map((n) =>
        diffNodePlan({
          nodeId: n.nodeId,
          selected: false,
          running: runningOn(n.nodeId),
          planned: [],
        }),
      );
    return [...planned, ...dropped].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  };

  const plan = async (body: unknown): Promise<ApiResult> => {
    const p = await planFor(body);
    if (!p.ok) return p.result;
    return success({
      policy: p.policy.metadata.name,
      version: p.version,
      unchanged: p.unchanged,
      current: p.current === null ? null : { version: p.current },
      diff: p.diff,
      nodes: p.plans,
      ...(p.unreachable.length > 0 ? { unreachable: p.unreachable } : {}),
      ...(p.refused.length > 0 ? { refused: { reasons: p.refused } } : {}),
    });
  };

  const apply = (body: unknown, by: Requester): Promise<ApiResult> =>
    deps.serially(async () => {
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
      const outcome = await runner.apply({
        policy: p.policy,
        plans: p.plans,
        unreachable: p.unreachable.map((u) => u.nodeId),
        by,
      });
      if (outcome.ok && !outcome.value.unchanged) deps.kick();
      // the spec in force again: nothing recorded, nothing rolled out (200, not 202)
      return answer(outcome, (v) =>
        v.unchanged
          ? success({ policy: name, version: v.version, rolloutId: v.rolloutId, unchanged: true })
          : success(
              { policy: name, version: v.version, rolloutId: v.rolloutId, unchanged: false },
              202,
            ),
      );
    });

  const rollback = (name: string, body: unknown, by: Requester): Promise<ApiResult> =>
    deps.serially(async () => {
      const reason = (body as { reason?: unknown } | null)?.reason;
      if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === '')) {
        return failure(400, ApiErrorCode.InvalidRequest, 'invalid body', [
          'reason: expected a non-empty string',
        ]);
      }
      const outcome = await runner.rollback(name, reason, by);
      if (outcome.ok) deps.kick();
      return answer(outcome, (v) => success(v));
    });

  const deletePolicy = (name: string, body: unknown, by: Requester): Promise<ApiResult> =>
    deps.serially(async () => {
      if (name.length > POLICY_NAME_MAX || !POLICY_NAME.test(name))
        return failure(400, ApiErrorCode.InvalidRequest, 'invalid policy name', [
          `name: ${JSON.stringify(name.slice(0, 80))} is not a policy name`,
        ]);
      const reason = reasonOf(body);
      if (typeof reason === 'object') return reason;
      const outcome = await runner.deletePolicy(name, reason, by);
      if (outcome.ok) deps.kick();
      return answer(outcome, (v) =>
        success(
          {
            policy: name,
            version: v.version,
            state: 'deleting',
            rolloutId: v.rolloutId,
            nodes: v.nodes,
          },
          202,
        ),
      );
    });

  const resume = (rolloutId: string, by: Requester): Promise<ApiResult> =>
    deps.serially(async () => {
      const outcome = await runner.resume(rolloutId, by);
      if (outcome.ok) deps.kick();
      return answer(outcome, (v) => success(v));
    });

  /** active, deleting (its nodes release it), deleted, or removed by a rollback to nothing */
  const policyStateOf = (name: string): 'active' | 'deleting' | 'deleted' | 'removed' | null => {
    const view = ownEntry(log.fleet().policies, name);
    if (view) return view.deleting ? 'deleting' : 'active';
    const state = log.deciders.policy.get(FleetStreams.policy(name)).state;
    if (state.lastVersion === 0) return null;
    return state.deleted ? 'deleted' : 'removed';
  };

  /**
   * A policy's rollout as `tramway status --watch` shows it: every wave from the start (those not
   * started yet as `pending`, with the nodes the split fixed for them), the current wave, a pause
   * between waves with when it ends (`nextWaveAt`), the hold or rollback reason, and the
   * coordinator's clock (`now`) so that a countdown does not depend on the caller's.
   */
  const status = (name: string): ApiResult => {
    const policy = ownEntry(log.fleet().policies, name);
    const rolloutId = ownEntry(log.coordinator().latestRollout, name);
    // a policy removed or deleted still shows the rollout that took it away
    if (!policy && rolloutId === undefined)
      return failure(404, ApiErrorCode.NotFound, `no policy ${name}`);
    const rollout = rolloutId === undefined ? undefined : ownEntry(log.fleet().rollouts, rolloutId);
    const state = rolloutId === undefined ? undefined : runner.rolloutOf(rolloutId);
    const standing = (nodeId: string) => (state ? runner.standingOf(state, nodeId) : 'pending');
    const started = rollout
      ? Object.values(rollout.waves)
          .sort((a, b) => a.wave - b.wave)
          .map((w) => {
            const verdicts = w.nodes.map(standing);
            return {
              index: w.wave,
              nodes: w.nodes,
              state: w.status as 'running' | 'held' | 'completed' | 'pending',
              succeeded: w.succeeded ?? verdicts.filter((v) => v === 'converged').length,
              failed: w.failed ?? verdicts.filter((v) => v === 'failed').length,
              ...(w.reason === null ? {} : { reason: w.reason }),
              ...(state?.waves.find((s) => s.index === w.wave)?.completedAt === undefined
                ? {}
                : { completedAt: state.waves.find((s) => s.index === w.wave)!.completedAt! }),
            };
          })
      : [];
    // the waves not started yet, with the nodes fixed for them at start (none known for a
    // rollout recorded before the split was)
    const pending = [];
    if (rollout) {
      for (let index = 0; index < rollout.waveCount; index++) {
        if (started.some((w) => w.index === index)) continue;
        pending.push({
          index,
          nodes: [...(state?.plannedWaves?.[index] ?? [])],
          state: 'pending' as const,
          succeeded: 0,
          failed: 0,
        });
      }
    }
    const waves = [...started, ...pending].sort((a, b) => a.index - b.index);
    const spec = state ? runner.specOf(state.policy, state.policyVersion) : undefined;
    const endsAt = state && spec ? pauseEndsAt(state, spec.rollout) : undefined;
    const pause =
      endsAt === undefined || !state || !spec
        ? null
        : {
            afterWave: state.current,
            nextWave: state.current + 1,
            seconds: spec.rollout.pauseSeconds,
            endsAt: new Date(endsAt).toISOString(),
          };
    const nodeIds = waves.flatMap((w) => w.nodes);
    const nodes = nodeIds.map((nodeId) => {
      const node = ownEntry(log.fleet().nodes, nodeId);
      const attached = Object.values(node?.links ?? {})
        .filter((l) => l.policy === name)
        .reduce((sum, l) => sum + l.connections.length, 0);
      // pending and rejected are the node's own report of its last reconcile pass (NodeReconciled,
      // in the log): right after a coordinator restart, and updated when a module loads
      const outcome = node?.reconciled?.[name];
      return {
        nodeId,
        wave: waves.find((w) => w.nodes.includes(nodeId))?.index ?? null,
        generation: node?.assignment?.generation ?? 0,
        observedGeneration: node ? liveness.observedOf(nodeId) : 0,
        state: standing(nodeId),
        functions: {
          attached,
          pending: outcome?.pending.length ?? 0,
          rejected: outcome?.rejected.length ?? 0,
        },
      };
    });
    return success({
      policy: name,
      version: policy?.version ?? null,
      state: policyStateOf(name),
      now: deps.now().toISOString(),
      rollout: rollout
        ? {
            id: rollout.rolloutId,
            state: rollout.status,
            kind: rollout.kind ?? 'apply',
            version: rollout.policyVersion,
            // the version its nodes ran before (null: none)
            fromVersion: state?.previousVersion ?? null,
            ...(rollout.rollsBack === undefined ? {} : { rollsBack: rollout.rollsBack }),
            startedAt: rollout.startedAt,
            startedBy: rollout.startedBy,
            waveCount: rollout.waveCount,
            currentWave: rollout.currentWave,
            paused: pause !== null,
            pause,
            nextWaveAt: pause?.endsAt ?? null,
            reason: rollout.reason,
            waves,
          }
        : null,
      nodes,
    });
  };

  const nodes = (): ApiResult =>
    success(
      Object.values(log.fleet().nodes)
        .filter((n) => n.registered)
        .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))
        .map((n) => {
          const seen = liveness.lastHeardMs(n.nodeId);
          const admission = deps.admission.statusOf(n.nodeId);
          return {
            nodeId: n.nodeId,
            // not decided yet counts as pending: such a node gets nothing either
            admission: admission === 'approved' ? 'approved' : 'pending',
            labels: n.labels,
            profile: n.profile,
            attachPath: n.attachPath,
            bootId: n.bootId,
            lastSeen: seen === undefined ? null : new Date(seen).toISOString(),
            stale: liveness.isStale(n.nodeId),
            generation: n.assignment?.generation ?? 0,
            observedGeneration: liveness.observedOf(n.nodeId),
          };
        }),
    );

  /** The policy's latest rollout, in a few words (null: none). */
  const latestRolloutOf = (name: string) => {
    const id = ownEntry(log.coordinator().latestRollout, name);
    const r = id === undefined ? undefined : ownEntry(log.fleet().rollouts, id);
    return r === undefined
      ? null
      : { id: r.rolloutId, kind: r.kind ?? 'apply', version: r.policyVersion, state: r.status };
  };

  const policies = (): ApiResult =>
    success(
      Object.values(log.fleet().policies)
        .map((p) => ({
          name: p.name,
          version: p.version,
          state: p.deleting ? 'deleting' : 'active',
          appliedAt: p.appliedAt,
          appliedBy: p.appliedBy,
          rollout: latestRolloutOf(p.name),
        }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    );

  const policy = (name: string): ApiResult => {
    const p = ownEntry(log.fleet().policies, name);
    if (p === undefined) return failure(404, ApiErrorCode.NotFound, `no policy ${name}`);
    const state = log.deciders.policy.get(FleetStreams.policy(name)).state;
    return success({
      name: p.name,
      version: p.version,
      state: p.deleting ? 'deleting' : 'active',
      appliedAt: p.appliedAt,
      appliedBy: p.appliedBy,
      ...(p.deleting ? { deleting: p.deleting } : {}),
      latestVersion: state.lastVersion,
      // the latest changes, newest first (the log keeps every one)
      history: [...(state.history ?? [])].reverse(),
      rollout: latestRolloutOf(name),
      spec: p.spec,
    });
  };

  const moduleAction = async (
    nodeId: string,
    module: string,
    action: 'load' | 'unload',
    by: Requester,
    waitMs?: number,
  ): Promise<ApiResult> => {
    const before = ownEntry(log.fleet().nodes, nodeId);
    if (!before?.registered) return failure(404, ApiErrorCode.NotFound, `no node ${nodeId}`);
    if (!/^[A-Za-z0-9_.-]+$/.test(module)) {
      return failure(400, ApiErrorCode.InvalidRequest, 'invalid module name', [
        `module: ${JSON.stringify(module)} is not a module name`,
      ]);
    }
    let result: ApiResult;
    let outcome: { ok: boolean; errno?: string; reason?: string };
    try {
      const reply = decodeMessageOrThrow(
        'ModuleReply',
        await deps.bus.request(
          FleetSubjects.module(nodeId),
          { action, module },
          { timeoutMs: deps.timeoutMs },
        ),
      );
      result = success(reply);
      outcome = reply;
    } catch (error) {
      const reason = `node ${nodeId}: ${errorText(error)}`;
      result = failure(503, ApiErrorCode.AgentUnavailable, reason);
      outcome = { ok: false, reason };
    }
    // who asked is a fact of the log (the agent's ModuleLoaded/Unloaded say what the kernel did)
    await deps.serially(() =>
      log.execute(
        log.deciders.moduleRequest,
        FleetStreams.moduleRequests(nodeId),
        {
          type: 'RecordModuleRequest',
          data: {
            nodeId,
            module,
            action,
            ok: outcome.ok,
            ...(outcome.errno === undefined ? {} : { errno: outcome.errno }),
            ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
          },
        },
        { actor: by.actor, onBehalfOf: by.onBehalfOf, occurredAt: deps.now().toISOString() },
      ),
    );
    if (waitMs === undefined || !outcome.ok) return result;
    return success({
      ...(result.body as object),
      ...(await effectOf(nodeId, module, action, before, waitMs)),
    });
  };

  /**
   * Waits until the log holds what the agent reports after a module request (the links it holds
   * now, the module's state), and a moment more while the node's facts keep coming (its reconcile
   * outcome follows its links), then the effect: what attached, was released, failed, waits.
   */
  const effectOf = async (
    nodeId: string,
    module: string,
    action: 'load' | 'unload',
    before: NodeView,
    waitMs: number,
  ): Promise<{ waited: 'reported' | 'timeout'; effect: ModuleEffect }> => {
    const deadline = Date.now() + waitMs;
    const node = () => ownEntry(log.fleet().nodes, nodeId);
    let held: { links: readonly { linkId: number }[] } | undefined;
    try {
      held = decodeMessageOrThrow(
        'NodeActualState',
        await deps.bus.request(
          FleetSubjects.state(nodeId),
          {},
          { timeoutMs: Math.min(deps.timeoutMs, waitMs) },
        ),
      );
    } catch {
      held = undefined; // an agent that does not answer: wait on the module's state alone
    }
    const caughtUp = (): boolean => {
      const n = node();
      return held
        ? reported(module, action, n, held)
        : n !== undefined && Object.hasOwn(n.modules, module) === (action === 'load');
    };
    while (!caughtUp() && Date.now() < deadline) await sleep(25);
    const done = caughtUp();
    // settle: the reconcile outcome (NodeReconciled) comes right after the links
    let last = node();
    for (let quiet = 0; done && quiet < 4 && Date.now() < deadline;) {
      await sleep(25);
      const now = node();
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
    return {
      waited: done ? 'reported' : 'timeout',
      effect: moduleEffect(module, action, before, node()),
    };
  };

  /** An optional `{ reason }` body (a person's words for the log). */
  const reasonOf = (body: unknown): string | undefined | ApiResult => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const reason = (body as { reason?: unknown }).reason;
    if (reason === undefined) return undefined;
    if (typeof reason !== 'string' || reason.length === 0 || reason.length > 500)
      return failure(400, ApiErrorCode.InvalidRequest, 'invalid reason', [
        'reason: a string of 1-500 characters',
      ]);
    return reason;
  };
  const validNodeId = (nodeId: string): ApiResult | undefined =>
    /^[A-Za-z0-9_:@-]{1,128}$/.test(nodeId)
      ? undefined
      : failure(400, ApiErrorCode.InvalidRequest, 'invalid node id', [
          `node: ${JSON.stringify(nodeId.slice(0, 130))} is not a node id`,
        ]);

  const approve = (nodeId: string, body: unknown, actor: string): Promise<ApiResult> =>
    deps.serially(async () => {
      const invalid = validNodeId(nodeId);
      if (invalid) return invalid;
      const reason = reasonOf(body);
      if (typeof reason === 'object') return reason;
      const outcome = await deps.admission.approve(nodeId, actor, reason);
      if (!outcome.ok) return failure(404, ApiErrorCode.NotFound, outcome.message);
      deps.kick();
      return success({ nodeId, admission: 'approved', changed: outcome.changed });
    });

  const reset = (nodeId: string, body: unknown, actor: string): Promise<ApiResult> =>
    deps.serially(async () => {
      const invalid = validNodeId(nodeId);
      if (invalid) return invalid;
      const reason = reasonOf(body);
      if (typeof reason === 'object') return reason;
      if (!log.fleet().nodes[nodeId]?.registered)
        return failure(404, ApiErrorCode.NotFound, `no node ${nodeId}`);
      if (!deps.admission.isAdmitted(nodeId))
        return failure(409, ApiErrorCode.Conflict, `node ${nodeId} is not admitted`);
      await runner.takeBack(nodeId, reason ?? `reset by ${actor}`, actor);
      const state = log.deciders.assignment.get(FleetStreams.assignment(nodeId)).state;
      return success({ nodeId, epoch: state.epoch, generation: state.generation });
    });

  return {
    plan,
    apply,
    status,
    rollback,
    deletePolicy,
    resume,
    nodes,
    policies,
    policy,
    approve,
    reset,
    module: moduleAction,
  };
};
