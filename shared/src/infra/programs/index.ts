export * from './program-store.port.js';
export { openFileProgramStore } from './file-program-store.js';
export { DEFAULT_PROGRAM_BUCKET, nodeProgramReadAllow } from './program-bucket.js';
export {
  connectNatsProgramSource,
  connectNatsProgramStore,
  natsProgramSource,
  openNatsProgramStore,
} from './nats-program-store.js';
export type { NatsProgramStoreOptions } from './nats-program-store.js';
