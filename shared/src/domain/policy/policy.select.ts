import type { Policy, WaveSize } from './policy.types.js';

/** What selection needs to know about a node. */
export interface SelectableNode {
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The nodes a policy targets: those carrying every `nodeSelector.matchLabels` label with that
 * value (every node when there is no selector), sorted by node id.
 */
export const selectNodes = <N extends SelectableNode>(
  policy: Policy,
  nodes: readonly N[],
): readonly N[] => {
  const wanted = Object.entries(policy.spec.nodeSelector?.matchLabels ?? {});
  return nodes
    .filter((n) =>
      wanted.every(([key, value]) => Object.hasOwn(n.labels, key) && n.labels[key] === value),
    )
    .sort((a, b) => byId(a.nodeId, b.nodeId));
};

/** The cumulative number of nodes a wave size stands for among `total` (percentages round up). */
export const waveTarget = (size: WaveSize, total: number): number =>
  typeof size === 'number'
    ? Math.min(size, total)
    : Math.ceil((total * Number(size.slice(0, -1))) / 100);

/**
 * Splits the nodes into waves: wave sizes are cumulative (`[1, "10%", "100%"]` = the first node,
 * then up to 10% of them, then the rest), over the node ids sorted, so the split is the same on
 * every replay. A wave that would add no node (10% of 5 nodes after a first wave of 1) is left
 * out; a count larger than the number of nodes is capped. Validation guarantees the last size is
 * "100%"; should it not be, the remaining nodes form one last wave, so every node is covered.
 */
export const expandWaves = (
  waves: readonly WaveSize[],
  nodeIds: readonly string[],
): readonly (readonly string[])[] => {
  const sorted = [...new Set(nodeIds)].sort(byId);
  const result: string[][] = [];
  let done = 0;
  for (const size of [...waves, '100%' as const]) {
    const upTo = Math.max(done, waveTarget(size, sorted.length));
    if (upTo > done) result.push(sorted.slice(done, upTo));
    done = upTo;
  }
  return result;
};
