export * from './errors.js';
export type * from './event-store/event-store.port.js';
export * from './event-store/sqlite-event-store.js';
export * from './sqlite/open-database.js';
export * from './sqlite/migrate-folder.js';
export * from './sqlite/sql-file-migration-provider.js';
export * from './event-store/jetstream-event-store.js';
export * from './nats/event-subject.js';
