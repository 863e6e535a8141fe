import type { SplitArgs } from '../cli-args.js';
import { positionalsOf } from '../cli-args.js';
import { UsageError } from '../cli-command.js';
import { parseTime } from '../time-arg.js';

/**
 * A time option (`--at`, `--since`, `--until`): RFC 3339, `now` or a duration ago (`1h`, `30m`,
 * `2d`, `90s`; time-arg.ts), normalised to UTC ISO 8601 against this process's clock.
 */
export const parseInstant = (option: string, value: string, nowMs: number = Date.now()): string => {
  const parsed = parseTime(value, nowMs);
  if (!parsed.ok) throw new UsageError(`${option} ${parsed.message}`);
  return parsed.iso;
};

export const parseCount = (option: string, value: string, min: number): number => {
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${option} '${value}' is not an integer >= ${min}`);
  }
  return Number(value);
};

/** The single positional argument `what` of a command. */
export const onePositional = (args: SplitArgs, what: string): string =>
  positionalsOf(args, [what])[0] ?? '';

export const required = (args: SplitArgs, option: string): string => {
  const value = args.values.get(option);
  if (value === undefined) throw new UsageError(`${option} is required`);
  return value;
};
