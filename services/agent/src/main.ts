/**
 * Composition root of the agent process (STYLE.md §6): config, logger, kernel, NATS bus, agent;
 * SIGTERM/SIGINT stop it. No logic here. A start that fails writes one fatal line and exits at
 * once: 2 for a bad configuration, 1 for the rest (README "Logs").
 */
import { randomUUID } from 'node:crypto';
import type { LogMeta, RootLogger } from '@tramway/shared/infra';
import {
  ServiceExit,
  bootLogFormat,
  connectNatsBus,
  connectNatsProgramSource,
  createServiceLogger,
  isAppError,
  loadAssignmentVerifyKey,
} from '@tramway/shared/infra';
import type { Agent } from './app.js';
import { createAgent } from './app.js';
import type { AgentConfig } from './config.js';
import { InvalidConfigError, loadConfig } from './config.js';
import { openNodeKernel } from './kernel/node-kernel.factory.js';
import type { MetricsServer } from './metrics/metrics-server.js';
import { listenMetrics } from './metrics/metrics-server.js';

const main = async (): Promise<number> => {
  let config: AgentConfig;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      (await createServiceLogger('info', bootLogFormat(process.env['TRAMWAY_LOG_FORMAT']))).fatal(
        `invalid agent configuration: ${error.problems.join('; ')}`,
        { service: 'agent', problems: error.problems },
      );
      return ServiceExit.BadConfig;
    }
    throw error;
  }
  const root: RootLogger = await createServiceLogger(config.logLevel, config.logFormat);
  // the process's own lines; the agent binds `service` and `nodeId` in its own child of `root`
  const logger = root.child({ service: 'agent', nodeId: config.nodeId });
  const fatal = (msg: string, meta: LogMeta = {}): void =>
    root.fatal(msg, { service: 'agent', nodeId: config.nodeId, ...meta });
  const clock = { now: () => new Date() };
  if (config.assignmentVerifyKeyFile === undefined && !config.insecureUnsignedAssignments) {
    fatal(
      'no assignment verify key (TRAMWAY_ASSIGNMENT_VERIFY_KEY, or assignment-signing.pub in TRAMWAY_SECURITY_DIR); ' +
        'an agent that cannot check who sent an assignment does not start ' +
        '(--insecure-unsigned-assignments overrides, for development only)',
    );
    return ServiceExit.BadConfig;
  }
  let assignmentVerifyKey;
  try {
    assignmentVerifyKey =
      config.assignmentVerifyKeyFile === undefined
        ? undefined
        : loadAssignmentVerifyKey(config.assignmentVerifyKeyFile);
  } catch (error) {
    fatal(`assignment verify key not read: ${String(error)}`, {
      file: config.assignmentVerifyKeyFile,
    });
    return ServiceExit.BadConfig;
  }
  const kernel = await openNodeKernel(config);
  if (!kernel.ok) {
    fatal(`kernel unavailable: ${kernel.error.join('; ')}`, { problems: kernel.error });
    return ServiceExit.BadConfig;
  }
  // bound first: an address in use stops the process at once (503 until the agent exists)
  let agent: Agent | undefined = undefined;
  let metricsServer: MetricsServer | undefined;
  if (config.metricsListen !== undefined) {
    try {
      metricsServer = await listenMetrics(config.metricsListen, async () =>
        agent?.metrics.render(),
      );
    } catch (error) {
      if (!isAppError(error)) throw error;
      fatal(error.message, { listen: `${config.metricsListen.host}:${config.metricsListen.port}` });
      await kernel.value.driver.close();
      return ServiceExit.StartFailed;
    }
    logger.info('metrics served', { url: `${metricsServer.url}/metrics` });
  }
  if (config.natsCredentials.nkeySeedFile === undefined)
    logger.warn('NATS without an identity: set TRAMWAY_SECURITY_DIR (docs/security.md)', {
      nats: config.natsUrl,
    });
  let bus;
  try {
    bus = await connectNatsBus(config.natsUrl, {
      name: `tramway-agent-${config.nodeId}`,
      credentials: config.natsCredentials,
      onHandlerError: (error, message) =>
        logger.error('message handler failed', { subject: message.subject, error: String(error) }),
      onServerError: (error) => logger.error('NATS server refused', { error: error.message }),
    });
  } catch (error) {
    if (!isAppError(error)) throw error;
    fatal(`cannot connect to NATS at ${config.natsUrl}: ${error.message}`, {
      nats: config.natsUrl,
    });
    await metricsServer?.close();
    await kernel.value.driver.close();
    return ServiceExit.StartFailed;
  }
  // program objects named by policies: read from the fleet's bucket with the node's identity
  const programs = connectNatsProgramSource(config.natsUrl, config.natsCredentials);
  agent = createAgent({
    nodeId: config.nodeId,
    programs,
    labels: config.labels,
    bus,
    driver: kernel.value.driver,
    clock,
    ids: { newId: randomUUID },
    ...(config.stateDir === undefined ? {} : { stateDir: config.stateDir }),
    logger: root,
    heartbeatMs: config.heartbeatMs,
    ...(assignmentVerifyKey === undefined ? {} : { assignmentVerifyKey }),
    insecureUnsignedAssignments: config.insecureUnsignedAssignments,
    // TEST ONLY: the crash-recovery tests kill the process between a link's create and its report
    ...(config.testCrashAfter === undefined
      ? {}
      : {
          testCrashAfter: {
            point: config.testCrashAfter,
            crash: () => {
              logger.warn('TRAMWAY_TEST_CRASH_AFTER: killing the agent', {
                point: config.testCrashAfter,
              });
              process.kill(process.pid, 'SIGKILL');
            },
          },
        }),
  });
  if (metricsServer !== undefined) agent.metrics.collectProcessMetrics();
  const startError = await agent.start();
  if (startError) {
    fatal(`agent did not start: ${startError.message}`);
    await metricsServer?.close();
    await bus.close();
    await kernel.value.driver.close();
    return ServiceExit.StartFailed;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const stopError = await agent.stop();
  await metricsServer?.close();
  await programs.close();
  await bus.close();
  await kernel.value.driver.close();
  if (stopError) logger.error('stopped with an error', { error: stopError.message });
  root.flush();
  return stopError ? ServiceExit.StartFailed : ServiceExit.Ok;
};

main().then(
  (code) => {
    // a failed start ends now, whatever is still open (a NATS reconnect timer, a watcher)
    if (code !== ServiceExit.Ok) process.exit(code);
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `agent crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(ServiceExit.StartFailed);
  },
);
