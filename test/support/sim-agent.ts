import type { FleetBus } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { Agent } from '../../services/agent/src/index.js';
import { createAgent, createSimKernel } from '../../services/agent/src/index.js';
import { testAssignmentKeys } from './assignment-keys.js';

export interface SimAgentOptions {
  readonly nodeId: string;
  readonly bus: FleetBus;
  readonly spec: KernelSpec;
  readonly heartbeatMs: number;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Starts a real agent on a simulated kernel built from `spec`; throws when it cannot start. */
export const startSimAgent = async (options: SimAgentOptions): Promise<Agent> => {
  const kernel = createSimKernel(options.spec);
  if (!kernel.ok) throw new Error(kernel.error.join('\n'));
  let n = 0;
  const agent = createAgent({
    nodeId: options.nodeId,
    labels: options.labels ?? { role: 'web' },
    bus: options.bus,
    driver: kernel.value.driver,
    clock: { now: () => new Date() },
    ids: { newId: () => `${options.nodeId}-${++n}` },
    heartbeatMs: options.heartbeatMs,
    requestTimeoutMs: 1000,
    assignmentVerifyKey: testAssignmentKeys().publicKey,
  });
  const error = await agent.start();
  if (error) throw error;
  return agent;
};
