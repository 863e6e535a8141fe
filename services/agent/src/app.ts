/**
 * The agent (ARCHITECTURE.md, "Coordination"; docs/fleet-protocol.md): one per node. It
 * registers, fetches its latest assignment, reconciles its kernel to the plan of each assigned
 * policy (planning again on its own only where the kernel changed under the plan), reports
 * every fact, loads and drains modules on request, keeps its pinned links across its own
 * restarts and re-applies after a reboot, answers plan and state requests, and sends heartbeats.
 *
 * This file is the composition and the reconcile pass; the seams live beside it: start-up.ts,
 * state/recovery.ts, facts/fact-outbox.ts, state/actual-state.ts (types in agent.types.ts).
 * Usable in-process (the embedded mode runs several) and from main.ts. Every kernel-touching
 * piece of work runs one at a time, in arrival order.
 */
import type { Unsubscribe } from '@tramway/shared/infra';
import { silentLogger } from '@tramway/shared/infra';
import type { Subscription } from 'rxjs';
import { Subject } from 'rxjs';
import type {
  Agent,
  AgentDeps,
  AgentRuntime,
  AssignOutcome,
  ModuleOutcome,
} from './agent.types.js';
import { createFactOutbox } from './facts/fact-outbox.js';
import type { ReconcileResult } from './metrics/agent-metrics.js';
import { createAgentMetrics } from './metrics/agent-metrics.js';
import type { IdentifiedFact } from './facts/node-facts.js';
import {
  linkReleased,
  moduleLoaded,
  moduleUnloaded,
  nodeReconciled,
  nodeReplanned,
} from './facts/node-facts.js';
import { decidePlans, occupancyOf, planPathFor } from './reconcile/agent-plans.js';
import type { AgentAssignment } from './reconcile/agent-policy.js';
import { intentOf } from './reconcile/agent-policy.js';
import { reconcileOutcome } from './reconcile/reconcile-outcome.js';
import type { PassResult } from './reconcile/reconciler.js';
import { runPass } from './reconcile/reconciler.js';
import type { NodeActualState } from './state/actual-state.js';
import { readActualState } from './state/actual-state.js';
import type { AgentStateStore } from './state/agent-state.store.js';
import { createFileStateStore, createMemoryStateStore } from './state/agent-state.store.js';
import { startAgent } from './start-up.js';
import type { AssignmentRefusal } from '@tramway/shared/contracts';
import { compareAssignmentOrder, decodeMessage } from '@tramway/shared/contracts';
import { verifyAssignment } from '@tramway/shared/infra';
import { attachPathOfType } from '@tramway/shared/lib';

export type { Agent, AgentClock, AgentDeps, AgentIds } from './agent.types.js';
export type { NodeActualState } from './state/actual-state.js';

/** kernel steps between two saves of the pin mapping during a pass */
const SAVE_EVERY_STEPS = 16;

export const createAgent = (deps: AgentDeps): Agent => {
  const log = (deps.logger ?? silentLogger).child({ service: 'agent', nodeId: deps.nodeId });
  const store: AgentStateStore =
    deps.store ??
    (deps.stateDir === undefined
      ? createMemoryStateStore()
      : createFileStateStore(deps.stateDir, log));
  const rt: AgentRuntime = {
    description: undefined,
    driver: deps.driver,
    bootId: '',
    btfFingerprint: '',
    assignment: null,
    observedGeneration: 0,
    held: [],
    intents: [],
    occupied: new Map(),
    plans: [],
    policies: [],
    stopping: false,
  };
  let started = false;
  /** assignments refused so far, by reason */
  const refusals: Partial<Record<AssignmentRefusal, number>> = {};
  const metrics = createAgentMetrics({
    linksHeld: () => rt.held.length,
    observedGeneration: () => rt.observedGeneration,
    kernel: () => rt.description,
    refusedAssignments: () => refusals,
  });
  const unsubscribes: Unsubscribe[] = [];
  const subscriptions: Subscription[] = [];
  const stop$ = new Subject<void>();
  let work: Promise<unknown> = Promise.resolve();
  const outbox = createFactOutbox({
    nodeId: deps.nodeId,
    bootId: () => rt.bootId,
    bus: deps.bus,
    store,
    now: () => deps.clock.now(),
    log,
    ...(deps.factAckTimeoutMs === undefined ? {} : { ackTimeoutMs: deps.factAckTimeoutMs }),
  });

  const scope = () => ({ nodeId: deps.nodeId, bootId: rt.bootId });

  /** Runs `task` after the work already queued; kernel work never interleaves. */
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = work.then(task);
    work = run.catch(() => undefined);
    return run;
  };

  let unsaved = 0;
  const save = (): void => {
    unsaved = 0;
    store.save({
      bootId: rt.bootId,
      assignment: rt.assignment,
      observedGeneration: rt.observedGeneration,
      links: rt.held,
      plans: rt.plans,
      intents: rt.intents,
    });
  };

  /** NodeReconciled for this pass, when its outcome differs from the last one of the boot */
  const reconciledFact = (assignment: AgentAssignment, result: PassResult): IdentifiedFact[] => {
    const data = {
      observedGeneration: rt.observedGeneration,
      policies: reconcileOutcome({
        assignment,
        policies: result.policies,
        held: result.held,
        attachFailures: result.attachFailures,
      }),
    };
    const last = outbox.last('NodeReconciled')?.data as typeof data | undefined;
    if (last !== undefined && JSON.stringify(last.policies) === JSON.stringify(data.policies))
      if (last.observedGeneration === data.observedGeneration) return [];
    return [nodeReconciled(scope(), outbox.count('NodeReconciled') + 1, data)];
  };

  /** The plan of each assigned policy, re-planned where the kernel changed (NodeReplanned facts). */
  const plansFor = (assignment: AgentAssignment): IdentifiedFact[] => {
    const decided = decidePlans({
      nodeId: deps.nodeId,
      assignment,
      held: rt.plans,
      kernel: rt.driver.state(),
      bootId: rt.bootId,
      btfFingerprint: rt.btfFingerprint,
      planPath: planPathFor(rt.description!),
      occupied: rt.occupied,
    });
    rt.plans = decided.plans;
    const before = outbox.count('NodeReplanned');
    return decided.replanned.map((r, i) => {
      log.info('replanned', { policy: r.policy, version: r.version, reason: r.reason });
      return nodeReplanned(scope(), before + i + 1, {
        generation: assignment.generation,
        policy: r.policy,
        policyVersion: r.version,
        reason: r.reason,
        plan: r.plan,
      });
    });
  };

  /** A reconcile pass, timed and counted by how it ended (a pass without assignment is none). */
  const pass = async (drainModule?: string): Promise<PassResult | undefined> => {
    if (rt.assignment === null) return undefined;
    const started = performance.now();
    const done = (result: ReconcileResult): void =>
      metrics.reconciled((performance.now() - started) / 1000, result);
    try {
      const result = await passOnce(drainModule);
      done(result !== undefined && result.failed.length > 0 ? 'attach_failures' : 'clean');
      return result;
    } catch (error) {
      done('error');
      throw error;
    }
  };

  const passOnce = async (drainModule?: string): Promise<PassResult | undefined> => {
    if (rt.assignment === null) return undefined;
    const acting = rt.assignment;
    // a link that left the kernel behind the agent's back is not held any more: attach again
    const dumped = await rt.driver.dump();
    rt.occupied = occupancyOf(dumped, rt.driver.state());
    const live = new Set(dumped.links.map((l) => l.id));
    const vanished = rt.held.filter((h) => !live.has(h.linkId));
    if (vanished.length > 0) {
      rt.held = rt.held.filter((h) => live.has(h.linkId));
      save();
      await outbox.publish(
        vanished.map((h) =>
          linkReleased(scope(), h.linkId, 'gone from the kernel', rt.observedGeneration),
        ),
      );
    }
    const replanned = plansFor(acting);
    const result = await runPass({
      driver: rt.driver,
      profile: rt.description!.profile,
      scope: scope(),
      assignment: acting,
      plans: new Map(rt.plans.map((p) => [p.policy, p.plan])),
      held: rt.held,
      ...(deps.programs === undefined ? {} : { programs: deps.programs }),
      ...(drainModule === undefined ? {} : { drainModule }),
      onIntents: (groups) => {
        // durably, before the first link_create of the pass (a journal line, one fdatasync)
        rt.intents = groups.map((g) => intentOf(g, acting.generation));
        save();
      },
      onAttached: (group, seconds, failure) =>
        metrics.attached(attachPathOfType(group.attachType), seconds, failure),
      onHeldChanged: (h) => {
        rt.held = [...h];
        // the pin mapping is saved every few steps (and at the end of the pass); a link created
        // but not yet saved is matched to its intent at the next start (state/recovery.ts)
        if (++unsaved >= SAVE_EVERY_STEPS) save();
      },
    });
    rt.held = [...result.held];
    rt.intents = [];
    rt.policies = result.policies;
    if (drainModule === undefined) rt.observedGeneration = acting.generation;
    save();
    await outbox.publish(
      [...replanned, ...result.facts, ...reconciledFact(acting, result)],
      acting.cause,
    );
    log.info('reconciled', {
      generation: acting.generation,
      steps: result.steps.length,
      failed: result.failed.length,
      links: rt.held.length,
    });
    return result;
  };

  const reconcile = (): Promise<void> =>
    serial(async () => {
      if (!rt.stopping) await pass();
    });

  const orderOf = (a: AgentAssignment) => ({ epoch: a.epoch ?? 0, generation: a.generation });
  const refused = (error: AssignmentRefusal, reason: string, via?: string): AssignOutcome => {
    refusals[error] = (refusals[error] ?? 0) + 1;
    log.warn('assignment refused', { error, reason, ...(via === undefined ? {} : { via }) });
    const held = rt.assignment;
    return {
      accepted: false,
      epoch: held === null ? 0 : orderOf(held).epoch,
      generation: held?.generation ?? 0,
      error,
      reason,
    };
  };

  /**
   * Adopts `next` when its (epoch, generation) is newer than the node's: a higher epoch always
   * wins (the coordinator took the node back). An older one, or another with the same order, is
   * refused as replayed. The very one the node holds, sent again, changes nothing: the coordinator
   * is catching up (after its own restart, say) and may have missed facts, so they are all sent
   * again (the log dedups by id).
   */
  const assign = (next: AgentAssignment): AssignOutcome => {
    const current = rt.assignment;
    if (current !== null) {
      const order = compareAssignmentOrder(orderOf(next), orderOf(current));
      if (order === 0) void outbox.resync();
      // the very assignment the node holds, sent again: nothing to do (not a refusal)
      if (order === 0 && next.signature?.value === current.signature?.value)
        return { accepted: true, epoch: orderOf(current).epoch, generation: current.generation };
      if (order <= 0) {
        const [n, c] = [orderOf(next), orderOf(current)];
        return refused(
          'replayed',
          `epoch ${n.epoch} generation ${n.generation} is ${order === 0 ? 'the one' : 'older than the one'} the node holds (epoch ${c.epoch} generation ${c.generation})`,
        );
      }
    }
    rt.assignment = next;
    save();
    void reconcile();
    return { accepted: true, epoch: orderOf(next).epoch, generation: next.generation };
  };

  if (deps.assignmentVerifyKey === undefined && deps.insecureUnsignedAssignments === true)
    log.warn(
      "INSECURE: assignments are accepted unsigned; anyone who can publish on this node's assign subject controls its kernel",
    );

  /**
   * An assignment off the wire: signature, schema, node, then order. A refusal is the reply (with
   * its error code), counted and logged; a signed message that is not an Assignment throws the
   * `InvalidMessageError` (the bus answers InvalidMessage).
   */
  const receiveAssignment = (payload: unknown, via?: string): AssignOutcome => {
    if (deps.assignmentVerifyKey !== undefined) {
      const check = verifyAssignment(deps.assignmentVerifyKey, payload);
      if (!check.ok) return refused(check.error, check.reason, via);
    } else if (deps.insecureUnsignedAssignments !== true) {
      return refused('unsigned', 'the agent has no verify key to check assignments with', via);
    }
    const decoded = decodeMessage('Assignment', payload);
    if (!decoded.ok) {
      // signed but malformed (a coordinator of another version?): answered as InvalidMessage
      refusals.invalid = (refusals.invalid ?? 0) + 1;
      throw decoded.error;
    }
    const next: AgentAssignment = decoded.value;
    if (next.nodeId !== deps.nodeId)
      return refused('wrong-node', `assignment for ${next.nodeId} sent to ${deps.nodeId}`, via);
    return assign(next);
  };

  const btfObjIdOf = async (module: string): Promise<number> =>
    (await rt.driver.modules()).find((m) => m.name === module)?.btfObjId ?? 0;

  const moduleAction = (action: 'load' | 'unload', module: string): Promise<ModuleOutcome> =>
    serial(async () => {
      if (action === 'load') {
        const loaded = await rt.driver.apply({ op: 'module_load', module });
        if (!loaded.ok) return { ok: false, errno: loaded.errno, reason: loaded.reason };
        await outbox.publish([moduleLoaded(scope(), module, await btfObjIdOf(module))]);
        await pass();
        return { ok: true };
      }
      const objId = await btfObjIdOf(module);
      // drain first: the links that pin the module are replaced by links without its functions
      await pass(module);
      const unloaded = await rt.driver.apply({ op: 'module_unload', module });
      if (!unloaded.ok) {
        await pass();
        return { ok: false, errno: unloaded.errno, reason: unloaded.reason };
      }
      await outbox.publish([moduleUnloaded(scope(), module, objId)]);
      await pass();
      return { ok: true };
    });

  const actualState = (): Promise<NodeActualState> =>
    readActualState({
      nodeId: deps.nodeId,
      bootId: rt.bootId,
      observedGeneration: rt.observedGeneration,
      driver: rt.driver,
      held: rt.held,
      policies: rt.policies,
    });

  const start = async (): Promise<Error | undefined> => {
    if (started) return undefined;
    if (deps.assignmentVerifyKey === undefined && deps.insecureUnsignedAssignments !== true) {
      const error = new Error(
        'no assignment verify key (TRAMWAY_ASSIGNMENT_VERIFY_KEY or TRAMWAY_SECURITY_DIR); ' +
          'an agent that cannot check who sent an assignment does not start ' +
          '(--insecure-unsigned-assignments overrides, for development only)',
      );
      log.error('agent failed to start', { error: error.message });
      return error;
    }
    started = true;
    try {
      await startAgent({
        deps,
        rt,
        log,
        store,
        outbox,
        serial,
        save,
        agent: { assign, receiveAssignment, reconcile, module: moduleAction, actualState },
        unsubscribes,
        subscriptions,
        stop$,
      });
      return undefined;
    } catch (error) {
      log.error('agent failed to start', { error: String(error) });
      return error instanceof Error ? error : new Error(String(error));
    }
  };

  const stop = async (): Promise<Error | undefined> => {
    rt.stopping = true;
    stop$.next();
    stop$.complete();
    for (const s of subscriptions.splice(0)) s.unsubscribe();
    for (const u of unsubscribes.splice(0)) u();
    outbox.stop();
    try {
      await work;
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  };

  return {
    start,
    stop,
    nodeId: deps.nodeId,
    bootId: () => rt.bootId,
    observedGeneration: () => rt.observedGeneration,
    pendingFacts: () => outbox.pending().length,
    assignment: () => rt.assignment,
    heldLinks: () => rt.held,
    plans: () => rt.plans,
    actualState,
    reconcile,
    module: moduleAction,
    assign,
    receiveAssignment,
    refusedAssignments: () => ({ ...refusals }),
    metrics,
    kernel: () => {
      if (rt.description === undefined) throw new Error('agent not started');
      return rt.description;
    },
    kernelState: () => deps.driver.state(),
  };
};
