import { formatAttachName } from '../../lib/kernel-vocabulary.js';
import type { MultiLinkProfile } from '../../lib/kernel-vocabulary.js';
import type { BtfObject } from '../../lib/btf-model.js';
import type { KernelState } from '../../kernel/index.js';
import type { FunctionPattern, PatternMatch } from '../../btf/index.js';
import { matchFunctionPatterns, parseFunctionPattern } from '../../btf/index.js';
import type { TargetVerdict } from './pattern-resolution.js';
import { resolveFunctionPatterns } from './pattern-resolution.js';
import type { AttachStrategy, Policy, PolicyAttach } from '../policy/policy.types.js';
import type { NodePlan, PlanCounts, PlanPath, PlannedTarget } from './node-plan.types.js';

/**
 * The rung of the fallback ladder (ARCHITECTURE.md, "The kernel driver") a policy uses on a node:
 * - `per-function` strategy: one program and link per function, everywhere;
 * - `auto`: the tracing multi-link when the node has it for this attach type, else per-function;
 * - `multi`: the tracing multi-link or nothing (`none`).
 * V26 has no MODIFY_RETURN_MULTI (spec §1.1), so fmod_ret is per-function there under `auto`.
 */
export const choosePath = (
  profile: MultiLinkProfile,
  strategy: AttachStrategy,
  attach: PolicyAttach = 'fentry',
): 'tracing-multi' | 'fentry-per-function' | 'none' => {
  if (strategy === 'per-function') return 'fentry-per-function';
  const multi = profile === 'v24' || (profile === 'v26' && attach !== 'fmod_ret');
  if (multi) return 'tracing-multi';
  return strategy === 'auto' ? 'fentry-per-function' : 'none';
};

export interface PlanContext {
  readonly nodeId: string;
  readonly policyVersion: number;
  /**
   * The best attach path the node's feature probe found (`KernelDescription.attachPath`);
   * default `tracing-multi` (the model's profile decides). `kprobe-multi` or `none`: the node
   * has no BTF trampolines.
   */
  readonly path?: PlanPath;
  /**
   * Links the node's kernel holds on a function that the model state does not know, by
   * `<BTF object name>:<BTF id>`: other tools' programs, and everything a real kernel (the `bpf`
   * driver, whose model holds no links) has. They count against the trampoline's budget.
   */
  readonly occupied?: ReadonlyMap<string, number>;
}

/**
 * The path a plan of `policy` takes on this kernel: the probed path (`ctx.path`, default
 * `tracing-multi`) narrowed by the policy's strategy and attach type (`choosePath`), and the
 * multi-link profile that choice was made with.
 */
export const planPathOf = (
  kernel: KernelState,
  policy: Policy,
  ctx: Pick<PlanContext, 'path'>,
): { readonly path: PlanPath; readonly profile: MultiLinkProfile } => {
  const { program, strategy } = policy.spec;
  const probed = ctx.path ?? 'tracing-multi';
  const trampolines = probed === 'tracing-multi' || probed === 'fentry-per-function';
  const profile: MultiLinkProfile = probed === 'tracing-multi' ? kernel.profile : 'none';
  return { path: trampolines ? choosePath(profile, strategy, program.attach) : probed, profile };
};

/** `fentry` + `.multi` + `.s`: the attach type as in SEC(), what the kernel model loads. */
const secAttach = (kind: PolicyAttach, multi: boolean, sleepable: boolean): string =>
  formatAttachName({ kind, multi, sleepable });

const keyOf = (object: string, btfId: number): string => `${object}\0${btfId}`;

/** Loaded BTF objects by name, with their object ids (a module only while `live`). */
export const loadedObjects = (kernel: KernelState): Map<string, number> => {
  const loaded = new Map<string, number>();
  for (const [objId, index] of kernel.btfs) {
    const tpl = kernel.templates[index];
    if (tpl === undefined) continue;
    if (tpl.kind === 'module') {
      const mod = kernel.modules.get(tpl.name);
      if (mod?.state !== 'live' || mod.objId !== objId) continue;
    }
    loaded.set(tpl.name, objId);
  }
  return loaded;
};

/** Connections per trampoline, by `objId:btfId` (fsession counts on both lists, spec §3.4). */
const trampolineUse = (kernel: KernelState): Map<string, number> => {
  const used = new Map<string, number>();
  for (const t of kernel.tramps.values())
    used.set(`${t.objId}:${t.btfId}`, t.fentry.length + t.fexit.length + t.fmodRet.length);
  return used;
};

const countOf = (targets: readonly PlannedTarget[]): PlanCounts => ({
  attach: targets.filter((t) => t.status === 'attach').length,
  pending: targets.filter((t) => t.status === 'pending').length,
  rejected: targets.filter((t) => t.status === 'rejected').length,
  trampolineFull: targets.filter((t) => t.status === 'trampoline-full').length,
});

/**
 * The node's plan for a policy version (docs/fleet-protocol.md, "Plans"), pure: every function a
 * pattern matches in the node's BTF (vmlinux and every declared module), in pattern order, with
 * - `pending` when its module is not loaded (the agent attaches it when the module loads);
 * - the kernel model's verdict (`checkTarget` through `resolveFunctionPatterns`) for the path
 *   chosen by `choosePath`: `attach`, `trampoline-full` (E2BIG, spec §3.4), or `rejected` with
 *   errno and reason;
 * - the headroom of the function's trampoline: budget (`maxTrampLinks`, 38) minus the links
 *   already on it, this node's other policies and older versions included (make-before-break
 *   attaches the new version before releasing the old, so both count).
 * V24 multi without `program.origin`: the first target that passes the single-target checks is
 * the origin, so one unattachable first match does not fail the load. An origin in a module
 * that is not loaded counts as none until the module loads (libbpf takes the first symbol,
 * spec §5.1): the program is loaded against a function that is there.
 * The kernel model has no kprobe_multi: on a node whose best path is `kprobe-multi` every
 * loaded target is `rejected` (EOPNOTSUPP) and the plan says so.
 */
export const planNode = (kernel: KernelState, policy: Policy, ctx: PlanContext): NodePlan => {
  const { program, targets: policyTargets, strategy } = policy.spec;
  const patterns: FunctionPattern[] = [];
  for (const t of policyTargets) {
    const parsed = parseFunctionPattern(t.pattern);
    if (parsed.ok) patterns.push(parsed.value);
  }
  const cookieOf = new Map(policyTargets.map((t) => [t.pattern, t.cookie ?? '0']));
  const objects: BtfObject[] = kernel.templates.map((t) => t.view.btf);
  const { matches, unmatched } = matchFunctionPatterns(objects, patterns);

  const { path, profile } = planPathOf(kernel, policy, ctx);

  const loaded = loadedObjects(kernel);
  const used = trampolineUse(kernel);
  const budget = kernel.limits.maxTrampLinks;
  const verdicts = new Map<string, TargetVerdict>();
  if (path === 'tracing-multi' || path === 'fentry-per-function') {
    const loadedBtfs = objects.filter((o) => loaded.has(o.name));
    const multi = path === 'tracing-multi';
    const attach = secAttach(program.attach, multi, program.sleepable);
    const reads = program.reads;
    const resolve = (origin: string | undefined) =>
      resolveFunctionPatterns(kernel, loadedBtfs, patterns, {
        attach,
        reads,
        ...(origin === undefined ? {} : { origin }),
      });
    const colon = program.origin?.indexOf(':') ?? -1;
    const originObject = colon < 0 ? undefined : program.origin?.slice(0, colon);
    const origin =
      originObject === undefined || loaded.has(originObject) ? program.origin : undefined;
    let resolution = resolve(origin);
    if (multi && kernel.profile === 'v24' && origin === undefined) {
      const load = resolution.loads[0];
      if (load !== undefined && !load.ok) {
        const single = resolveFunctionPatterns(kernel, loadedBtfs, patterns, {
          attach: secAttach(program.attach, false, program.sleepable),
          reads,
        });
        const first = single.targets.find((v) => v.ok);
        if (first !== undefined) resolution = resolve(`${first.object}:${first.name}`);
      }
    }
    for (const v of resolution.targets) verdicts.set(keyOf(v.object, v.btfId), v);
  }

  const notAttachableReason =
    path === 'none'
      ? `strategy ${strategy}: this node has no tracing multi-link for ${program.attach} (profile ${profile})`
      : `this node's best attach path is ${path}, which the kernel model does not simulate`;

  const planned: PlannedTarget[] = matches.map((m: PatternMatch): PlannedTarget => {
    const module =
      objects.find((o) => o.name === m.object)?.kind === 'module' ? m.object : undefined;
    const base = {
      function: m.name,
      ...(module === undefined ? {} : { module }),
      cookie: cookieOf.get(m.pattern) ?? '0',
    };
    const objId = loaded.get(m.object);
    if (objId === undefined) return { ...base, btfId: m.btfId, status: 'pending' };
    const others = ctx.occupied?.get(`${m.object}:${m.btfId}`) ?? 0;
    const headroom = budget - (used.get(`${objId}:${m.btfId}`) ?? 0) - others;
    const at = { ...base, objId, btfId: m.btfId, headroom };
    const v = verdicts.get(keyOf(m.object, m.btfId));
    if (v === undefined)
      return { ...at, status: 'rejected', errno: 'EOPNOTSUPP', reason: notAttachableReason };
    if (v.ok && others > 0 && headroom <= 0)
      return {
        ...at,
        status: 'trampoline-full',
        errno: 'E2BIG',
        reason: `the trampoline's budget of ${budget} links is used up (${others} held by programs the plan does not own)`,
      };
    if (v.ok) return { ...at, status: 'attach' };
    return {
      ...at,
      status: v.errno === 'E2BIG' && headroom <= 0 ? 'trampoline-full' : 'rejected',
      errno: v.errno,
      reason: v.reason,
    };
  });

  return {
    nodeId: ctx.nodeId,
    policy: policy.metadata.name,
    policyVersion: ctx.policyVersion,
    path,
    targets: planned,
    unmatched,
    counts: countOf(planned),
  };
};
