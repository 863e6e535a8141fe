/**
 * The agent's start (docs/fleet-protocol.md): describe the kernel, recover what the previous
 * process left (state/recovery.ts), report the node (booted, registered, profile, modules, the
 * links it still holds), adopt or release (with the reason) links a crash left unreported, answer requests, fetch the latest assignment and
 * reconcile, then send heartbeats (asking for the assignment again with each one until the
 * coordinator has answered).
 */
import { createHash } from 'node:crypto';
import type { Observable, Subscription } from 'rxjs';
import type { Logger, Unsubscribe } from '@tramway/shared/infra';
import type { KernelState } from '@tramway/shared/kernel';
import type { Agent, AgentDeps, AgentRuntime } from './agent.types.js';
import type { KernelDescription, KernelDriver } from './kernel-driver/index.js';
import { AgentSubjects } from './agent-messages.js';
import type { FactOutbox } from './facts/fact-outbox.js';
import type { IdentifiedFact } from './facts/node-facts.js';
import {
  kernelProfileDetected,
  linkCreated,
  linkReleased,
  moduleLoaded,
  nodeBooted,
  nodeRegistered,
  programLoaded,
} from './facts/node-facts.js';
import { occupancyOf, planPathFor } from './reconcile/agent-plans.js';
import { releaseLink } from './reconcile/reconciler.js';
import type { AgentStateStore } from './state/agent-state.store.js';
import { recover } from './state/recovery.js';
import { assignHandler } from './handlers/assign.handler.js';
import { moduleHandler } from './handlers/module.handler.js';
import { planHandler } from './handlers/plan.handler.js';
import { stateHandler } from './handlers/state.handler.js';
import { heartbeats } from './streams/heartbeat.stream.js';

/**
 * What identifies the node's BTF: a SHA-256 over every BTF object's name and types when the
 * model state is at hand, else over the driver's object summary (names, kinds, function counts).
 */
export const btfFingerprint = (d: KernelDescription, state: KernelState | undefined): string => {
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

export interface StartUpInput {
  readonly deps: AgentDeps;
  readonly rt: AgentRuntime;
  readonly log: Logger;
  readonly store: AgentStateStore;
  readonly outbox: FactOutbox;
  /** the agent's serial queue: kernel work never interleaves */
  readonly serial: <T>(task: () => Promise<T>) => Promise<T>;
  readonly save: () => void;
  readonly agent: Pick<
    Agent,
    'assign' | 'receiveAssignment' | 'reconcile' | 'module' | 'actualState'
  >;
  /** filled with the responders and the heartbeat subscription, for the agent's stop */
  readonly unsubscribes: Unsubscribe[];
  readonly subscriptions: Subscription[];
  readonly stop$: Observable<void>;
}

/** The reason of the LinkCreated of a link adopted after a crash. */
export const ADOPTED_REASON = 'adopted after restart: intent recorded before create';

/**
 * TEST ONLY: `driver` calling `crash` right after the kernel accepted `point`'s operation (and
 * the op log recorded it), before the agent saved or reported anything of it.
 */
const crashingAfter = (
  driver: KernelDriver,
  point: 'link-created' | 'link-pinned',
  crash: () => void,
): KernelDriver => ({
  ...driver,
  apply: async (op) => {
    const outcome = await driver.apply(op);
    const step =
      op.op === 'link_create' ? 'link-created' : op.op === 'link_pin' ? 'link-pinned' : '';
    if (outcome.ok && step === point) crash();
    return outcome;
  },
});

/** Asks the coordinator for the node's latest assignment and adopts it; false when it did not answer. */
const assignmentFetcher = (input: StartUpInput): (() => Promise<boolean>) => {
  const { deps, log, outbox } = input;
  let failures = 0;
  return async () => {
    try {
      const reply = await deps.bus.request(
        AgentSubjects.assignment(deps.nodeId),
        { nodeId: deps.nodeId },
        { timeoutMs: deps.requestTimeoutMs ?? 2000 },
      );
      if (failures > 0) {
        failures = 0;
        await outbox.resync();
      }
      if (reply === null) return true;
      // checked as one sent on the assign subject: signature, schema, node, order
      input.agent.receiveAssignment(reply, AgentSubjects.assignment(deps.nodeId));
      return true;
    } catch (error) {
      // said once per outage, then retried quietly with every heartbeat
      (failures++ === 0 ? log.warn : log.debug)('latest assignment not fetched', {
        error: String(error),
        attempts: failures,
      });
      return false;
    }
  };
};

/** Starts the agent; throws what prevented it (the caller turns it into `start()`'s error). */
export const startAgent = async (input: StartUpInput): Promise<void> => {
  const { deps, rt, log, outbox } = input;
  const description = await deps.driver.describe();
  rt.description = description;
  // a real kernel's probe: each rung's steps with the kernel's errnos, said once at start
  if (description.probe !== undefined)
    log.info('kernel attach paths probed', {
      mode: description.mode,
      attachPath: description.attachPath,
      trampolineBudget: description.trampolineBudget ?? null,
      steps: description.probe.steps.map(
        (s) => `${s.path} ${s.step}: ${s.ok ? 'ok' : `${s.errno ?? '?'}`}`,
      ),
    });
  rt.bootId = description.bootId ?? input.store.simBootId(() => `boot-${deps.ids.newId()}`);
  rt.btfFingerprint = btfFingerprint(description, deps.driver.state());
  const { booted, adopted, released } = await input.serial(() =>
    recover({ rt, driver: deps.driver, store: input.store, outbox, log }),
  );
  // what the kernel already holds that the model does not (other tools' links): plans count it
  rt.occupied = occupancyOf(await rt.driver.dump(), rt.driver.state());
  if (deps.testCrashAfter !== undefined)
    rt.driver = crashingAfter(rt.driver, deps.testCrashAfter.point, deps.testCrashAfter.crash);
  const profile = description.probedProfile === 'none' ? 'none' : description.profile;
  const attachPath =
    description.attachPath === 'none' ? 'fentry-per-function' : description.attachPath;
  const s = { nodeId: deps.nodeId, bootId: rt.bootId };
  const fingerprint = rt.btfFingerprint;
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
    ...(await rt.driver.modules())
      .filter((m) => m.state === 'live')
      .map((m) => moduleLoaded(s, m.name, m.btfObjId)),
    // a link adopted after a crash (its intent recorded before create) is reported with why
    ...adopted.flatMap(({ link, generation }) => [
      programLoaded(s, link.programId, link),
      linkCreated(s, link, generation, ADOPTED_REASON),
    ]),
    ...rt.held.map((h) => linkCreated(s, h, rt.observedGeneration)),
  ];
  // links in the kernel the agent does not keep (no intent, or one no longer assigned):
  // nobody would ever release them otherwise; the reason goes into the log
  for (const { linkId, reason } of released) {
    await input.serial(() => releaseLink(rt.driver, { linkId, fdOpen: false }));
    facts.push(linkReleased(s, linkId, reason, rt.observedGeneration));
  }
  input.save();
  await outbox.resync();
  await outbox.publish(facts);
  const handlerDeps = {
    nodeId: deps.nodeId,
    logger: log,
    receiveAssignment: input.agent.receiveAssignment,
    module: input.agent.module,
    actualState: input.agent.actualState,
    kernelState: () => rt.driver.state(),
    planPath: () => planPathFor(description),
    occupied: () => rt.occupied,
  };
  input.unsubscribes.push(
    deps.bus.respond(AgentSubjects.assign(deps.nodeId), assignHandler(handlerDeps)),
    deps.bus.respond(AgentSubjects.module(deps.nodeId), moduleHandler(handlerDeps)),
    deps.bus.respond(AgentSubjects.state(deps.nodeId), stateHandler(handlerDeps)),
    deps.bus.respond(AgentSubjects.plan(deps.nodeId), planHandler(handlerDeps)),
  );
  await deps.bus.flush();
  const fetchAssignment = assignmentFetcher(input);
  let haveAssignment = await fetchAssignment();
  await input.agent.reconcile();
  let fetching = false;
  const beats = heartbeats(
    deps.heartbeatMs ?? 5000,
    () => ({
      nodeId: deps.nodeId,
      bootId: rt.bootId,
      observedGeneration: rt.observedGeneration,
      at: deps.clock.now().toISOString(),
    }),
    input.stop$,
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
  input.subscriptions.push(beats);
  log.info('agent started', {
    bootId: rt.bootId,
    booted,
    links: rt.held.length,
    generation: rt.assignment?.generation ?? null,
  });
};
