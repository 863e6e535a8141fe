/**
 * The coordinator's log shell under a competing writer (real: SQLite log). `execute` appends what
 * a decider decided with the version its state was folded at; when another writer moved the
 * stream in between, the append is refused (ExpectedVersionConflict), and the shell catches up
 * with the log and decides again on the new state, so no decision is lost or taken twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFleetEvent } from '@tramway/shared/contracts';
import { FleetStreams } from '@tramway/shared/domain';
import type { EventStore } from '@tramway/shared/infra';
import { SqliteEventStore, silentLogger } from '@tramway/shared/infra';
import type { FleetLog } from '../../../services/coordinator/src/log/fleet-log.js';
import { createFleetLog } from '../../../services/coordinator/src/log/fleet-log.js';
import { makeTempDir } from '../../support/temp-dir.js';
import type { TempDir } from '../../support/temp-dir.js';

let dir: TempDir;
let store: SqliteEventStore;
let log: FleetLog;

const spec = (pattern: string) => ({
  program: { name: 'tcp_lat', attach: 'fentry' },
  targets: [{ pattern }],
});

/** The store, with another writer's append slipped in before this process's next append. */
const withRival = (inner: EventStore, rival: () => Promise<void>): EventStore => {
  let armed = true;
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'append') {
        return async (...args: Parameters<EventStore['append']>) => {
          if (armed) {
            armed = false;
            await rival();
          }
          return target.append(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
};

const rivalApplies =
  (pattern: string, id = 'policy:tcp:v1') =>
  async (): Promise<void> => {
    const other = encodeFleetEvent(
      {
        type: 'PolicyApplied',
        data: { name: 'tcp', version: 1, spec: spec(pattern), reason: 'by the other writer' },
      },
      { id, metadata: { occurredAt: new Date().toISOString(), actor: 'user:eve' } },
    );
    await store.append(other.streamId, 'no-stream', [other.event]);
  };

beforeEach(async () => {
  dir = makeTempDir('tramway-log-conflict-');
  store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
});

afterEach(async () => {
  log.stop();
  await store.close();
  dir.remove();
});

const apply = (pattern: string) =>
  log.execute(
    log.deciders.policy,
    FleetStreams.policy('tcp'),
    {
      type: 'ApplyPolicy',
      data: { name: 'tcp', spec: spec(pattern), running: null },
      metadata: { actor: 'user:alice' },
    },
    { actor: 'user:alice', occurredAt: new Date().toISOString() },
  );

describe('FleetLog.execute', () => {
  it('decides again on the moved stream when another writer appended first', async () => {
    // Given a log shell whose next append races another writer applying tcp v1
    log = createFleetLog(withRival(store, rivalApplies('tcp_sendmsg')), silentLogger);
    await log.start();

    // When alice applies a different spec, decided on the empty stream (as v1)
    const decision = await apply('tcp_*');

    // Then her spec became v2 on top of the other writer's v1: nothing lost, no version twice
    expect(decision).toMatchObject({ ok: true, events: [{ id: 'policy:tcp:v2' }] });
    const stream = await store.readStream(FleetStreams.policy('tcp'));
    expect(stream.map((e) => [e.streamVersion, e.id, e.metadata.actor])).toEqual([
      [1, 'policy:tcp:v1', 'user:eve'],
      [2, 'policy:tcp:v2', 'user:alice'],
    ]);
    expect(log.deciders.policy.get(FleetStreams.policy('tcp'))).toMatchObject({
      version: 2,
      state: { current: 2, lastVersion: 2 },
    });
  });

  it('catches up and decides again when its expected version is stale', async () => {
    // Given another writer's v1 under an id of its own (an older coordinator's scheme)
    log = createFleetLog(withRival(store, rivalApplies('tcp_sendmsg', 'legacy-7')), silentLogger);
    await log.start();

    // When alice applies, decided on the empty stream: the store refuses the stale version
    const decision = await apply('tcp_*');

    // Then she lands as v2 after catching up
    expect(decision).toMatchObject({ ok: true, events: [{ id: 'policy:tcp:v2' }] });
    const stream = await store.readStream(FleetStreams.policy('tcp'));
    expect(stream.map((e) => e.id)).toEqual(['legacy-7', 'policy:tcp:v2']);
  });

  it('decides nothing when the other writer already did the same', async () => {
    // Given the other writer applies the very spec alice is about to apply
    log = createFleetLog(withRival(store, rivalApplies('tcp_*')), silentLogger);
    await log.start();

    // When alice applies it
    const decision = await apply('tcp_*');

    // Then, decided again on the moved stream, it is unchanged: one version in the log
    expect(decision).toEqual({ ok: true, events: [] });
    const stream = await store.readStream(FleetStreams.policy('tcp'));
    expect(stream.map((e) => e.id)).toEqual(['policy:tcp:v1']);
  });
});
