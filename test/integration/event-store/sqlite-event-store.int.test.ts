import { afterAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '../../../shared/src/infra/event-store/sqlite-event-store.js';
import { openDatabase } from '../../../shared/src/infra/sqlite/open-database.js';
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
    const { writeFileSync } = await import('node:fs');
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
