import { Migrator } from 'kysely';
import type { Kysely } from 'kysely';
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
 */
export const migrateFolder = async (
  db: Kysely<unknown>,
  folder: string,
  migrationTableName: string,
): Promise<MigrateFolderResult> => {
  const migrator = new Migrator({
    db,
    provider: sqlFileMigrationProvider(folder),
    migrationTableName,
    migrationLockTableName: `${migrationTableName}_lock`,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (error === undefined) return { applied };
  const failed = results.find((r) => r.status === 'Error')?.migrationName;
  return { applied, error: new MigrationFailedError(folder, failed, error) };
};
