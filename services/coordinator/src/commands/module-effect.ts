/**
 * What loading or unloading a module did on a node, from the log's view of it (the fleet
 * projection) before the request and once the agent's facts are folded: the functions attached
 * and released per policy, those the kernel refused, and those still waiting for a module.
 * Pure: two node views in, the effect out (`tramway node module load` shows it).
 */
import type { FunctionsOfPolicy, ModuleEffect } from '@tramway/shared/contracts';
import type { NodeView } from '@tramway/shared/projections';

export type { FunctionsOfPolicy, ModuleEffect };

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
