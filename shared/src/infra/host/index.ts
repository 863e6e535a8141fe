export type {
  BadLine,
  ErrorInjectionEntry,
  KallsymsEntry,
  KallsymsTable,
  ModuleState,
  ProcModule,
  TraceableFunction,
} from './proc-text.parsers.js';
export {
  isTextSymbol,
  parseAvailableFilterFunctions,
  parseErrorInjectionList,
  parseKallsyms,
  parseProcModules,
} from './proc-text.parsers.js';
export type {
  HostBtfBlob,
  HostKernelFacts,
  HostReadOptions,
  HostUnreadable,
} from './host-kernel.reader.js';
export { HOST_PATHS, HostSource, readHostKernel } from './host-kernel.reader.js';
export type { HostBtf } from './host-btf.js';
export { parseHostBtf } from './host-btf.js';
export { hostKernelObjects } from './host-kernel-input.js';
