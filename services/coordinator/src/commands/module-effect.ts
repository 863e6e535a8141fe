/**
 * What loading or unloading a module did on a node, from the log's view of it (the fleet
 * projection) before the request and once the agent's facts are folded: the functions attached
 * and released per policy, those the kernel refused, and those still waiting for a module.
 * Pure: two node views in, the effect out (`tramway node module load` shows it).
 */
import type { NodeView } from '@tramway/shared/projections';

export interface FunctionsOfPolicy {
  /** null: a link no policy owns */
  readonly policy: string | null;
  readonly functions: readonly string[];
}

export interface ModuleEffect {
  readonly module: string;
  readonly action: 'load' | 'unload';
  /** whether the log shows the module loaded after the request */
  readonly moduleLoaded: boolean;
  /** connections the node holds now and did not before, per policy */
  readonly attached: readonly FunctionsOfPolicy[];
  /** connections the node held before and no longer does, per policy */
  readonly released: readonly FunctionsOfPolicy[];
  /** functions refused at this pass that were not before (errno and reason of the kernel) */
  readonly failed: readonly {
    readonly policy: string;
    readonly function: string;
    readonly errno: number;
    readonly reason: string;
  }[];
  /** functions still waiting for a module after the pass */
  readonly pending: readonly {
    readonly policy: string;
    readonly function: string;
    readonly module: string;
  }[];
}

type NodeLike = Pick<NodeView, 'links' | 'modules' | 'reconciled'>;

const connectionsOf = (node: NodeLike | undefined): Map<string, FunctionsOfPolicy> => {
  const keys = new Map<string, FunctionsOfPolicy>();
  for (const link of Object.values(node?.links ?? {}))
    for (const c of link.connections) {
      const fn = c.module === undefined ? c.function : `${c.module}:${c.function}`;
      keys.set(JSON.stringify([link.policy, fn]), { policy: link.policy, functions: [fn] });
    }
  return keys;
};

/** `a` minus `b`, grouped by policy, functions sorted. */
const minus = (
  a: Map<string, FunctionsOfPolicy>,
  b: Map<string, FunctionsOfPolicy>,
): FunctionsOfPolicy[] => {
  const byPolicy = new Map<string | null, string[]>();
  for (const [key, entry] of a) {
    if (b.has(key)) continue;
    const list = byPolicy.get(entry.policy) ?? [];
    list.push(...entry.functions);
    byPolicy.set(entry.policy, list);
  }
  return [...byPolicy]
    .map(([policy, functions]) => ({ policy, functions: [...new Set(functions)].sort() }))
    .sort((x, y) => String(x.policy).localeCompare(String(y.policy)));
};

export const moduleEffect = (
  module: string,
  action: 'load' | 'unload',
  before: NodeLike | undefined,
  after: NodeLike | undefined,
): ModuleEffect => {
  const was = connectionsOf(before);
  const now = connectionsOf(after);
  const refusedBefore = new Set(
    Object.values(before?.reconciled ?? {}).flatMap((o) =>
      o.rejected.map((r) => JSON.stringify([o.policy, r.function, r.errno])),
    ),
  );
  return {
    module,
    action,
    moduleLoaded: Object.hasOwn(after?.modules ?? {}, module),
    attached: minus(now, was),
    released: minus(was, now),
    failed: Object.values(after?.reconciled ?? {}).flatMap((o) =>
      o.rejected
        .filter((r) => !refusedBefore.has(JSON.stringify([o.policy, r.function, r.errno])))
        .map((r) => ({ policy: o.policy, function: r.function, errno: r.errno, reason: r.reason })),
    ),
    pending: Object.values(after?.reconciled ?? {}).flatMap((o) =>
      o.pending.map((p) => ({ policy: o.policy, function: p.function, module: p.module })),
    ),
  };
};

/**
 * Whether the log has caught up with what the agent says it holds after the request: the module
 * in the state the action leaves it, and exactly the links the agent holds (ids).
 */
export const reported = (
  module: string,
  action: 'load' | 'unload',
  node: NodeLike | undefined,
  held: { readonly links: readonly { readonly linkId: number }[] },
): boolean => {
  if (!node) return false;
  if (Object.hasOwn(node.modules, module) !== (action === 'load')) return false;
  const logged = new Set(Object.values(node.links).map((l) => l.linkId));
  return logged.size === held.links.length && held.links.every((l) => logged.has(l.linkId));
};
