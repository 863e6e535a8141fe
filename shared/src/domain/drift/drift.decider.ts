/**
 * Drift between what a node holds and what the log says it should, as the decider that owns the
 * stream `drift-<nodeId>`. `findDrift` compares (pure); `RecordDrift` records what was found
 * unless every item is already known (a link the log still holds is not found again), and the
 * shell then re-issues the node's assignment so it reconciles.
 */
import type { Decider, Decision } from '../decider.js';
import { accept, nothing } from '../decider.js';
import type { DesiredLink, DriftFound, DriftItem, FleetRecordedEvent } from '../fleet.events.js';

export interface ActualLink {
  readonly linkId: number;
  readonly policy: string | null;
  readonly policyVersion: number | null;
}

/**
 * What the node actually holds against what the log says it should. Only judged once the node
 * observed its generation (before that it is converging, not drifting). A policy version the node
 * failed to attach is a failure, already recorded, not drift.
 */
export const findDrift = (input: {
  readonly desired: readonly DesiredLink[];
  readonly generation: number;
  readonly failedPolicies: ReadonlySet<string>;
  /** link ids the log holds for the node */
  readonly loggedLinkIds: readonly number[];
  readonly actual: {
    readonly observedGeneration: number;
    readonly links: readonly ActualLink[];
  };
}): DriftItem[] => {
  if (input.actual.observedGeneration < input.generation) return [];
  const items: DriftItem[] = [];
  for (const d of input.desired) {
    if (input.failedPolicies.has(d.policy)) continue;
    const held = input.actual.links.some(
      (l) => l.policy === d.policy && l.policyVersion === d.policyVersion,
    );
    if (!held) {
      items.push({
        kind: 'missing-link',
        detail: `policy ${d.policy} v${d.policyVersion} is assigned but no link of it is held`,
      });
    }
  }
  for (const l of input.actual.links) {
    // the previous version kept because the assigned one failed to attach (make-before-break)
    if (l.policy !== null && input.failedPolicies.has(l.policy)) continue;
    const wanted = input.desired.some(
      (d) => d.policy === l.policy && d.policyVersion === l.policyVersion,
    );
    if (!wanted) {
      items.push({
        kind: 'unexpected-link',
        linkId: l.linkId,
        detail: `link ${l.linkId} (policy ${l.policy ?? 'none'} v${l.policyVersion ?? '-'}) is held but not assigned`,
      });
    }
  }
  const actualIds = new Set(input.actual.links.map((l) => l.linkId));
  for (const id of input.loggedLinkIds) {
    if (!actualIds.has(id)) {
      items.push({
        kind: 'missing-link',
        linkId: id,
        detail: `link ${id} is in the log but not in the kernel`,
      });
    }
  }
  return items;
};

export interface DriftState {
  /** the items of the last DriftFound */
  readonly items: readonly DriftItem[];
  /** the node's observed generation when drift was last recorded (-1: never) */
  readonly observedGeneration: number;
  /** the id of the last DriftFound, the cause of the repair that follows it (undefined: never) */
  readonly eventId: string | undefined;
}

export type RecordDrift = Readonly<{
  type: 'RecordDrift';
  data: Readonly<{
    nodeId: string;
    /** the assignment generation judged */
    generation: number;
    observedGeneration: number;
    items: readonly DriftItem[];
  }>;
}>;

export const initialDriftState = (): DriftState => ({
  items: [],
  observedGeneration: -1,
  eventId: undefined,
});

export const decideDrift = (command: RecordDrift, state: DriftState): Decision<DriftFound> => {
  const { nodeId, generation, observedGeneration, items } = command.data;
  // Log-side items already recorded (a link the log still holds) are not found again.
  const fresh = items.filter(
    (i) =>
      i.linkId === undefined ||
      !state.items.some((k) => k.kind === i.kind && k.linkId === i.linkId),
  );
  // one record per generation the node observed: the repair that follows gives it a new one
  if (fresh.length === 0 || observedGeneration <= state.observedGeneration) return nothing();
  return accept([
    {
      id: `drift:${nodeId}:g${generation}`,
      event: { type: 'DriftFound', data: { nodeId, observedGeneration, items } },
    },
  ]);
};

export const evolveDrift = (state: DriftState, event: FleetRecordedEvent): DriftState => {
  switch (event.type) {
    case 'DriftFound':
      return {
        items: event.data.items,
        observedGeneration: event.data.observedGeneration,
        eventId: event.id,
      };
    default:
      return state;
  }
};

export const driftDecider: Decider<DriftState, RecordDrift, DriftFound> = {
  initialState: initialDriftState,
  decide: decideDrift,
  evolve: evolveDrift,
};
