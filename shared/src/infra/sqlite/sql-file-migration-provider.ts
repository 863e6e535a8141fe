import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';

const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.sql$/;

/**
 * Splits a migration file into statements: `--` comments are dropped and a statement ends with
 * `;` at the end of a line (better-sqlite3 prepares one statement at a time). Migration files
 * therefore must not put `;` at a line end inside a string literal or a trigger body.
 */
export const splitSqlStatements = (text: string): readonly string[] =>
  text
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n')
    .split(/;[ \t]*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);

/**
 * kysely `MigrationProvider` over a folder of forward-only `NNNN_snake_name.sql` files
 * (STYLE.md §11). Each file becomes one migration named after the file without `.sql`; its
 * statements run in order inside the Migrator's transaction. Other files are an error, so a typo
 * in a name cannot silently skip a migration.
 */
export const sqlFileMigrationProvider = (folder: string): MigrationProvider => ({
  getMigrations: async () => {
    const files = (await readdir(folder)).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      if (!MIGRATION_FILE.test(file)) {
        throw new Error(`migration folder ${folder}: "${file}" is not named NNNN_snake_name.sql`);
      }
      const statements = splitSqlStatements(await readFile(join(folder, file), 'utf8'));
      migrations[file.slice(0, -'.sql'.length)] = {
        up: async (db: Kysely<unknown>) => {
          for (const statement of statements) await sql.raw(statement).execute(db);
        },
      };
    }
    return migrations;
  },
});
