/**
 * A large log for the console's timeline (bench:console `--events N`): the synthetic fleet log
 * (test/fixtures/event-logs/synthetic-fleet-log.ts, human-paced policy changes) appended through
 * the SQLite event store adapter, in batches: `BATCH` appends requested in one tick, which the
 * store's group commit writes as one transaction (not the HTTP API: a million requests would
 * measure the API, not the console).
 */
import { SqliteEventStore } from '../../shared/src/infra/event-store/sqlite-event-store.js';
import { syntheticFleetLog } from '../../test/fixtures/event-logs/synthetic-fleet-log.js';

/** appends requested per tick (one transaction) */
const BATCH = 2000;

export const writeConsoleLog = async (
  path: string,
  events: number,
  nodes: number,
  progress: (text: string) => void = () => undefined,
): Promise<{ writeMs: number; head: number }> => {
  const t0 = performance.now();
  const store = await SqliteEventStore.open({ path, pollIntervalMs: 0 });
  try {
    const versions = new Map<string, number>();
    let pending: Promise<unknown>[] = [];
    let written = 0;
    for (const { streamId, event } of syntheticFleetLog({
      seed: 42,
      events,
      nodes,
      policyChangeEvery: 5000,
      maxPolicies: 40,
    })) {
      const version = versions.get(streamId) ?? 0;
      versions.set(streamId, version + 1);
      pending.push(store.append(streamId, version === 0 ? 'no-stream' : version, [event]));
      if (pending.length === BATCH) {
        await Promise.all(pending);
        pending = [];
        written += BATCH;
        if (written % 100_000 === 0) progress(`${written} events written`);
      }
    }
    await Promise.all(pending);
    return { writeMs: performance.now() - t0, head: await store.headPosition() };
  } finally {
    await store.close();
  }
};
