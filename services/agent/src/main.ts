/**
 * Composition root of the agent process (STYLE.md §6): config, logger, kernel, NATS bus, agent;
 * SIGTERM/SIGINT stop it. No logic here.
 */
import { randomUUID } from 'node:crypto';
import { connectNatsBus, isAppError, loadAssignmentVerifyKey } from '@tramway/shared/infra';
import type { Agent } from './app.js';
import { createAgent } from './app.js';
import { createJsonLogger } from '@tramway/shared/infra';
import { InvalidConfigError, loadConfig } from './config.js';
import { openNodeKernel } from './kernel/node-kernel.factory.js';
import type { MetricsServer } from './metrics/metrics-server.js';
import { listenMetrics } from './metrics/metrics-server.js';

const main = async (): Promise<number> => {
  let config;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const clock = { now: () => new Date() };
  const logger = createJsonLogger(
    config.logLevel,
    (line) => process.stdout.write(`${line}\n`),
    clock.now,
  );
  if (config.assignmentVerifyKeyFile === undefined && !config.insecureUnsignedAssignments) {
    process.stderr.write(
      `tramway-agent ${config.nodeId}: no assignment verify key (TRAMWAY_ASSIGNMENT_VERIFY_KEY, or assignment-signing.pub in TRAMWAY_SECURITY_DIR); ` +
        'an agent that cannot check who sent an assignment does not start ' +
        '(--insecure-unsigned-assignments overrides, for development only)\n',
    );
    return 2;
  }
  let assignmentVerifyKey;
  try {
    assignmentVerifyKey =
      config.assignmentVerifyKeyFile === undefined
        ? undefined
        : loadAssignmentVerifyKey(config.assignmentVerifyKeyFile);
  } catch (error) {
    logger.error('assignment verify key not read', { error: String(error) });
    return 2;
  }
  const kernel = await openNodeKernel(config);
  if (!kernel.ok) {
    logger.error('kernel unavailable', { problems: kernel.error });
    return 2;
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
      process.stderr.write(`tramway-agent ${config.nodeId}: ${error.message}\n`);
      await kernel.value.driver.close();
      return 1;
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
    logger.error('cannot connect to NATS', { nats: config.natsUrl, error: error.message });
    process.stderr.write(`tramway-agent ${config.nodeId}: ${error.message}\n`);
    await metricsServer?.close();
    await kernel.value.driver.close();
    return 1;
  }
  agent = createAgent({
    nodeId: config.nodeId,
    labels: config.labels,
    bus,
    driver: kernel.value.driver,
    clock,
    ids: { newId: randomUUID },
    ...(config.stateDir === undefined ? {} : { stateDir: config.stateDir }),
    logger,
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
    process.stderr.write(`agent did not start: ${startError.message}\n`);
    await metricsServer?.close();
    await bus.close();
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const stopError = await agent.stop();
  await metricsServer?.close();
  await bus.close();
  await kernel.value.driver.close();
  return stopError ? 1 : 0;
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `agent crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
