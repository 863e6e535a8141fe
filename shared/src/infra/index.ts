export * from './errors.js';
export type * from './event-store/event-store.port.js';
export * from './event-store/sqlite-event-store.js';
export * from './sqlite/open-database.js';
export * from './sqlite/migrate-folder.js';
export * from './sqlite/sql-file-migration-provider.js';
export * from './read-model/fleet-read-model.js';
export type * from './read-model/read-model.tables.js';
export * from './audit/index.js';
export * from './event-store/jetstream-event-store.js';
export * from './nats/event-subject.js';
export * from './bus/fleet-bus.port.js';
export { createInProcessBus } from './bus/in-process-bus.js';
export { createNatsBus, connectNatsBus } from './bus/nats-bus.js';
export type { NatsBusOptions } from './bus/nats-bus.js';
export {
  DEFAULT_DURABLE_STREAM,
  clusterReplicas,
  ensureDurableStream,
} from './bus/nats-durable.js';
export type { DurableStreamOptions } from './bus/nats-durable.js';
export { subjectMatches } from './bus/subject-pattern.js';
export * from './host/index.js';
export * from './logger.js';
export * from './log-file.js';
export * from './service-exit.js';
export * from './durable-file.js';
export * from './security/assignment-keys.js';
export * from './security/security-layout.js';
export * from './nats/nats-connection.js';
export * from './programs/index.js';
