/**
 * Composition root (STYLE.md §6): config, logger, log store, bus, coordinator, signals. No logic.
 * Without NATS_URL the bus is in-process (only useful with in-process agents: see the embedded mode).
 */
import type { EventStore, FleetBus } from '@tramway/shared/infra';
import {
  ASSIGNMENT_SIGNING_KEY_FILE,
  assignmentKeyFile,
  loadAssignmentSigningKey,
  JetStreamEventStore,
  SqliteEventStore,
  connectNatsBus,
  createInProcessBus,
} from '@tramway/shared/infra';
import { join } from 'node:path';
import { createCoordinator } from './app.js';
import { registryAdmission } from './admission/registry-admission.js';
import { coordinatorNatsCredentials, loadConfig } from './config.js';
import { createJsonLogger } from '@tramway/shared/infra';

const main = async (): Promise<void> => {
  const config = loadConfig(process.env);
  const clock = { now: () => new Date() };
  const logger = createJsonLogger(
    config.LOG_LEVEL,
    (line) => process.stdout.write(`${line}\n`),
    clock.now,
  );
  const credentials = coordinatorNatsCredentials(config);
  if (config.NATS_URL !== undefined && credentials === undefined)
    logger.warn('NATS without an identity or TLS: set TRAMWAY_SECURITY_DIR (docs/security.md)', {
      nats: config.NATS_URL,
    });
  const signingKeyFile = assignmentKeyFile(
    config.TRAMWAY_ASSIGNMENT_SIGNING_KEY,
    config.TRAMWAY_SECURITY_DIR,
    ASSIGNMENT_SIGNING_KEY_FILE,
  );
  // a key named but unreadable stops the start (thrown, reported below)
  const assignmentSigningKey =
    signingKeyFile === undefined ? undefined : loadAssignmentSigningKey(signingKeyFile);
  const store: EventStore =
    config.STORE === 'jetstream'
      ? await JetStreamEventStore.open({ servers: config.NATS_URL!, credentials })
      : await SqliteEventStore.open({
          path: config.SQLITE_PATH,
          synchronous: config.SQLITE_SYNCHRONOUS,
        });
  const bus: FleetBus =
    config.NATS_URL === undefined
      ? createInProcessBus()
      : await connectNatsBus(config.NATS_URL, {
          name: 'tramway-coordinator',
          credentials,
          onServerError: (error) => logger.error('NATS server refused', { error: error.message }),
        });
  const app = createCoordinator({
    bus,
    store,
    clock,
    logger,
    auditReadModelPath:
      config.AUDIT_READ_MODEL ??
      (config.STORE === 'sqlite'
        ? config.SQLITE_PATH
        : join(config.DATA_DIR, 'audit-read-model.sqlite')),
    ...(assignmentSigningKey === undefined ? {} : { assignmentSigningKey }),
    http: {
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      allowedHosts: config.HTTP_ALLOWED_HOSTS,
      limits: {
        rate: { perSecond: config.HTTP_RATE_PER_SEC, burst: config.HTTP_RATE_BURST },
        authFailures: {
          perSecond: config.HTTP_AUTH_FAILURES_PER_SEC,
          burst: config.HTTP_AUTH_FAILURES_BURST,
        },
      },
      adminTokenFile: join(config.DATA_DIR, 'admin.token'),
      ...(config.TRAMWAY_API_TLS_CERT === undefined || config.TRAMWAY_API_TLS_KEY === undefined
        ? {}
        : {
            tls: {
              certFile: config.TRAMWAY_API_TLS_CERT,
              keyFile: config.TRAMWAY_API_TLS_KEY,
              ...(config.TRAMWAY_API_CLIENT_CA === undefined
                ? {}
                : { clientCaFile: config.TRAMWAY_API_CLIENT_CA }),
            },
          }),
    },
    options: {
      staleAfterMs: config.STALE_AFTER_MS,
      tickMs: config.TICK_MS,
      driftIntervalMs: config.DRIFT_INTERVAL_MS,
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      admission: registryAdmission(config.TRAMWAY_SECURITY_DIR, config.TRAMWAY_ADMISSION, logger),
    },
  });
  await app.start();
  logger.info('coordinator serving', {
    url: app.url,
    store: config.STORE,
    adminTokenFile: app.adminToken() === undefined ? null : join(config.DATA_DIR, 'admin.token'),
  });
  const shutdown = (): void => {
    void (async () => {
      const appError = await app.stop();
      await bus.close();
      const storeError = await store.close();
      const error = appError ?? storeError;
      if (error) logger.error('stopped with an error', { error: error.message });
      process.exitCode = error ? 1 : 0;
    })();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
};

main().catch((error: unknown) => {
  process.stderr.write(
    `tramway-coordinator: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
