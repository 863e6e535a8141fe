import type { KernelState } from '../../kernel/index.js';
import type { Policy } from '../policy/policy.types.js';
import type { PlanContext } from './node-plan.js';
import { loadedObjects, planPathOf } from './node-plan.js';
import type { RecordedPlan } from './node-plan.types.js';

/** At most this many changes are named in full; the rest are counted. */
const NAMED_CHANGES = 3;

/** True when BTF id `btfId` of the loaded object `objId` is the function `name`. */
const namesFunction = (
  kernel: KernelState,
  objId: number,
  btfId: number,
  name: string,
): boolean => {
  const index = kernel.btfs.get(objId);
  const btf = index === undefined ? undefined : kernel.templates[index]?.view.btf;
  const type = btf?.types[btfId - btf.firstTypeId];
  return type?.kind === 'func' && type.name === name;
};

/**
 * What changed in the kernel under a recorded plan since it was made, as reasons an operator
 * can read (`module nf_tables loaded`, `vmlinux BTF object id 1 -> 7`,
 * `BTF id 20104 of vmlinux is no longer tcp_sendmsg`, `attach path tracing-multi ->
 * fentry-per-function`); empty when the plan still holds. Cheap: object ids and BTF ids are
 * looked up, no pattern is matched again. Checked per target:
 * - `pending`: its module is still not loaded;
 * - the others: their object (vmlinux or a live module) still has the object id of the plan,
 *   and the BTF id still names the function there;
 * and the plan's path is still the one `planNode` would take.
 * A change that would only show in a new match of a pattern (a function added to the BTF) is
 * seen through the BTF ids and object ids of the functions the plan did match, or not at all.
 */
export const planChanges = (
  kernel: KernelState,
  policy: Policy,
  plan: RecordedPlan,
  ctx: Pick<PlanContext, 'path'>,
): readonly string[] => {
  const loaded = loadedObjects(kernel);
  const changes = new Set<string>();
  const path = planPathOf(kernel, policy, ctx).path;
  if (path !== plan.path) changes.add(`attach path ${plan.path} -> ${path}`);
  for (const t of plan.targets) {
    const object = t.module ?? 'vmlinux';
    const label = t.module === undefined ? 'vmlinux' : `module ${t.module}`;
    const now = loaded.get(object);
    if (t.status === 'pending' || t.objId === undefined) {
      if (now !== undefined) changes.add(`${label} loaded`);
      continue;
    }
    if (now === undefined) changes.add(`${label} unloaded`);
    else if (now !== t.objId) changes.add(`${label} BTF object id ${t.objId} -> ${now}`);
    else if (t.btfId !== undefined && !namesFunction(kernel, now, t.btfId, t.function))
      changes.add(`BTF id ${t.btfId} of ${object} is no longer ${t.function}`);
  }
  const all = [...changes];
  return all.length <= NAMED_CHANGES + 1
    ? all
    : [...all.slice(0, NAMED_CHANGES), `${all.length - NAMED_CHANGES} more changes`];
};
