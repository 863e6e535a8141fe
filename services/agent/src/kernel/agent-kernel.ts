/**
 * The agent's handle on its kernel: the `KernelDriver` port. The driver itself exposes the model
 * state (`state()`) and the modules' BTF object ids (`modules()`): the agent keeps no copy.
 */
import type { KernelOp, KernelState } from '@tramway/shared/kernel';
import type { KernelDriver } from '../kernel-driver/index.js';

export interface AgentKernel {
  readonly driver: KernelDriver;
  /** the driver's model state (`driver.state()`), kept for callers that hand it on */
  readonly state: () => KernelState | undefined;
}

/** The handle on `driver`. */
export const agentKernel = (driver: KernelDriver): AgentKernel => ({
  driver,
  state: () => driver.state(),
});

/** Wraps a driver so that each operation the kernel accepted is handed to `record` (the op log). */
export const recordingDriver = (
  driver: KernelDriver,
  record: (op: KernelOp) => void,
): KernelDriver => ({
  describe: () => driver.describe(),
  resolve: (patterns, program) => driver.resolve(patterns, program),
  dump: () => driver.dump(),
  modules: () => driver.modules(),
  state: () => driver.state(),
  ...(driver.outlivesProcess === true ? { outlivesProcess: true } : {}),
  close: () => driver.close(),
  apply: async (op) => {
    const outcome = await driver.apply(op);
    if (outcome.ok) record(op);
    return outcome;
  },
});
