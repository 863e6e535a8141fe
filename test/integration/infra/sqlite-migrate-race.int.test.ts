/**
 * Two processes opening the same new SQLite event store at once: the second waits for the
 * first's migration and finds it applied. Before, kysely ran SQLite migrations outside any
 * transaction, so the second read "nothing applied" while the first was half-way and failed with
 * `table events already exists`: the racing writer processes of reliability.int.test.ts then
 * never printed "started" (a crash its 60 s wait did not see).
 *
 * The first process is this one, running the real migrateFolder on the real migrations, paused
 * inside the first one; the second is a real process running SqliteEventStore.open.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EVENT_STORE_MIGRATIONS_FOLDER,
  EVENT_STORE_MIGRATION_TABLE,
  SqliteEventStore,
  migrateFolder,
  openDatabase,
  sqlFileMigrationProvider,
} from '@tramway/shared/infra';
import { makeTempDir } from '../../support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OPENER = fileURLToPath(new URL('./fixtures/open-event-store.ts', import.meta.url));
const dir = makeTempDir('tramway-migrate-race-');
afterAll(() => dir.remove());

/** The real migrations, the first pausing (write lock held) until `release` is called. */
const pausedProvider = (): {
  provider: MigrationProvider;
  release: () => void;
  paused: Promise<void>;
} => {
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let pausedNow = (): void => undefined;
  const paused = new Promise<void>((resolve) => (pausedNow = resolve));
  const real = sqlFileMigrationProvider(EVENT_STORE_MIGRATIONS_FOLDER);
  return {
    release,
    paused,
    provider: {
      getMigrations: async () => {
        const migrations: Record<string, Migration> = { ...(await real.getMigrations()) };
        const first = Object.keys(migrations).sort()[0]!;
        const up = migrations[first]!.up;
        migrations[first] = {
          up: async (db) => {
            await up(db);
            pausedNow();
            await gate;
          },
        };
        return migrations;
      },
    },
  };
};

describe('SQLite event store: concurrent first open', () => {
  it('lets a second process wait for the first migration instead of failing', async () => {
    const path = dir.file('log.sqlite');
    const first = openDatabase<unknown>(path);
    const { provider, release, paused } = pausedProvider();
    const migrating = migrateFolder(
      first.db as Kysely<unknown>,
      EVENT_STORE_MIGRATIONS_FOLDER,
      EVENT_STORE_MIGRATION_TABLE,
      provider,
    );
    await paused;

    const second = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@tramway/source', OPENER, path],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    second.stdout.on('data', (c: Buffer) => (out += c.toString()));
    second.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const closed = new Promise<number | null>((resolve) => second.once('close', resolve));
    // the second process is opening (its start-up through tsx takes seconds on a busy machine)
    for (let i = 0; i < 600 && !out.includes('opening'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(out, err).toContain('opening');
    // give it time to reach the migration and wait on the lock (well under its 5 s busy_timeout)
    await new Promise((r) => setTimeout(r, 1500));
    release();
    const { error } = await migrating;
    expect(error).toBeUndefined();
    await first.db.destroy();

    expect(await closed, `${out}${err}`).toBe(0);
    expect(out.trim().split('\n')).toEqual(['opening', 'ok']);
    // and the store is whole: the first process's migration, applied once
    const store = await SqliteEventStore.open({ path, pollIntervalMs: 0 });
    await store.append('s', 0, [
      {
        id: 'e-1',
        type: 'T',
        schemaVersion: 1,
        data: {},
        metadata: { occurredAt: '2026-12-02T10:00:00.000Z', actor: 'test' },
      },
    ]);
    expect((await store.readStream('s')).map((e) => e.id)).toEqual(['e-1']);
    await store.close();
  }, 90_000);
});
