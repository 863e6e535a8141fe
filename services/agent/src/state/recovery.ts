/**
 * What the agent finds when it starts (ARCHITECTURE.md, "links are pinned so that an agent
 * restart keeps them"). A new boot id: every link, program and module of the previous boot is
 * gone, so nothing is held; the assignment and the plans are kept (the plans to see what the
 * reboot changed). The same boot: the kernel's history is replayed from the op log, the fds the
 * old process held are closed (pinned links stay), and the links still in the kernel are held
 * again. A link no saved record holds (a crash between link_create and the save) is matched to
 * the intent recorded before its create: adopted when that policy version is still assigned,
 * else released with the reason; one with no intent is released with that reason. Intents
 * that left no link are cleared with a log line. Nothing found is dropped silently.
 */
import type { Logger } from '@tramway/shared/infra';
import type { AgentRuntime } from '../agent.types.js';
import type { KernelDriver } from '../kernel-driver/index.js';
import { recordingDriver } from '../kernel/agent-kernel.js';
import type { FactOutbox } from '../facts/fact-outbox.js';
import { EMPTY_OUTBOX } from '../facts/outbox-lines.js';
import type { HeldLink, LinkIntent } from '../reconcile/agent-policy.js';
import type { AgentStateStore } from './agent-state.store.js';

export interface Recovered {
  /** the node booted since the agent last saved its state (or never saved any) */
  readonly booted: boolean;
  /** links found in the kernel that match an intent recorded before create: held again */
  readonly adopted: readonly Adopted[];
  /** links found in the kernel the agent will not keep, each with why (for the caller to release) */
  readonly released: readonly { readonly linkId: number; readonly reason: string }[];
}

/** Recovers `rt` (assignment, plans, links, observed generation, outbox) for `rt.bootId`. */
export const recover = async (input: {
  readonly rt: AgentRuntime;
  /** the fresh driver as built (the recovered one records every accepted op) */
  readonly driver: KernelDriver;
  readonly store: AgentStateStore;
  readonly outbox: FactOutbox;
  readonly log: Logger;
}): Promise<Recovered> => {
  const { rt, driver, store, outbox } = input;
  const persisted = store.load();
  rt.assignment = persisted?.assignment ?? null;
  rt.plans = persisted?.plans ?? [];
  outbox.restore(EMPTY_OUTBOX);
  if (persisted === undefined || persisted.bootId !== rt.bootId) {
    store.resetBoot(rt.bootId);
    rt.driver = recordingDriver(driver, (op) => store.appendOp(op));
    rt.held = [];
    rt.observedGeneration = 0;
    return { booted: true, adopted: [], released: [] };
  }
  // a real kernel kept what the previous process pinned: replaying would create it all again
  if (driver.outlivesProcess !== true)
    for (const op of store.readOps(rt.bootId)) {
      const outcome = await driver.apply(op);
      if (!outcome.ok)
        input.log.warn('kernel op log replay refused an op', { op: op.op, errno: outcome.errno });
    }
  rt.driver = recordingDriver(driver, (op) => store.appendOp(op));
  // the model's own record of the fds the dead process held (a real kernel closed them itself)
  const state = driver.outlivesProcess === true ? undefined : driver.state();
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
  for (const op of exitOps) await rt.driver.apply(op);
  const dump = await rt.driver.dump();
  const live = new Set(dump.links.map((l) => l.id));
  rt.held = persisted.links.filter((l) => live.has(l.linkId)).map((l) => ({ ...l, fdOpen: false }));
  rt.observedGeneration = persisted.observedGeneration;
  outbox.restore(store.readOutbox(rt.bootId));
  const known = new Set(rt.held.map((h) => h.linkId));
  const progName = new Map(dump.progs.map((p) => [p.id, p.name]));
  const unknown = dump.links.filter((l) => !known.has(l.id));
  const intents = [...(persisted.intents ?? [])];
  const assigned = new Set(
    (persisted.assignment?.policies ?? []).map((p) => `${p.name}@${p.version}`),
  );
  const adopted: Adopted[] = [];
  const released: { linkId: number; reason: string }[] = [];
  for (const link of unknown) {
    const signature = signatureOf(
      link.connections.map((c) => ({ ...c, cookie: c.cookie.toString() })),
    );
    const at = intents.findIndex(
      (i) => i.program === progName.get(link.prog) && signatureOf(i.targets) === signature,
    );
    if (at < 0) {
      released.push({
        linkId: link.id,
        reason:
          'released after restart: in the kernel with no recorded intent or policy mapping (not created by this agent for a policy)',
      });
      continue;
    }
    const [intent] = intents.splice(at, 1) as [LinkIntent];
    if (!assigned.has(`${intent.policy}@${intent.policyVersion}`)) {
      released.push({
        linkId: link.id,
        reason: `released after restart: its intent (${intent.policy} v${intent.policyVersion}, generation ${intent.generation}) is no longer assigned`,
      });
      continue;
    }
    const objects = new Map(intent.targets.map((t) => [`${t.function}\0${t.btfId}`, t.object]));
    const held: HeldLink = {
      linkId: link.id,
      programId: link.prog,
      policy: intent.policy,
      policyVersion: intent.policyVersion,
      program: intent.program,
      attachType: intent.attachType,
      groupKey: intent.groupKey,
      targets: intent.targets,
      connections: link.connections.map((c) => {
        const module = objects.get(`${c.function}\0${c.btfId}`) ?? 'vmlinux';
        return {
          function: c.function,
          ...(module === 'vmlinux' ? {} : { module }),
          objId: c.objId,
          btfId: c.btfId,
          cookie: c.cookie.toString(),
        };
      }),
      fdOpen: false,
    };
    rt.held.push(held);
    adopted.push({ link: held, generation: intent.generation });
    input.log.warn('adopted a link found after restart: its intent was recorded before create', {
      linkId: link.id,
      policy: intent.policy,
      policyVersion: intent.policyVersion,
      groupKey: intent.groupKey,
    });
  }
  // intents with no link: the crash came before link_create, or before link_pin (the dead
  // process's fd was the link's only hold, so the kernel freed it)
  const heldGroups = new Set(rt.held.map((h) => `${h.policy}@${h.policyVersion}/${h.groupKey}`));
  for (const intent of intents)
    if (!heldGroups.has(intent.id))
      input.log.info('link intent cleared: no link of it is in the kernel after restart', {
        intent: intent.id,
        generation: intent.generation,
      });
  for (const r of released)
    input.log.warn('releasing a link found after restart', { linkId: r.linkId, reason: r.reason });
  return { booted: false, adopted, released };
};

/** Adopted after a restart: the link as now held, and the generation its intent was for. */
export interface Adopted {
  readonly link: HeldLink;
  readonly generation: number;
}

/** A link's identity for matching: its connections (function, BTF id, cookie), sorted. */
const signatureOf = (
  targets: readonly {
    readonly function: string;
    readonly btfId: number;
    readonly cookie: string;
  }[],
): string =>
  targets
    .map((t) => `${t.function}:${t.btfId}:${t.cookie}`)
    .sort()
    .join(',');
