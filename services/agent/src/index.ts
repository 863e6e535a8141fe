export type { Agent, AgentDeps, AgentClock, AgentIds, NodeActualState } from './app.js';
export { createAgent } from './app.js';
export type { Logger as AgentLogger, LogRecord } from '@tramway/shared/infra';
export { createMemoryLogger, createPinoLogger, silentLogger } from '@tramway/shared/infra';
export type { AgentKernel } from './kernel/agent-kernel.js';
export { agentKernel } from './kernel/agent-kernel.js';
export type { SimKernelOptions } from './kernel-driver/index.js';
export {
  createSimKernel,
  loadSimKernelFile,
  parseKernelSpec,
  parseSimKernelFile,
} from './kernel/sim-kernel.loader.js';
export type { AgentStateStore, PersistedAgentState } from './state/agent-state.store.js';
export {
  createFileStateStore,
  createMemoryStateStore,
  rebootSimNode,
} from './state/agent-state.store.js';
export type { AgentAssignment, AgentPolicySpec, HeldLink } from './reconcile/agent-policy.js';
export type { HeldPlan } from './reconcile/agent-plans.js';
export { DEFAULT_SIM_KERNEL, loadConfig } from './config.js';
export type { ProgramSource } from './reconcile/program-objects.js';
