import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EVENT_STORE_MIGRATIONS_FOLDER,
  SqliteEventStore,
} from '../../../shared/src/infra/event-store/sqlite-event-store.js';
import { migrateFolder } from '../../../shared/src/infra/sqlite/migrate-folder.js';
import { openDatabase } from '../../../shared/src/infra/sqlite/open-database.js';
import { splitSqlStatements } from '../../../shared/src/infra/sqlite/sql-file-migration-provider.js';
import { waitUntil } from '../../support/wait-until.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { someEvents, testEventStore } from './event-store.contract.js';

const dir = makeTempDir('tramway-sqlite-es-');
afterAll(() => dir.remove());
let n = 0;

testEventStore('sqlite (real WAL file)', () =>
  SqliteEventStore.open({ path: dir.file(`contract-${++n}.sqlite`) }),
);

describe(SqliteEventStore.name, () => {
  it('opens the file in WAL mode with synchronous=NORMAL and records the applied migrations', async () => {
    const path = dir.file('pragmas.sqlite');
    const sut = await SqliteEventStore.open({ path });
    await sut.append('a', 0, someEvents(1));
    expect(await sut.close()).toBeUndefined();

    const { sqlite, db } = openDatabase(path);
    expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    const rows = sqlite.prepare('SELECT name FROM migrations_event_store ORDER BY name').all() as {
      name: string;
    }[];
    expect(rows.map((r) => r.name)).toEqual([
      '0001_create_events_and_streams',
      '0002_create_checkpoints',
    ]);
    await db.destroy();
  });

  it('runs synchronous=NORMAL by default and synchronous=FULL when asked (SQLITE_SYNCHRONOUS)', async () => {
    const normal = await SqliteEventStore.open({ path: dir.file('sync-normal.sqlite') });
    const full = await SqliteEventStore.open({
      path: dir.file('sync-full.sqlite'),
      synchronous: 'FULL',
    });
    expect(normal.synchronous).toBe('NORMAL');
    expect(full.synchronous).toBe('FULL');
    await full.append('a', 0, someEvents(2));
    expect((await full.readStream('a')).length).toBe(2);
    await normal.close();
    await full.close();
  });

  it('keeps every event across close and reopen, and migrating again is a no-op', async () => {
    const path = dir.file('reopen.sqlite');
    const first = await SqliteEventStore.open({ path });
    await first.append('a', 0, someEvents(3));
    await first.close();

    const sut = await SqliteEventStore.open({ path });
    const result = await sut.append('a', 3, someEvents(1));
    expect(result.streamVersion).toBe(4);
    expect(await sut.readStream('a')).toHaveLength(4);
    await sut.close();
  });

  it('delivers to a live subscription the events another connection appends to the same file', async () => {
    const path = dir.file('two-connections.sqlite');
    const reader = await SqliteEventStore.open({ path, pollIntervalMs: 20 });
    const writer = await SqliteEventStore.open({ path });
    const received: number[] = [];
    const subscription = reader.subscribe().subscribe((e) => received.push(e.streamVersion));
    await writer.append('a', 0, someEvents(3));
    await waitUntil('3 events from the other connection', () => received.length === 3);
    expect(received).toEqual([1, 2, 3]);
    subscription.unsubscribe();
    await writer.close();
    await reader.close();
  });

  it('migrates from empty in name order, once (a second run applies nothing)', async () => {
    const { db } = openDatabase(dir.file('migrate.sqlite'));
    const first = await migrateFolder(db, EVENT_STORE_MIGRATIONS_FOLDER, 'migrations_event_store');
    const second = await migrateFolder(db, EVENT_STORE_MIGRATIONS_FOLDER, 'migrations_event_store');
    await db.destroy();
    expect(first).toEqual({
      applied: ['0001_create_events_and_streams', '0002_create_checkpoints'],
    });
    expect(second).toEqual({ applied: [] });
  });

  it('splits a migration file into statements, dropping comments', () => {
    expect(
      splitSqlStatements(
        '-- c;\nCREATE TABLE a (x INT); -- trailing\n\nCREATE INDEX i ON a (x);\n',
      ),
    ).toEqual(['CREATE TABLE a (x INT)', 'CREATE INDEX i ON a (x)']);
  });

  it('refuses a migration folder with a file not named NNNN_name.sql', async () => {
    const migrations = makeTempDir('tramway-odd-migrations-');
    writeFileSync(migrations.file('0001_ok.sql'), 'CREATE TABLE t (x INTEGER);\n');
    writeFileSync(migrations.file('2-oops.sql'), 'CREATE TABLE u (x INTEGER);\n');
    const error = await SqliteEventStore.open({
      path: dir.file('odd.sqlite'),
      migrationsFolder: migrations.path,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    migrations.remove();
    expect((error as Error).message).toContain('"2-oops.sql" is not named NNNN_snake_name.sql');
  });

  it('commits appends requested in the same tick together, refusing only the stale one', async () => {
    const sut = await SqliteEventStore.open({ path: dir.file('group.sqlite') });
    await sut.append('s-0', 0, someEvents(1));
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 200 }, (_, i) => sut.append(`s-${i + 1}`, 0, someEvents(1))),
      sut.append('s-0', 0, someEvents(1)), // stale
      sut.append('s-0', 1, someEvents(2)),
    ]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
    expect((outcomes[200] as PromiseRejectedResult).reason).toMatchObject({
      code: 'ExpectedVersionConflict',
    });
    expect(await sut.readStream('s-0')).toHaveLength(3);
    expect(await sut.headPosition()).toBe(203);
    const pending = sut.append('late', 0, someEvents(1));
    expect(await sut.close()).toBeUndefined();
    await expect(pending).resolves.toMatchObject({ streamVersion: 1 });
  });

  it('uses the injected clock for recordedAt', async () => {
    const sut = await SqliteEventStore.open({
      path: dir.file('clock.sqlite'),
      now: () => '2030-01-02T03:04:05.000Z',
    });
    await sut.append('a', 0, someEvents(1));
    expect((await sut.readStream('a'))[0]?.recordedAt).toBe('2030-01-02T03:04:05.000Z');
    await sut.close();
  });

  it('reports a failed migration by name and does not open', async () => {
    const migrations = makeTempDir('tramway-bad-migrations-');
    writeFileSync(migrations.file('0001_ok.sql'), 'CREATE TABLE t (x INTEGER);\n');
    writeFileSync(migrations.file('0002_broken.sql'), 'CREATE TABLE oops (;\n');
    const error = await SqliteEventStore.open({
      path: dir.file('bad.sqlite'),
      migrationsFolder: migrations.path,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    migrations.remove();
    expect(error).toMatchObject({ code: 'MigrationFailed' });
    expect((error as Error).message).toContain('"0002_broken"');
  });
});
