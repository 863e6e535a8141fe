import type { SplitArgs } from '../cli-args.js';
import { positionalsOf } from '../cli-args.js';
import { UsageError } from '../cli-command.js';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** An ISO 8601 instant (`2026-11-24T14:00:00Z`, or a date meaning its midnight UTC), normalised to UTC. */
export const parseInstant = (option: string, value: string): string => {
  const ms = ISO_INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `${option} '${value}' is not an ISO 8601 instant (e.g. 2026-11-24T14:00:00Z)`,
    );
  }
  return new Date(ms).toISOString();
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
