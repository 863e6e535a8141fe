/**
 * Composition root (STYLE.md §6): config, logger, log store, bus, coordinator, signals. No logic.
 * Without NATS_URL the bus is in-process (only useful with in-process agents: see the embedded mode).
 * A start that fails (bad configuration, port taken, store or NATS unreachable) writes one fatal
 * line and exits at once, non-zero (README "Logs"): a restart policy sees it.
 */
import type { EventStore, FleetBus, ProgramStore, RootLogger } from '@tramway/shared/infra';
import {
  ASSIGNMENT_SIGNING_KEY_FILE,
  connectNatsProgramStore,
  openFileProgramStore,
  assignmentKeyFile,
  bootLogFormat,
  createServiceLogger,
  describeListenError,
  exitFatal,
  loadAssignmentSigningKey,
  JetStreamEventStore,
  ServiceExit,
  SqliteEventStore,
  connectNatsBus,
  createInProcessBus,
} from '@tramway/shared/infra';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCoordinator } from './app.js';
import type { Coordinator } from './app.js';
import { registryAdmission } from './admission/registry-admission.js';
import type { CoordinatorConfig } from './config.js';
import { InvalidConfigError, coordinatorNatsCredentials, loadConfig } from './config.js';

/** How long closing what a failed start opened may take before the process exits anyway. */
const CLOSE_ON_FAILURE_MS = 5000;

const SERVICE = { service: 'coordinator' } as const;

const errorText = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

const main = async (): Promise<void> => {
  let config: CoordinatorConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    const boot = await createServiceLogger(
      'info',
      bootLogFormat(process.env['TRAMWAY_LOG_FORMAT']),
    );
    return exitFatal(
      boot,
      error.message,
      { ...SERVICE, problems: error.problems },
      ServiceExit.BadConfig,
    );
  }
  const root = await createServiceLogger(config.LOG_LEVEL, config.TRAMWAY_LOG_FORMAT);
  // what the start opened, closed (newest first) when a later step fails
  const opened: (() => Promise<unknown>)[] = [];
  const failStart = async (
    msg: string,
    meta: Readonly<Record<string, unknown>>,
  ): Promise<never> => {
    root.fatal(msg, { ...SERVICE, ...meta });
    const closing = (async () => {
      for (const close of opened.reverse()) await close().catch(() => undefined);
    })();
    await Promise.race([closing, sleep(CLOSE_ON_FAILURE_MS, undefined, { ref: false })]);
    root.flush();
    return process.exit(ServiceExit.StartFailed);
  };
  try {
    await run(config, root, opened);
  } catch (error) {
    if ((error as { syscall?: unknown }).syscall === 'listen') {
      const { msg, meta } = describeListenError(
        'the coordinator API',
        config.HTTP_HOST,
        config.HTTP_PORT,
        error,
      );
      return failStart(`${msg} (set HTTP_HOST, HTTP_PORT)`, meta);
    }
    return failStart(`the coordinator did not start: ${errorText(error)}`, {});
  }
};

const run = async (
  config: CoordinatorConfig,
  root: RootLogger,
  opened: (() => Promise<unknown>)[],
): Promise<void> => {
  // the process's own lines; the core binds `service` in its own child of `root`
  const logger = root.child(SERVICE);
  const clock = { now: () => new Date() };
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
  // a key named but unreadable stops the start (thrown, reported by main)
  const assignmentSigningKey =
    signingKeyFile === undefined ? undefined : loadAssignmentSigningKey(signingKeyFile);
  const store: EventStore =
    config.STORE === 'jetstream'
      ? await JetStreamEventStore.open({ servers: config.NATS_URL!, credentials })
      : await SqliteEventStore.open({
          path: config.SQLITE_PATH,
          synchronous: config.SQLITE_SYNCHRONOUS,
        });
  opened.push(() => store.close());
  const bus: FleetBus =
    config.NATS_URL === undefined
      ? createInProcessBus()
      : await connectNatsBus(config.NATS_URL, {
          name: 'tramway-coordinator',
          credentials,
          onServerError: (error) => logger.error('NATS server refused', { error: error.message }),
        });
  opened.push(() => bus.close());
  // program objects: a JetStream Object Store bucket the agents read in NATS mode, else files
  // under the data dir
  // (a server without JetStream: the coordinator runs without them, /v1/programs answers 503)
  const programs: ProgramStore | undefined =
    config.NATS_URL === undefined
      ? openFileProgramStore(join(config.DATA_DIR, 'programs'))
      : await connectNatsProgramStore(config.NATS_URL, credentials).catch((error: unknown) => {
          logger.error('program objects unavailable: the Object Store bucket did not open', {
            nats: config.NATS_URL,
            error: error instanceof Error ? error.message : String(error),
          });
          return undefined;
        });
  if (programs !== undefined) opened.push(() => programs.close());
  const app: Coordinator = createCoordinator({
    bus,
    store,
    ...(programs === undefined ? {} : { programs }),
    clock,
    logger: root,
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
  opened.push(() => app.stop());
  await app.start();
  logger.info('coordinator serving', {
    url: app.url,
    store: config.STORE,
    adminTokenFile: app.adminToken() === undefined ? null : join(config.DATA_DIR, 'admin.token'),
  });
  const shutdown = (signal: string): void => {
    void (async () => {
      logger.info('stopping', { signal });
      const appError = await app.stop();
      await programs?.close();
      await bus.close();
      const storeError = await store.close();
      const error = appError ?? storeError;
      if (error) logger.error('stopped with an error', { error: error.message });
      root.flush();
      process.exitCode = error ? ServiceExit.StartFailed : ServiceExit.Ok;
    })();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
};

main().catch((error: unknown) => {
  // only a bug gets here (every start failure is handled above)
  process.stderr.write(
    `tramway-coordinator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(ServiceExit.StartFailed);
});
