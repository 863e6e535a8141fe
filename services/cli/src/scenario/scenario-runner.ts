/**
 * Runs a validated scenario against the pure kernel model and builds the output document of
 * kernel-scenarios.md ("Output"). Pure: no I/O, no clock; the same scenario always yields the
 * same document.
 */
import type {
  KernelOp,
  KernelSpec,
  KernelState,
  OpOutcome,
  SpecProblem,
} from '@tramway/shared/kernel';
import { applyOp, buildKernel, dumpState } from '@tramway/shared/kernel';
import type { Result } from '@tramway/shared/lib';
import { err, ok } from '@tramway/shared/lib';
import type { Scenario, ScenarioProfile, ScenarioStep } from './scenario.types.js';

/** One entry of the document's `steps`. */
export interface StepReport {
  readonly index: number;
  readonly op: ScenarioStep['op'];
  readonly ok: boolean;
  readonly errno: string | null;
  readonly value: unknown;
}

/** The output document of one scenario file. Values may hold bigints (see `toJson`). */
export interface ScenarioDocument {
  readonly name: string;
  readonly profile: ScenarioProfile;
  readonly steps: readonly StepReport[];
  readonly expectations: { readonly checked: number; readonly failed: number };
}

/** A step whose `expect` did not hold, with the kernel's reason when it refused. */
export interface ExpectationFailure {
  readonly index: number;
  readonly expected: string;
  readonly actual: string;
  readonly reason: string | null;
}

export interface ScenarioRun {
  readonly document: ScenarioDocument;
  readonly failures: readonly ExpectationFailure[];
}

/**
 * The kernel id passed for a scenario id whose declaring step failed: kernel ids start at 1, so
 * the kernel does not know it and answers EBADF, as a real kernel does for a bad fd.
 */
const UNKNOWN_KERNEL_ID = 0;

const toKernelSpec = (scenario: Scenario): KernelSpec => ({
  profile: scenario.profile,
  ...(scenario.limits === undefined ? {} : { limits: scenario.limits }),
  types: scenario.types,
  objects: scenario.objects,
});

/**
 * Builds the kernel from the scenario's declarations and runs every step in order. Fails only
 * when the kernel model refuses the declarations (its problems carry field paths of the file).
 */
export const runScenario = (scenario: Scenario): Result<ScenarioRun, readonly SpecProblem[]> => {
  const built = buildKernel(toKernelSpec(scenario));
  if (!built.ok) return err(built.error);
  let state: KernelState = built.value;
  const kernelIds = new Map<string, number>();
  const idOf = (scenarioId: string): number => kernelIds.get(scenarioId) ?? UNKNOWN_KERNEL_ID;
  const steps: StepReport[] = [];
  const failures: ExpectationFailure[] = [];
  let checked = 0;

  scenario.steps.forEach((step, index) => {
    let outcome: OpOutcome | { ok: true; state: KernelState; value: unknown };
    if (step.op === 'state') {
      outcome = { ok: true, state, value: dumpState(state) };
    } else {
      outcome = applyOp(state, toKernelOp(step, idOf));
    }
    state = outcome.state;
    if (outcome.ok && step.op === 'prog_load') {
      kernelIds.set(step.id, (outcome.value as { progId: number }).progId);
    }
    if (outcome.ok && step.op === 'link_create') {
      kernelIds.set(step.id, (outcome.value as { linkId: number }).linkId);
    }
    const errno = outcome.ok ? null : outcome.errno;
    steps.push({
      index,
      op: step.op,
      ok: outcome.ok,
      errno,
      value: outcome.ok ? outcome.value : null,
    });
    if (step.expect === undefined) return;
    checked += 1;
    const actual = errno ?? 'ok';
    if (actual !== step.expect) {
      failures.push({
        index,
        expected: step.expect,
        actual,
        reason: outcome.ok ? null : outcome.reason,
      });
    }
  });

  return ok({
    document: {
      name: scenario.name,
      profile: scenario.profile,
      steps,
      expectations: { checked, failed: failures.length },
    },
    failures,
  });
};

const toKernelOp = (
  step: Exclude<ScenarioStep, { op: 'state' }>,
  idOf: (scenarioId: string) => number,
): KernelOp => {
  switch (step.op) {
    case 'prog_load':
      return {
        op: 'prog_load',
        name: step.id,
        attach: step.attach,
        ...(step.origin === undefined ? {} : { origin: step.origin }),
        ...(step.object === undefined ? {} : { object: step.object }),
        ...(step.reads === undefined ? {} : { reads: step.reads }),
        ...(step.ctxReads === undefined ? {} : { ctxReads: step.ctxReads }),
        ...(step.returns === undefined ? {} : { returns: step.returns }),
      };
    case 'prog_release':
      return { op: 'prog_release', prog: idOf(step.prog) };
    case 'link_create':
      return {
        op: 'link_create',
        prog: idOf(step.prog),
        targets: step.targets,
        ...(step.cookies === undefined ? {} : { cookies: step.cookies }),
        ...(step.count === undefined ? {} : { count: step.count }),
      };
    case 'link_release':
    case 'link_pin':
    case 'link_unpin':
    case 'link_detach':
      return { op: step.op, link: idOf(step.link) };
    case 'fdinfo':
      return { op: 'fdinfo', link: idOf(step.link) };
    case 'link_update':
      return { op: 'link_update', link: idOf(step.link), prog: idOf(step.prog) };
    case 'module_load':
    case 'module_unload':
      return { op: step.op, module: step.module };
    case 'module_set_state':
      return { op: 'module_set_state', module: step.module, state: step.state };
    case 'trigger':
      return {
        op: 'trigger',
        function: step.function,
        ...(step.args === undefined ? {} : { args: step.args }),
        ...(step.returns === undefined ? {} : { returns: step.returns }),
      };
  }
};

/**
 * Serialises an output document. A bigint becomes a JSON number when it is a safe integer and a
 * decimal string otherwise, so u64 cookies survive exactly.
 */
export const toJson = (value: unknown, indent?: number): string =>
  JSON.stringify(
    value,
    (_key, v: unknown) =>
      typeof v === 'bigint'
        ? v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(v)
          : v.toString()
        : v,
    indent,
  );
