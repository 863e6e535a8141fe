import { positionalsOf } from '../cli-args.js';
import { UsageError } from '../cli-command.js';

export interface AuditArgs {
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, string>;
  readonly flags: ReadonlySet<string>;
}

/** Splits `--flag`, `--option VALUE` / `--option=VALUE` and positionals; an unknown option is a UsageError. */
export const parseAuditArgs = (
  args: readonly string[],
  spec: { readonly values: readonly string[]; readonly flags: readonly string[] },
): AuditArgs => {
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (spec.flags.includes(name) && eq < 0) {
      flags.add(name);
    } else if (spec.values.includes(name)) {
      const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
        throw new UsageError(`${name} needs a value`);
      }
      if (values.has(name)) throw new UsageError(`${name} given twice`);
      values.set(name, value);
    } else {
      throw new UsageError(`unknown option '${arg}'`);
    }
  }
  return { positionals, values, flags };
};

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
export const onePositional = (args: AuditArgs, what: string): string =>
  positionalsOf(args, [what])[0] ?? '';

export const required = (args: AuditArgs, option: string): string => {
  const value = args.values.get(option);
  if (value === undefined) throw new UsageError(`${option} is required`);
  return value;
};
