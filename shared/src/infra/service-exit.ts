/**
 * How a service process ends when it cannot start (README "Logs"): one fatal log line, then the
 * exit code. A restart policy (systemd, compose, Kubernetes) sees the process exit at once instead
 * of a process that runs without doing its job.
 */
import { isatty } from 'node:tty';
import type { LogFormat, LogLevel, RootLogger } from './logger.js';
import { createPinoLogger, resolveLogFormat } from './logger.js';

/** Exit codes of the services (documented in the README, "Logs"). */
export const ServiceExit = {
  Ok: 0,
  /** a start-up failure: a port taken, NATS unreachable, a store that does not open */
  StartFailed: 1,
  /** a bad configuration value (the line names the key and the value) */
  BadConfig: 2,
} as const;

/**
 * The root logger of a service process: JSON lines on stdout, pretty on a terminal
 * (TRAMWAY_LOG_FORMAT). No base fields: the service's core binds `service` (and `nodeId`) in its
 * own child, and the process's own lines name it in their meta.
 */
export const createServiceLogger = (
  level: LogLevel,
  format: LogFormat | 'auto' | undefined,
): RootLogger => createPinoLogger({ level, format: resolveLogFormat(format, isatty(1)) });

/** TRAMWAY_LOG_FORMAT read before the configuration is known to be valid (a bad one: auto). */
export const bootLogFormat = (value: string | undefined): LogFormat | 'auto' =>
  value === 'json' || value === 'pretty' ? value : 'auto';

/** Writes the fatal line and ends the process with `code` now (the sinks are synchronous). */
export const exitFatal = (
  logger: RootLogger,
  msg: string,
  meta: Readonly<Record<string, unknown>>,
  code: number,
): never => {
  logger.fatal(msg, meta);
  logger.flush();
  process.exit(code);
};

/** One sentence for a failed `listen`: which address, and why in words. */
export const describeListenError = (what: string, host: string, port: number, error: unknown) => {
  const code = (error as { code?: unknown }).code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why =
    code === 'EADDRINUSE'
      ? `port ${port} is already in use`
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this host`
          : error instanceof Error
            ? error.message
            : String(error);
  return {
    msg: `${what} cannot listen on ${where}: ${why}`,
    meta: { host, port, ...(typeof code === 'string' ? { code } : {}) },
  };
};
