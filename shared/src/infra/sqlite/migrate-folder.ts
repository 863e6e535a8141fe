import { Migrator, sql } from 'kysely';
import type { Kysely, MigrationProvider } from 'kysely';
import { MigrationFailedError } from '../errors.js';
import { sqlFileMigrationProvider } from './sql-file-migration-provider.js';

export interface MigrateFolderResult {
  /** names of the migrations applied by this call, in order */
  readonly applied: readonly string[];
  /** set when a migration failed; kysely rolls the failed migration back */
  readonly error?: MigrationFailedError;
}

/**
 * Applies every pending SQL migration of `folder` with kysely's Migrator, tracked in its own
 * table pair (`migrationTableName`, `<name>_lock`). Resolves with a report and never rejects,
 * like kysely's `migrateToLatest` (STYLE.md §7 "Lifecycle").
 *
 * Safe when several processes open the same new file at once: the whole run is one
 * `BEGIN IMMEDIATE` transaction, so the write lock is taken before the migration table is read
 * and a second process waits (busy_timeout) and then finds the migrations applied. Kysely's own
 * SQLite adapter runs migrations outside any transaction (no lock across processes), so two
 * processes both read "nothing applied" and the second failed on `table events already exists`
 * (test/integration/infra/sqlite-migrate-race.int.test.ts).
 */
export const migrateFolder = async (
  db: Kysely<unknown>,
  folder: string,
  migrationTableName: string,
  /** the folder's SQL files; another provider only in tests (one that pauses mid-migration) */
  provider: MigrationProvider = sqlFileMigrationProvider(folder),
): Promise<MigrateFolderResult> => {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName,
    migrationLockTableName: `${migrationTableName}_lock`,
    // the transaction is ours (BEGIN IMMEDIATE below), on the same single connection
    disableTransactions: true,
  });
  try {
    await sql`begin immediate`.execute(db);
  } catch (error) {
    return { applied: [], error: new MigrationFailedError(folder, undefined, error) };
  }
  const { error, results = [] } = await migrator.migrateToLatest();
  await sql.raw(error === undefined ? 'commit' : 'rollback').execute(db);
  const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (error === undefined) return { applied };
  const failed = results.find((r) => r.status === 'Error')?.migrationName;
  return { applied, error: new MigrationFailedError(folder, failed, error) };
};
