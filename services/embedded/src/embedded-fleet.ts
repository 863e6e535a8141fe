/**
 * The embedded one-process fleet (issue 5, "Three ways to run it"): the coordinator with its HTTP
 * API, N simulated agents on kernel-model nodes, the in-process bus and a SQLite log in a data
 * directory. Nothing to install: `npm start` and `tramway demo` run it.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FleetBus, LogFile, LogLevel, RootLogger } from '@tramway/shared/infra';
import {
  DEFAULT_LOG_FILE_MAX_BYTES,
  SqliteEventStore,
  assignmentKeyPairIn,
  createInProcessBus,
  createPinoLogger,
  openFileProgramStore,
  openLogFile,
  silentLogger,
} from '@tramway/shared/infra';
import type { Agent } from '@tramway/agent';
import { createAgent, createSimKernel } from '@tramway/agent';
import type { Coordinator } from '@tramway/coordinator';
import { createCoordinator } from '@tramway/coordinator';
import type { EmbeddedNodeSpec } from './fleet-file.js';

export interface EmbeddedFleetOptions {
  /**
   * log (`log.sqlite`), per-node agent state (`nodes/<id>/`), program objects (`programs/`) and
   * the admin token (`admin.token`) live here; created if missing
   */
  readonly dataDir: string;
  readonly host?: string;
  /** Host names the API answers to besides loopback and `host` (`name` or `name:port`) */
  readonly allowedHosts?: readonly string[];
  /** 0: any free port */
  readonly port: number;
  readonly nodes: readonly EmbeddedNodeSpec[];
  /** agent heartbeat (default 1000 ms) */
  readonly heartbeatMs?: number;
  /** how long to wait for every node to register (default 10000 ms) */
  readonly registerTimeoutMs?: number;
  /**
   * the SQLite log's `synchronous` pragma: NORMAL (default: an accepted request survives a
   * process crash) or FULL (each commit fsynced: it survives a power loss too); README
   */
  readonly sqliteSynchronous?: 'NORMAL' | 'FULL';
  /**
   * the log of the coordinator and the agents, JSON lines: `<dataDir>/tramway.log` by default,
   * bounded (over `logMaxBytes` it becomes `tramway.log.1` and a new one starts); false: none
   */
  readonly logFile?: string | false;
  /** default info */
  readonly logLevel?: LogLevel;
  /** default 10 MiB */
  readonly logMaxBytes?: number;
}

export interface EmbeddedFleet {
  /** the coordinator's HTTP API */
  readonly url: string;
  readonly coordinator: Coordinator;
  readonly agents: readonly Agent[];
  readonly dataDir: string;
  /** where the coordinator and the agents log (JSON lines), undefined without a log file */
  readonly logFile: string | undefined;
  /** the admin token in `<dataDir>/admin.token` (undefined when other admins exist) */
  readonly adminToken: string | undefined;
  /** stops the agents (their pinned links stay), the coordinator, the bus and the log */
  stop(): Promise<Error | undefined>;
}

/** Starts the coordinator, then every agent, and waits until each node has registered. */
export const startEmbeddedFleet = async (options: EmbeddedFleetOptions): Promise<EmbeddedFleet> => {
  const dataDir = resolve(options.dataDir);
  mkdirSync(join(dataDir, 'nodes'), { recursive: true });
  const clock = { now: () => new Date() };
  const file: LogFile | undefined =
    options.logFile === false
      ? undefined
      : openLogFile(
          resolve(options.logFile ?? join(dataDir, 'tramway.log')),
          options.logMaxBytes ?? DEFAULT_LOG_FILE_MAX_BYTES,
        );
  const logger: RootLogger | undefined =
    file === undefined
      ? undefined
      : await createPinoLogger({
          level: options.logLevel ?? 'info',
          format: 'json',
          destination: file,
        });
  logger?.info('embedded fleet starting', {
    service: 'embedded',
    dataDir,
    nodes: options.nodes.map((n) => n.id),
  });
  const store = await SqliteEventStore.open({
    path: join(dataDir, 'log.sqlite'),
    pollIntervalMs: 0,
    synchronous: options.sqliteSynchronous ?? 'NORMAL',
  });
  const bus: FleetBus = createInProcessBus();
  // program objects (`tramway program push`), content addressed under <dataDir>/programs; the
  // in-process agents read the same store
  const programs = openFileProgramStore(join(dataDir, 'programs'));
  // one code path: the in-process agents check the coordinator's signature as remote ones do,
  // with a key pair kept in the data dir (made on first start)
  const keys = assignmentKeyPairIn(dataDir);
  const coordinator = createCoordinator({
    bus,
    store,
    clock,
    logger: logger ?? silentLogger,
    assignmentSigningKey: keys.privateKey,
    // the audit over HTTP reads a read model kept in the log's own file (other tables), the
    // same file `tramway audit --db .tramway/log.sqlite` reads
    auditReadModelPath: join(dataDir, 'log.sqlite'),
    programs,
    // the first start issues an admin token into <data-dir>/admin.token (0600), where the CLI
    // looks by default (docs/security.md, "First start")
    http: {
      host: options.host ?? '127.0.0.1',
      port: options.port,
      adminTokenFile: join(dataDir, 'admin.token'),
      ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
    },
    options: { staleAfterMs: 15_000, tickMs: 100, driftIntervalMs: 30_000, requestTimeoutMs: 5000 },
  });
  const agents: Agent[] = [];
  const closeAll = async (): Promise<Error | undefined> => {
    let first: Error | undefined;
    for (const a of agents) first ??= await a.stop();
    first ??= await coordinator.stop();
    await bus.close();
    first ??= await store.close();
    if (first)
      logger?.error('stopped with an error', { service: 'embedded', error: first.message });
    else logger?.info('embedded fleet stopped', { service: 'embedded' });
    file?.close();
    return first;
  };
  try {
    await coordinator.start();
    for (const node of options.nodes) {
      const kernel = createSimKernel(node.kernel, { multiLink: node.multiLink });
      if (!kernel.ok) throw new Error(`${node.kernelFile}: ${kernel.error.join('; ')}`);
      const agent = createAgent({
        nodeId: node.id,
        labels: node.labels,
        bus,
        driver: kernel.value.driver,
        clock,
        ids: { newId: randomUUID },
        stateDir: join(dataDir, 'nodes', node.id),
        heartbeatMs: options.heartbeatMs ?? 1000,
        assignmentVerifyKey: keys.publicKey,
        programs,
        logger: logger ?? silentLogger,
      });
      const error = await agent.start();
      if (error)
        throw new Error(`agent ${node.id} did not start: ${error.message}`, { cause: error });
      agents.push(agent);
    }
    const deadline = Date.now() + (options.registerTimeoutMs ?? 10_000);
    const registered = (): boolean =>
      options.nodes.every((n) => coordinator.core.fleet().nodes[n.id]?.registered === true);
    while (!registered()) {
      if (Date.now() > deadline) throw new Error('the simulated nodes did not register in time');
      await sleep(20);
    }
  } catch (error) {
    logger?.fatal('embedded fleet did not start', {
      service: 'embedded',
      error: error instanceof Error ? error.message : String(error),
    });
    await closeAll();
    throw error;
  }
  logger?.info('embedded fleet serving', { service: 'embedded', url: coordinator.url });
  return {
    url: coordinator.url,
    coordinator,
    agents,
    dataDir,
    logFile: file?.path,
    adminToken: coordinator.adminToken(),
    stop: closeAll,
  };
};
