/**
 * The agent (ARCHITECTURE.md, "Coordination"; docs/fleet-protocol.md): one per node. It
 * registers, fetches its latest assignment, reconciles its kernel to it, reports every fact,
 * loads and drains modules on request, keeps its pinned links across its own restarts and
 * re-applies after a reboot, answers plan and state requests, and sends heartbeats.
 *
 * Usable in-process (the embedded mode runs several) and from main.ts. Every kernel-touching
 * piece of work runs one at a time, in arrival order.
 */
import { createHash } from 'node:crypto';
import type { FleetBus, Unsubscribe } from '@tramway/shared/infra';
import type { SchedulerLike, Subscription } from 'rxjs';
import { Subject } from 'rxjs';
import type { KernelState } from '@tramway/shared/kernel';
import { encodeFleetEvent } from '@tramway/shared/contracts';
import type { NewEvent } from '@tramway/shared/lib';
import type { KernelDescription, KernelDriver } from './kernel-driver/index.js';
import { recordingDriver } from './kernel/agent-kernel.js';
import type { Logger } from '@tramway/shared/infra';
import { silentLogger } from '@tramway/shared/infra';
import { AgentSubjects, decodeAssignmentReply } from './agent-messages.js';
import type { FactScope, IdentifiedFact } from './facts/node-facts.js';
import {
  kernelProfileDetected,
  linkCreated,
  linkReleased,
  moduleLoaded,
  moduleUnloaded,
  nodeBooted,
  nodeReconciled,
  nodeRegistered,
} from './facts/node-facts.js';
import { reconcileOutcome } from './reconcile/reconcile-outcome.js';
import type { AgentAssignment, HeldLink } from './reconcile/agent-policy.js';
import type { NodeKernel } from './reconcile/desired-links.js';
import type { PassResult, PolicyStatus } from './reconcile/reconciler.js';
import { releaseLink, runPass } from './reconcile/reconciler.js';
import type { AgentStateStore } from './state/agent-state.store.js';
import { createFileStateStore, createMemoryStateStore } from './state/agent-state.store.js';
import { assignHandler } from './handlers/assign.handler.js';
import { moduleHandler } from './handlers/module.handler.js';
import { planHandler } from './handlers/plan.handler.js';
import { stateHandler } from './handlers/state.handler.js';
import type { NodeActualState } from './handlers/handler-deps.js';
import { heartbeats } from './streams/heartbeat.stream.js';

export type { NodeActualState } from './handlers/handler-deps.js';

export interface AgentClock {
  now(): Date;
}
export interface AgentIds {
  newId(): string;
}

export interface AgentDeps {
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly bus: FleetBus;
  /**
   * The node's kernel. A model driver (`sim`, `host` shadow) must be fresh, as built: on an
   * agent restart within the same boot its history is replayed from the op log in the state.
   */
  readonly driver: KernelDriver;
  /**
   * @deprecated ignored: the driver's own `state()` is used (kept so that older callers compile)
   */
  readonly kernelState?: () => KernelState | undefined;
  readonly clock: AgentClock;
  readonly ids: AgentIds;
  /** where pins, assignment and (sim) the kernel op log are kept; in memory when absent */
  readonly stateDir?: string;
  /** explicit state store (tests and the embedded mode keep one across agent restarts) */
  readonly store?: AgentStateStore;
  readonly logger?: Logger;
  /** default 5000 */
  readonly heartbeatMs?: number;
  /** the heartbeat's scheduler (tests: a TestScheduler); default rxjs asyncScheduler */
  readonly scheduler?: SchedulerLike;
  /** timeout of the start-up assignment request; default 2000 */
  readonly requestTimeoutMs?: number;
}

export interface Agent {
  /** registers and starts serving; resolves with the error that prevented it, if any */
  start(): Promise<Error | undefined>;
  /** stops timers and responders, waits for the work in progress; the kernel keeps its pinned links */
  stop(): Promise<Error | undefined>;
  readonly nodeId: string;
  bootId(): string;
  observedGeneration(): number;
  assignment(): AgentAssignment | null;
  heldLinks(): readonly HeldLink[];
  actualState(): Promise<NodeActualState>;
  /** runs a reconciliation pass now (after the work already queued) */
  reconcile(): Promise<void>;
  /** loads or drains-then-unloads a module (sim nodes); what the `module` request does */
  module(
    action: 'load' | 'unload',
    module: string,
  ): Promise<{ ok: true } | { ok: false; errno: string; reason: string }>;
  /** adopts an assignment (newer generations only); what the `assign` request does */
  assign(assignment: AgentAssignment): { accepted: boolean; generation: number; reason?: string };
  /** the description of the node's kernel (after start) */
  kernel(): KernelDescription;
  /** the model state, when the driver exposes it */
  kernelState(): KernelState | undefined;
}

/** facts per published batch (keeps a NATS message well under the default 1 MB payload) */
const FACT_BATCH_SIZE = 200;
/** facts of the current boot kept for re-publishing */
/** kernel steps between two saves of the pin mapping during a pass */
const SAVE_EVERY_STEPS = 16;

/**
 * What identifies the node's BTF: a SHA-256 over every BTF object's name and types when the
 * model state is at hand, else over the driver's object summary (names, kinds, function counts).
 */
const btfFingerprint = (d: KernelDescription, state: KernelState | undefined): string => {
  const hash = createHash('sha256');
  if (state === undefined) hash.update(JSON.stringify(d.objects));
  else
    for (const t of state.templates)
      hash.update(
        JSON.stringify([t.name, t.kind, t.view.btf.types], (_k, v: unknown) =>
          typeof v === 'bigint' ? v.toString() : v,
        ),
      );
  return `sha256:${hash.digest('hex').slice(0, 32)}`;
};

const nodeKernelOf = (d: KernelDescription): NodeKernel => ({
  profile: d.profile,
  multi: d.probedProfile !== 'none',
  trampolines: d.attachPath === 'tracing-multi' || d.attachPath === 'fentry-per-function',
});

export const createAgent = (deps: AgentDeps): Agent => {
  const log = (deps.logger ?? silentLogger).child({ service: 'agent', nodeId: deps.nodeId });
  const store: AgentStateStore =
    deps.store ??
    (deps.stateDir === undefined ? createMemoryStateStore() : createFileStateStore(deps.stateDir));
  const heartbeatMs = deps.heartbeatMs ?? 5000;
  let description: KernelDescription | undefined;
  let driver: KernelDriver = deps.driver;
  let bootId = '';
  let assignment: AgentAssignment | null = null;
  let observedGeneration = 0;
  let held: HeldLink[] = [];
  let policies: readonly PolicyStatus[] = [];
  let started = false;
  let stopping = false;
  const unsubscribes: Unsubscribe[] = [];
  const subscriptions: Subscription[] = [];
  const stop$ = new Subject<void>();
  let work: Promise<unknown> = Promise.resolve();

  const scope = (): FactScope => ({ nodeId: deps.nodeId, bootId });

  /** Runs `task` after the work already queued; kernel work never interleaves. */
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = work.then(task);
    work = run.catch(() => undefined);
    return run;
  };

  /** every fact of this boot, as first sent, by id: re-published whole on a resync (the log dedups by id) */
  const outbox = new Map<string, NewEvent>();
  let unsaved = 0;

  const save = (): void => {
    unsaved = 0;
    store.save({ bootId, assignment, observedGeneration, links: held });
  };

  const send = async (events: readonly NewEvent[]): Promise<void> => {
    if (events.length === 0) return;
    try {
      for (let i = 0; i < events.length; i += FACT_BATCH_SIZE)
        await deps.bus.publish(AgentSubjects.facts(deps.nodeId), {
          nodeId: deps.nodeId,
          bootId,
          events: events.slice(i, i + FACT_BATCH_SIZE),
        });
    } catch (error) {
      // core NATS is at most once anyway: the outbox is re-published on the next resync
      log.warn('facts not published', { count: events.length, error: String(error) });
    }
  };

  /**
   * Sends new facts. `cause`: the assignment they carry out; its correlation id and the id of its
   * AssignmentIssued go on their metadata (who the agent acted for, docs/fleet-protocol.md).
   */
  const publishFacts = async (
    facts: readonly IdentifiedFact[],
    cause?: AgentAssignment['cause'],
  ): Promise<void> => {
    if (facts.length === 0) return;
    const metadata = {
      occurredAt: deps.clock.now().toISOString(),
      actor: `agent:${deps.nodeId}`,
      ...(cause?.correlationId === undefined ? {} : { correlationId: cause.correlationId }),
      ...(cause === undefined ? {} : { causationId: cause.eventId }),
    };
    // a fact already in the outbox was sent (a refusal seen again in the next pass): resyncs resend it
    const fresh: NewEvent[] = [];
    for (const f of facts) {
      if (outbox.has(f.id)) continue;
      const event = encodeFleetEvent(f.event, { id: f.id, metadata }).event;
      outbox.set(f.id, event);
      fresh.push(event);
    }
    store.appendFacts(fresh);
    await send(fresh);
  };

  /** Re-publishes every fact of this boot (after the coordinator was unreachable, and at start). */
  const resync = (): Promise<void> => send([...outbox.values()]);

  /** NodeReconciled for this pass, when its outcome differs from the last one of the boot */
  const reconciledFact = (result: PassResult): IdentifiedFact[] => {
    const data = {
      observedGeneration,
      policies: reconcileOutcome({
        assignment: assignment!,
        policies: result.policies,
        held: result.held,
        attachFailures: result.attachFailures,
      }),
    };
    const reported = [...outbox.values()].filter((e) => e.type === 'NodeReconciled');
    const last = reported.at(-1)?.data as typeof data | undefined;
    if (last !== undefined && JSON.stringify(last.policies) === JSON.stringify(data.policies))
      if (last.observedGeneration === data.observedGeneration) return [];
    return [nodeReconciled(scope(), reported.length + 1, data)];
  };

  const pass = async (drainModule?: string): Promise<PassResult | undefined> => {
    if (assignment === null) return undefined;
    const acting = assignment;
    // a link that left the kernel behind the agent's back is not held any more: attach again
    const live = new Set((await driver.dump()).links.map((l) => l.id));
    const vanished = held.filter((h) => !live.has(h.linkId));
    if (vanished.length > 0) {
      held = held.filter((h) => live.has(h.linkId));
      save();
      await publishFacts(
        vanished.map((h) =>
          linkReleased(scope(), h.linkId, 'gone from the kernel', observedGeneration),
        ),
      );
    }
    const result = await runPass({
      driver,
      node: nodeKernelOf(description!),
      scope: scope(),
      assignment,
      held,
      ...(drainModule === undefined ? {} : { drainModule }),
      onHeldChanged: (h) => {
        held = [...h];
        // the pin mapping is saved every few steps (and at the end of the pass); a link created
        // but not yet saved is an orphan after a crash, released at the next start
        if (++unsaved >= SAVE_EVERY_STEPS) save();
      },
    });
    held = [...result.held];
    policies = result.policies;
    if (drainModule === undefined) observedGeneration = assignment.generation;
    save();
    await publishFacts([...result.facts, ...reconciledFact(result)], acting.cause);
    log.info('reconciled', {
      generation: assignment.generation,
      steps: result.steps.length,
      failed: result.failed.length,
      links: held.length,
    });
    return result;
  };

  const reconcile = (): Promise<void> =>
    serial(async () => {
      if (!stopping) await pass();
    });

  const assign = (
    next: AgentAssignment,
  ): { accepted: boolean; generation: number; reason?: string } => {
    // a generation the node already has: the coordinator is catching up (after its own
    // restart, say) and may have missed facts: send them all again (the log dedups by id)
    if (assignment !== null && next.generation <= assignment.generation) void resync();
    if (assignment !== null && next.generation < assignment.generation)
      return {
        accepted: false,
        generation: assignment.generation,
        reason: `generation ${next.generation} is older than the node's ${assignment.generation}`,
      };
    if (assignment !== null && next.generation === assignment.generation)
      return { accepted: true, generation: assignment.generation };
    assignment = next;
    save();
    void reconcile();
    return { accepted: true, generation: next.generation };
  };

  const btfObjIdOf = async (module: string): Promise<number> =>
    (await driver.modules()).find((m) => m.name === module)?.btfObjId ?? 0;

  const moduleAction = (
    action: 'load' | 'unload',
    module: string,
  ): Promise<{ ok: true } | { ok: false; errno: string; reason: string }> =>
    serial(async () => {
      if (action === 'load') {
        const loaded = await driver.apply({ op: 'module_load', module });
        if (!loaded.ok) return { ok: false, errno: loaded.errno, reason: loaded.reason };
        await publishFacts([moduleLoaded(scope(), module, await btfObjIdOf(module))]);
        await pass();
        return { ok: true };
      }
      const objId = await btfObjIdOf(module);
      // drain first: the links that pin the module are replaced by links without its functions
      await pass(module);
      const unloaded = await driver.apply({ op: 'module_unload', module });
      if (!unloaded.ok) {
        await pass();
        return { ok: false, errno: unloaded.errno, reason: unloaded.reason };
      }
      await publishFacts([moduleUnloaded(scope(), module, objId)]);
      await pass();
      return { ok: true };
    });

  const actualState = async (): Promise<NodeActualState> => {
    const dump = await driver.dump();
    const byLink = new Map(held.map((h) => [h.linkId, h]));
    const progName = new Map(dump.progs.map((p) => [p.id, p.name]));
    return {
      nodeId: deps.nodeId,
      bootId,
      observedGeneration,
      links: dump.links.map((l) => {
        const h = byLink.get(l.id);
        return {
          linkId: l.id,
          policy: h?.policy ?? null,
          policyVersion: h?.policyVersion ?? null,
          program: h?.program ?? progName.get(l.prog) ?? `prog#${l.prog}`,
          connections: l.connections.map((c) => {
            const module = h?.connections.find(
              (hc) => hc.function === c.function && hc.btfId === c.btfId,
            )?.module;
            return {
              function: c.function,
              ...(module === undefined ? {} : { module }),
              objId: c.objId,
              btfId: c.btfId,
              cookie: c.cookie.toString(),
            };
          }),
        };
      }),
      modules: dump.modules.map((m) => ({ name: m.name, state: m.state })),
      policies: policies.map(({ attachable: _attachable, ...rest }) => rest),
    };
  };

  /** Same boot: replay the kernel's history, then close the fds the old process held. */
  const recover = async (): Promise<{ booted: boolean; orphans: readonly number[] }> => {
    const persisted = store.load();
    assignment = persisted?.assignment ?? null;
    outbox.clear();
    if (persisted === undefined || persisted.bootId !== bootId) {
      store.resetBoot(bootId);
      driver = recordingDriver(deps.driver, (op) => store.appendOp(op));
      held = [];
      observedGeneration = 0;
      return { booted: true, orphans: [] };
    }
    for (const op of store.readOps(bootId)) {
      const outcome = await deps.driver.apply(op);
      if (!outcome.ok)
        log.warn('kernel op log replay refused an op', { op: op.op, errno: outcome.errno });
    }
    driver = recordingDriver(deps.driver, (op) => store.appendOp(op));
    const state = deps.driver.state();
    const exitOps = state
      ? [
          ...[...state.links.values()]
            .filter((l) => l.fdOpen)
            .map((l) => ({ op: 'link_release' as const, link: l.id })),
          ...[...state.progs.values()]
            .filter((p) => p.loaded)
            .map((p) => ({ op: 'prog_release' as const, prog: p.id })),
        ]
      : persisted.links
          .filter((l) => l.fdOpen)
          .map((l) => ({ op: 'link_release' as const, link: l.linkId }));
    for (const op of exitOps) await driver.apply(op);
    const live = new Set((await driver.dump()).links.map((l) => l.id));
    held = persisted.links.filter((l) => live.has(l.linkId)).map((l) => ({ ...l, fdOpen: false }));
    observedGeneration = persisted.observedGeneration;
    for (const e of store.readFacts(bootId)) outbox.set(e.id, e);
    const known = new Set(held.map((h) => h.linkId));
    return { booted: false, orphans: [...live].filter((id) => !known.has(id)) };
  };

  let fetchFailures = 0;
  const fetchAssignment = async (): Promise<boolean> => {
    try {
      const reply = await deps.bus.request(
        AgentSubjects.assignment(),
        { nodeId: deps.nodeId },
        { timeoutMs: deps.requestTimeoutMs ?? 2000 },
      );
      if (fetchFailures > 0) {
        fetchFailures = 0;
        await resync();
      }
      const next = decodeAssignmentReply(reply);
      if (next === null) return true;
      if (next.nodeId !== deps.nodeId) {
        log.warn('assignment for another node ignored', { for: next.nodeId });
        return true;
      }
      assign(next);
      return true;
    } catch (error) {
      // said once per outage, then retried quietly with every heartbeat
      (fetchFailures++ === 0 ? log.warn : log.debug)('latest assignment not fetched', {
        error: String(error),
        attempts: fetchFailures,
      });
      return false;
    }
  };

  const start = async (): Promise<Error | undefined> => {
    if (started) return undefined;
    started = true;
    try {
      description = await deps.driver.describe();
      bootId = description.bootId ?? store.simBootId(() => `boot-${deps.ids.newId()}`);
      const { booted, orphans } = await serial(recover);
      const fingerprint = btfFingerprint(description, deps.driver.state());
      const profile = description.probedProfile === 'none' ? 'none' : description.profile;
      const attachPath =
        description.attachPath === 'none' ? 'fentry-per-function' : description.attachPath;
      const s = scope();
      const facts: IdentifiedFact[] = [
        ...(booted ? [nodeBooted(s)] : []),
        nodeRegistered(s, {
          labels: deps.labels,
          kernelRelease: description.release ?? `sim-${description.profile}`,
          profile,
          btfFingerprint: fingerprint,
        }),
        kernelProfileDetected(s, { profile, attachPath, btfFingerprint: fingerprint }),
        // the modules the node booted with (ids keyed by load: the same load reported once)
        ...(await driver.modules())
          .filter((m) => m.state === 'live')
          .map((m) => moduleLoaded(s, m.name, m.btfObjId)),
        ...held.map((h) => linkCreated(s, h, observedGeneration)),
      ];
      // links in the kernel that no record explains (a crash between link_create and saving
      // the mapping): nobody will ever release them otherwise
      for (const linkId of orphans) {
        await serial(() => releaseLink(driver, { linkId, fdOpen: false }));
        facts.push(
          linkReleased(s, linkId, 'orphan: no policy mapping after restart', observedGeneration),
        );
      }
      save();
      await resync();
      await publishFacts(facts);
      const handlerDeps = {
        nodeId: deps.nodeId,
        logger: log,
        assign,
        module: moduleAction,
        actualState,
        kernelState: () => driver.state(),
        driver: () => driver,
        node: () => nodeKernelOf(description!),
        // a sim node with multi-link: the model's profile decides (planNode's default path)
        planPath: () =>
          (description!.mode === 'sim' && description!.probedProfile !== 'none') ||
          description!.attachPath === 'none'
            ? undefined
            : description!.attachPath,
      };
      unsubscribes.push(
        deps.bus.respond(AgentSubjects.assign(deps.nodeId), assignHandler(handlerDeps)),
        deps.bus.respond(AgentSubjects.module(deps.nodeId), moduleHandler(handlerDeps)),
        deps.bus.respond(AgentSubjects.state(deps.nodeId), stateHandler(handlerDeps)),
        deps.bus.respond(AgentSubjects.plan(deps.nodeId), planHandler(handlerDeps)),
      );
      await deps.bus.flush();
      let haveAssignment = await fetchAssignment();
      await reconcile();
      let fetching = false;
      const beats = heartbeats(
        heartbeatMs,
        () => ({
          nodeId: deps.nodeId,
          bootId,
          observedGeneration,
          at: deps.clock.now().toISOString(),
        }),
        stop$,
        deps.scheduler,
      ).subscribe((beat) => {
        deps.bus
          .publish(AgentSubjects.heartbeat(deps.nodeId), beat)
          .catch((error: unknown) => log.warn('heartbeat not sent', { error: String(error) }));
        // until the coordinator has answered once, ask again with each beat
        if (!haveAssignment && !fetching) {
          fetching = true;
          void fetchAssignment().then((ok) => {
            haveAssignment = ok;
            fetching = false;
          });
        }
      });
      subscriptions.push(beats);
      log.info('agent started', {
        bootId,
        booted,
        links: held.length,
        generation: assignment?.generation ?? null,
      });
      return undefined;
    } catch (error) {
      log.error('agent failed to start', { error: String(error) });
      return error instanceof Error ? error : new Error(String(error));
    }
  };

  const stop = async (): Promise<Error | undefined> => {
    stopping = true;
    stop$.next();
    stop$.complete();
    for (const s of subscriptions.splice(0)) s.unsubscribe();
    for (const u of unsubscribes.splice(0)) u();
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
    bootId: () => bootId,
    observedGeneration: () => observedGeneration,
    assignment: () => assignment,
    heldLinks: () => held,
    actualState,
    reconcile,
    module: moduleAction,
    assign,
    kernel: () => {
      if (description === undefined) throw new Error('agent not started');
      return description;
    },
    kernelState: () => deps.driver.state(),
  };
};
