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
