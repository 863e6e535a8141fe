export * from './certificates.js';
export * from './security-dir.js';
export * from './nats-server-conf.js';
export * from './security-layout.js';
