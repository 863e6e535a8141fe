export * from './program-store.port.js';
export { openFileProgramStore } from './file-program-store.js';
export { DEFAULT_PROGRAM_BUCKET, openNatsProgramStore } from './nats-program-store.js';
export type { NatsProgramStoreOptions } from './nats-program-store.js';
