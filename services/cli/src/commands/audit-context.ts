/**
 * What every `tramway audit` command shares: the common options, where the audit comes from (the
 * coordinator's API by default, a local log file with --db), opening the event log and the read
 * model (brought up to the head of the log), and printing.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EventDecodeError, describeDecodeFailure } from '@tramway/shared/contracts';
import {
  DEFAULT_AUDIT_LIMIT,
  FleetReadModel,
  SqliteEventStore,
  isAppError,
} from '@tramway/shared/infra';
import type { SplitArgs } from '../cli-args.js';
import type { CliIo } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import type { OutputFormat } from '../output-format.js';
import { formatDocument, tableStyle } from '../output.js';
import { parseCount, required } from './audit-args.js';
import type { CoordinatorClient } from '../fleet/coordinator-client.js';
import { createCoordinatorClient } from '../fleet/coordinator-client.js';
import type { FleetArgs } from '../fleet/fleet-options.js';
import { clientOf } from '../fleet/fleet-options.js';

/** The log the embedded demo (`npm start`) writes, relative to the working directory. */
export const DEFAULT_LOCAL_LOG = '.tramway/log.sqlite';

export type AuditSource =
  | { readonly kind: 'local'; readonly args: SplitArgs }
  | { readonly kind: 'api'; readonly client: CoordinatorClient };

/**
 * Where the audit comes from: `--db FILE` is that local log; `--url` or TRAMWAY_URL the
 * coordinator's API. With neither, the coordinator at the default URL when it answers, else, when
 * ./.tramway/log.sqlite (the embedded demo's log) exists, that file, said in one line on stderr;
 * else the default URL (whose failure says how to start one).
 */
export const auditSourceOf = async (io: CliIo, args: FleetArgs): Promise<AuditSource> => {
  if (args.values.has('--db')) return { kind: 'local', args };
  if (args.values.has('--read-model'))
    throw new UsageError('--read-model goes with --db (a local log file)');
  const client = clientOf(args);
  const explicit = args.values.has('--url') || (io.env['TRAMWAY_URL'] ?? '') !== '';
  const local = resolve(io.cwd, DEFAULT_LOCAL_LOG);
  if (explicit || !existsSync(local)) return { kind: 'api', client };
  // a short probe: the demo of this directory serves at the default URL while it runs
  const probe = await createCoordinatorClient({ url: args.url, timeoutMs: 2000 }).auditRange();
  if (probe.ok || probe.kind !== 'unreachable') return { kind: 'api', client };
  io.stderr(
    `tramway audit: no coordinator at ${args.url} (${probe.message}); reading the local log ${DEFAULT_LOCAL_LOG}\n`,
  );
  return {
    kind: 'local',
    args: { ...args, values: new Map([...args.values, ['--db', local]]) },
  };
};

/** The width to fit tables to (the terminal's, unless -o wide or not a terminal). */
export const widthOf = (io: CliIo, args: Pick<SplitArgs, 'output'>): number | undefined =>
  tableStyle(io, args.output).width;

export const limitOf = (args: SplitArgs): number => {
  const text = args.values.get('--limit');
  return text === undefined ? DEFAULT_AUDIT_LIMIT : parseCount('--limit', text, 1);
};

export const noteLimit = (io: CliIo, shown: number, limit: number): void => {
  if (shown >= limit)
    io.stderr(`(showing ${limit} entries, the limit; raise --limit to see more)\n`);
};

export interface AuditContext {
  readonly store: SqliteEventStore;
  readonly readModel: FleetReadModel;
}

const checkFile = async (option: string, path: string): Promise<void> => {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    throw new UsageError(`${option} '${path}': no such file`);
  }
  if (!isFile) throw new UsageError(`${option} '${path}': not a file`);
};

const problemOf = (error: unknown): string =>
  error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);

/**
 * Opens the event log given by --db, and the read model (in the same file unless --read-model),
 * and brings the read model up to the head of the log. Bad files are usage errors naming the option.
 */
export const withAudit = async (
  io: CliIo,
  args: SplitArgs,
  body: (ctx: AuditContext) => Promise<number>,
  refresh = true,
): Promise<number> => {
  const dbPath = resolve(io.cwd, required(args, '--db'));
  await checkFile('--db', dbPath);
  const rmOption = args.values.get('--read-model');
  const rmPath = rmOption === undefined ? dbPath : resolve(io.cwd, rmOption);
  let store: SqliteEventStore;
  try {
    store = await SqliteEventStore.open({ path: dbPath, pollIntervalMs: 0 });
  } catch (error) {
    throw new UsageError(`--db '${dbPath}': not a Tramway event log (${problemOf(error)})`);
  }
  let readModel: FleetReadModel | undefined;
  try {
    try {
      readModel = await FleetReadModel.open({ path: rmPath });
    } catch (error) {
      const option = rmOption === undefined ? '--db' : '--read-model';
      throw new UsageError(
        `${option} '${rmPath}': cannot hold the read model (${problemOf(error)})`,
      );
    }
    try {
      // a first catch-up is a rebuild: it may defer the audit indexes to the end (faster)
      if (refresh && readModel.position() === 0) await readModel.rebuild(store);
      else if (refresh) await readModel.catchUp(store);
      return await body({ store, readModel });
    } catch (error) {
      if (error instanceof EventDecodeError) {
        io.stderr(
          `--db '${dbPath}': malformed event in the log: ${describeDecodeFailure(error.failure)}\n`,
        );
        return 2;
      }
      if (isAppError(error)) {
        io.stderr(`--db '${dbPath}': ${error.message}\n`);
        return 2;
      }
      throw error;
    }
  } finally {
    await readModel?.close();
    await store.close();
  }
};

/** `value` as a document in `format` (json or yaml). */
export const json = (io: CliIo, format: OutputFormat, value: unknown): void =>
  io.stdout(formatDocument(format, value));

/** `agent:web-1 for user:alice`: the actor, and the person or decision it acted for */
export const actorText = (e: {
  readonly actor: string;
  readonly onBehalfOf?: string | null;
}): string =>
  e.onBehalfOf === undefined || e.onBehalfOf === null ? e.actor : `${e.actor} for ${e.onBehalfOf}`;
