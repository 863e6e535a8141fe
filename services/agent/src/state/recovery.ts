/**
 * What the agent finds when it starts (ARCHITECTURE.md, "links are pinned so that an agent
 * restart keeps them"). A new boot id: every link, program and module of the previous boot is
 * gone, so nothing is held; the assignment and the plans are kept (the plans to see what the
 * reboot changed). The same boot: the kernel's history is replayed from the op log, the fds the
 * old process held are closed (pinned links stay), and the links still in the kernel are held
 * again; a link that no record explains is an orphan for the caller to release.
 */
import type { Logger } from '@tramway/shared/infra';
import type { AgentRuntime } from '../agent.types.js';
import type { KernelDriver } from '../kernel-driver/index.js';
import { recordingDriver } from '../kernel/agent-kernel.js';
import type { FactOutbox } from '../facts/fact-outbox.js';
import { EMPTY_OUTBOX } from '../facts/outbox-lines.js';
import type { AgentStateStore } from './agent-state.store.js';

export interface Recovered {
  /** the node booted since the agent last saved its state (or never saved any) */
  readonly booted: boolean;
  /** links in the kernel that no saved record explains */
  readonly orphans: readonly number[];
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
    return { booted: true, orphans: [] };
  }
  for (const op of store.readOps(rt.bootId)) {
    const outcome = await driver.apply(op);
    if (!outcome.ok)
      input.log.warn('kernel op log replay refused an op', { op: op.op, errno: outcome.errno });
  }
  rt.driver = recordingDriver(driver, (op) => store.appendOp(op));
  const state = driver.state();
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
  const live = new Set((await rt.driver.dump()).links.map((l) => l.id));
  rt.held = persisted.links.filter((l) => live.has(l.linkId)).map((l) => ({ ...l, fdOpen: false }));
  rt.observedGeneration = persisted.observedGeneration;
  outbox.restore(store.readOutbox(rt.bootId));
  const known = new Set(rt.held.map((h) => h.linkId));
  return { booted: false, orphans: [...live].filter((id) => !known.has(id)) };
};
