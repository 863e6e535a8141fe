export type {
  ApplyContext,
  DriverModule,
  DriverOutcome,
  KernelDescription,
  KernelDriver,
} from './kernel-driver.port.js';
export type { SimKernelOptions } from './sim-kernel.driver.js';
export {
  createModelKernelDriver,
  createSimKernelDriver,
  createSimKernelDriverFromSpec,
} from './sim-kernel.driver.js';
export type { HostKernelDriverOptions } from './host-kernel.driver.js';
export { createHostKernelDriver } from './host-kernel.driver.js';
export type {
  BpfKernelDriver,
  BpfKernelDriverOptions,
  ProgramCode,
  ProgramSource,
} from './bpf/bpf-kernel.driver.js';
export { createBpfKernelDriver } from './bpf/bpf-kernel.driver.js';
export { cookieCounter, cookieCounterMap, countOf, watchCookie } from './bpf/bpf-programs.js';
