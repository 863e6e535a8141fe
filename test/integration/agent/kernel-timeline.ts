import { applyOp, buildKernel, dumpState } from '../../../shared/src/kernel/index.js';
import type { KernelOp, KernelSpec } from '../../../shared/src/kernel/index.js';

/**
 * Replays a sim node's op log on a fresh kernel and returns, after every operation, the
 * functions on which a program named `program` is connected: the make-before-break witness.
 */
export const coverageTimeline = (
  spec: KernelSpec,
  ops: readonly KernelOp[],
  program: string,
): { op: string; covered: ReadonlySet<string> }[] => {
  const built = buildKernel(spec);
  if (!built.ok) throw new Error('bad spec');
  let state = built.value;
  return ops.map((op) => {
    const outcome = applyOp(state, op);
    if (outcome.ok) state = outcome.state;
    const covered = new Set(
      dumpState(state)
        .trampolines.filter((t) =>
          [...t.fentry, ...t.fexit, ...t.fmodRet].some((c) => c.prog === program),
        )
        .map((t) => `${t.object}:${t.function}`),
    );
    return { op: op.op, covered };
  });
};
