/**
 * The one logger interface of the services (STYLE.md §11, Temporal's shape): structured
 * messages with metadata, `child` for per-handler context. The kernel and domain never log.
 *
 * `createPinoLogger` is the services' implementation: pino, writing synchronously (no transport,
 * no worker thread: a line is written when the call returns, so a fatal line before
 * `process.exit` is never lost). JSON lines by default, human-readable (pino-pretty, one line per
 * record) when asked or when the output is a terminal. pino and pino-pretty are loaded on first
 * use: the CLI imports this module and most of its commands never log.
 */
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import type * as PinoModule from 'pino';
import type { Logger as PinoInstance } from 'pino';
import type * as PinoPrettyModule from 'pino-pretty';

export type LogMeta = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, meta?: LogMeta): void;
  info(msg: string, meta?: LogMeta): void;
  warn(msg: string, meta?: LogMeta): void;
  error(msg: string, meta?: LogMeta): void;
  child(meta: LogMeta): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** `json`: one JSON object per line; `pretty`: one readable line; `auto`: pretty on a terminal. */
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly (LogFormat | 'auto')[] = ['auto', 'json', 'pretty'];

/** TRAMWAY_LOG_FORMAT: `json` and `pretty` force, `auto` (or unset) is pretty on a TTY only. */
export const resolveLogFormat = (
  wanted: LogFormat | 'auto' | undefined,
  isTty: boolean,
): LogFormat => (wanted === 'json' || wanted === 'pretty' ? wanted : isTty ? 'pretty' : 'json');

/**
 * Field names whose values never reach a log line, at the top level and one level down (pino's
 * redaction is by path): bearer tokens, headers that carry them, key material.
 */
export const REDACTED_KEYS: readonly string[] = [
  'token',
  'authorization',
  'cookie',
  'password',
  'secret',
  'seed',
  'privateKey',
  'signingKey',
];
const REDACT_PATHS = [
  ...REDACTED_KEYS,
  ...REDACTED_KEYS.map((k) => `*.${k}`),
  ...REDACTED_KEYS.map((k) => `headers["${k}"]`),
];

/** Where log lines go: written synchronously, one call per line (the line ends with `\n`). */
export interface LogSink {
  write(line: string): void;
}

export interface PinoLoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** a file descriptor (1: stdout, 2: stderr) or a sink; default stdout */
  readonly destination?: number | LogSink;
  /** fields on every line, e.g. `{ service: 'coordinator' }` */
  readonly base?: LogMeta;
  /** colours in the pretty format (default: when `destination` is a terminal) */
  readonly colorize?: boolean;
}

/** The root logger of a process: `fatal` for the line before a non-zero exit, and `flush`. */
export interface RootLogger extends Logger {
  fatal(msg: string, meta?: LogMeta): void;
  /** writes what is buffered (nothing, with the synchronous sinks: kept for other sinks) */
  flush(): void;
}

const requireCjs = createRequire(import.meta.url);

const adapt = (p: PinoInstance): Logger => ({
  debug: (msg, meta) => p.debug(meta ?? {}, msg),
  info: (msg, meta) => p.info(meta ?? {}, msg),
  warn: (msg, meta) => p.warn(meta ?? {}, msg),
  error: (msg, meta) => p.error(meta ?? {}, msg),
  child: (meta) => adapt(p.child(meta)),
});

/** Writes to a file descriptor, synchronously (sonic-boom retries a full pipe). */
const fdSink = (fd: number): LogSink => {
  const { destination } = requireCjs('pino') as typeof PinoModule;
  return destination({ fd, sync: true });
};

export const createPinoLogger = (options: PinoLoggerOptions): RootLogger => {
  const { pino, stdTimeFunctions } = requireCjs('pino') as typeof PinoModule;
  const dest = options.destination ?? 1;
  const sink = typeof dest === 'number' ? fdSink(dest) : dest;
  let out: LogSink = sink;
  if (options.format === 'pretty') {
    const { prettyFactory } = requireCjs('pino-pretty') as typeof PinoPrettyModule;
    const prettify = prettyFactory({
      colorize: options.colorize ?? (typeof dest === 'number' && isatty(dest)),
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
    out = { write: (line) => sink.write(prettify(line)) };
  }
  const p = pino(
    {
      level: options.level,
      base: { ...options.base },
      messageKey: 'msg',
      timestamp: stdTimeFunctions.isoTime,
      // the level as its name (`"level":"info"`), as the lines always were
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    out,
  );
  return {
    ...adapt(p),
    fatal: (msg, meta) => p.fatal(meta ?? {}, msg),
    flush: () => p.flush(),
  };
};

export interface LogRecord {
  readonly level: LogLevel;
  readonly msg: string;
  readonly meta: LogMeta;
}

/** Keeps every record in `records` (tests assert on logs with it). */
export const createMemoryLogger = (
  records: LogRecord[] = [],
  base: LogMeta = {},
): Logger & { readonly records: LogRecord[] } => {
  const at =
    (level: LogLevel) =>
    (msg: string, meta: LogMeta = {}): void => {
      records.push({ level, msg, meta: { ...base, ...meta } });
    };
  return {
    records,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (meta) => createMemoryLogger(records, { ...base, ...meta }),
  };
};

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
