/**
 * The agent's handle on its kernel: the `KernelDriver` port, plus (when the driver runs the pure
 * model) a mirror of the model's state, which `planNode` and the module BTF object ids need and
 * the port does not expose.
 */
import type { KernelOp, KernelState } from '@tramway/shared/kernel';
import { applyOp } from '@tramway/shared/kernel';
import type { KernelDriver } from '../kernel-driver/index.js';

export interface AgentKernel {
  readonly driver: KernelDriver;
  /** the model state after the last successful operation; absent when the driver is not the model */
  readonly state?: () => KernelState;
}

/**
 * Wraps a model driver so that every successful operation is also applied to a mirror of the
 * state it started from. `initial` must be the state the driver was built with.
 */
export const mirrorKernel = (driver: KernelDriver, initial: KernelState): AgentKernel => {
  let state = initial;
  return {
    state: () => state,
    driver: {
      describe: () => driver.describe(),
      resolve: (patterns, program) => driver.resolve(patterns, program),
      dump: () => driver.dump(),
      close: () => driver.close(),
      apply: async (op: KernelOp) => {
        const outcome = await driver.apply(op);
        if (outcome.ok) {
          const mirrored = applyOp(state, op);
          if (mirrored.ok) state = mirrored.state;
        }
        return outcome;
      },
    },
  };
};

/** Wraps a driver so that each operation the kernel accepted is handed to `record` (the op log). */
export const recordingDriver = (
  driver: KernelDriver,
  record: (op: KernelOp) => void,
): KernelDriver => ({
  describe: () => driver.describe(),
  resolve: (patterns, program) => driver.resolve(patterns, program),
  dump: () => driver.dump(),
  close: () => driver.close(),
  apply: async (op) => {
    const outcome = await driver.apply(op);
    if (outcome.ok) record(op);
    return outcome;
  },
});
