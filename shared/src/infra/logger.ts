/**
 * The one logger interface of the services (STYLE.md §11, Temporal's shape): structured
 * messages with metadata, `child` for per-handler context. The kernel and domain never log.
 */
export type LogMeta = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, meta?: LogMeta): void;
  info(msg: string, meta?: LogMeta): void;
  warn(msg: string, meta?: LogMeta): void;
  error(msg: string, meta?: LogMeta): void;
  child(meta: LogMeta): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** One JSON object per line to `write` (stdout in main.ts), at `level` and above. */
export const createJsonLogger = (
  level: LogLevel,
  write: (line: string) => void,
  now: () => Date,
  base: LogMeta = {},
): Logger => {
  const min = LEVELS.indexOf(level);
  const at =
    (l: LogLevel) =>
    (msg: string, meta: LogMeta = {}): void => {
      if (LEVELS.indexOf(l) >= min) {
        write(JSON.stringify({ time: now().toISOString(), level: l, msg, ...base, ...meta }));
      }
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (meta) => createJsonLogger(level, write, now, { ...base, ...meta }),
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
