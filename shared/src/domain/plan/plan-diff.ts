/**
 * What a plan changes on one node against what the node runs (docs/fleet-protocol.md, "plan"):
 * the functions the plan would attach that are not attached now (added), those attached now
 * that it would not attach (removed), and those in both (unchanged). A function of a module is
 * named `module:function`. Each list is sorted and bounded; its count is the whole.
 */

/** Names kept per list of a diff (the count says how many there are). */
export const PLAN_DIFF_NAMES = 50;

export interface FunctionList {
  readonly count: number;
  /** the first `PLAN_DIFF_NAMES` names, sorted */
  readonly names: readonly string[];
}

export interface NodePlanDiff {
  readonly nodeId: string;
  /** false: the policy no longer selects the node, which releases what it runs */
  readonly selected: boolean;
  readonly added: FunctionList;
  readonly removed: FunctionList;
  readonly unchanged: FunctionList;
}

/** `module:function`, or the function alone for vmlinux. */
export const functionKey = (fn: { readonly function: string; readonly module?: string }): string =>
  fn.module === undefined || fn.module === '' || fn.module === 'vmlinux'
    ? fn.function
    : `${fn.module}:${fn.function}`;

const listOf = (names: readonly string[], limit: number): FunctionList => {
  const sorted = [...names].sort();
  return { count: sorted.length, names: sorted.slice(0, limit) };
};

/** The diff of one node: `running` now, `planned` by the plan (either may repeat names). */
export const diffNodePlan = (input: {
  readonly nodeId: string;
  readonly selected: boolean;
  readonly running: Iterable<string>;
  readonly planned: Iterable<string>;
  readonly limit?: number;
}): NodePlanDiff => {
  const limit = input.limit ?? PLAN_DIFF_NAMES;
  const running = new Set(input.running);
  const planned = new Set(input.planned);
  return {
    nodeId: input.nodeId,
    selected: input.selected,
    added: listOf(
      [...planned].filter((f) => !running.has(f)),
      limit,
    ),
    removed: listOf(
      [...running].filter((f) => !planned.has(f)),
      limit,
    ),
    unchanged: listOf(
      [...planned].filter((f) => running.has(f)),
      limit,
    ),
  };
};
