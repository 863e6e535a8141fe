/**
 * Reading the fleet log as the e2e tests judge it: the links live on each node at every position
 * (LinkCreated adds, LinkReleased removes, NodeBooted empties the node), and the generation at
 * which a node was assigned a policy version. Pure over a list of recorded events.
 */
import type { RecordedEvent } from '@tramway/shared/lib';

export interface LogLink {
  readonly nodeId: string;
  readonly linkId: number;
  readonly policy: string | undefined;
  readonly programName: string;
  readonly functions: readonly string[];
  readonly observedGeneration: number | undefined;
  /** index in the log of its LinkCreated */
  readonly createdAt: number;
}

interface LinkCreatedData {
  nodeId: string;
  linkId: number;
  programName: string;
  policy?: string;
  observedGeneration?: number;
  connections: { function: string; module?: string }[];
}

/** The data of an event, typed by the test's knowledge of its shape (docs/fleet-protocol.md). */
export const dataOf = <T>(e: RecordedEvent): T => e.data as T;

export const nodeOf = (e: RecordedEvent): string | undefined =>
  (e.data as { nodeId?: string } | null)?.nodeId;

export const ofType = (events: readonly RecordedEvent[], type: string, nodeId?: string) =>
  events.filter((e) => e.type === type && (nodeId === undefined || nodeOf(e) === nodeId));

const functionName = (c: { function: string; module?: string }): string =>
  c.module === undefined ? c.function : `${c.module}:${c.function}`;

export type LinkVisitor = (
  index: number,
  event: RecordedEvent,
  live: ReadonlyMap<string, ReadonlyMap<number, LogLink>>,
  released: LogLink | undefined,
) => void;

/**
 * Folds the log into the live links per node, calling `visit` after each event with the live
 * links (and, for a LinkReleased, the link it released). Returns the live links at the end.
 */
export const foldLinks = (
  events: readonly RecordedEvent[],
  visit?: LinkVisitor,
): Map<string, Map<number, LogLink>> => {
  const live = new Map<string, Map<number, LogLink>>();
  const nodeLinks = (nodeId: string): Map<number, LogLink> => {
    let m = live.get(nodeId);
    if (m === undefined) live.set(nodeId, (m = new Map()));
    return m;
  };
  events.forEach((e, index) => {
    let released: LogLink | undefined;
    if (e.type === 'LinkCreated') {
      const d = dataOf<LinkCreatedData>(e);
      nodeLinks(d.nodeId).set(d.linkId, {
        nodeId: d.nodeId,
        linkId: d.linkId,
        policy: d.policy,
        programName: d.programName,
        functions: d.connections.map(functionName),
        observedGeneration: d.observedGeneration,
        createdAt: index,
      });
    } else if (e.type === 'LinkReleased') {
      const d = dataOf<{ nodeId: string; linkId: number }>(e);
      released = nodeLinks(d.nodeId).get(d.linkId);
      nodeLinks(d.nodeId).delete(d.linkId);
    } else if (e.type === 'NodeBooted') {
      nodeLinks(dataOf<{ nodeId: string }>(e).nodeId).clear();
    }
    visit?.(index, e, live, released);
  });
  return live;
};

/** The functions a policy's live links of `nodeId` trace, sorted, with repeats. */
export const tracedFunctions = (
  live: ReadonlyMap<string, ReadonlyMap<number, LogLink>>,
  nodeId: string,
  policy: string,
): string[] =>
  [...(live.get(nodeId)?.values() ?? [])]
    .filter((l) => l.policy === policy)
    .flatMap((l) => l.functions)
    .sort();

/**
 * Every moment (log position) where a node had more than one live connection of the same policy
 * program on one function: "a link attached twice". Empty when none.
 */
export const doubleAttachments = (events: readonly RecordedEvent[]): string[] => {
  const problems: string[] = [];
  foldLinks(events, (index, e, live) => {
    if (e.type !== 'LinkCreated') return;
    const nodeId = nodeOf(e)!;
    const seen = new Set<string>();
    for (const l of live.get(nodeId)?.values() ?? [])
      for (const f of l.functions) {
        const key = `${l.policy}/${l.programName}/${f}`;
        if (seen.has(key)) problems.push(`#${index} ${nodeId}: ${key} attached twice`);
        seen.add(key);
      }
  });
  return problems;
};

/** The lowest generation at which `nodeId` was assigned `policy` at `version` (from AssignmentIssued). */
export const generationOfVersion = (
  events: readonly RecordedEvent[],
  nodeId: string,
  policy: string,
  version: number,
): number | undefined => {
  for (const e of ofType(events, 'AssignmentIssued', nodeId)) {
    const d = dataOf<{
      generation: number;
      links?: { policy: string; policyVersion: number }[];
      policies?: { name: string; version: number }[];
    }>(e);
    const has =
      (d.links ?? []).some((l) => l.policy === policy && l.policyVersion === version) ||
      (d.policies ?? []).some((p) => p.name === policy && p.version === version);
    if (has) return d.generation;
  }
  return undefined;
};
