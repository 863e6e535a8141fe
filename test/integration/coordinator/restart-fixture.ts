/**
 * One scripted node (`node-01`, role=web) and a coordinator on a real SQLite log and the
 * in-process bus, set up before and torn down after each test of the file that calls
 * `useRestartFixture`, for tests that stop a coordinator, edit its log, and start the next one.
 */
import { afterEach, beforeEach } from 'vitest';
import type { FleetBus } from '@tramway/shared/infra';
import { SqliteEventStore, createInProcessBus } from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { startTestCoordinator } from '../../support/test-coordinator.js';
import type { TempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import { createScriptedAgent } from './scripted-agent.js';
import type { ScriptedAgent } from './scripted-agent.js';

export interface RestartFixture {
  readonly store: SqliteEventStore;
  readonly agent: ScriptedAgent;
  /** the coordinator running now */
  readonly coordinator: Coordinator;
  /** stops the running coordinator (its log stays) */
  stopCoordinator(): Promise<void>;
  /** starts the next coordinator on the same log */
  startCoordinator(): Promise<Coordinator>;
  allEvents(): Promise<RecordedEvent[]>;
}

export const useRestartFixture = (prefix: string): RestartFixture => {
  let dir: TempDir;
  let store: SqliteEventStore;
  let bus: FleetBus;
  let coordinator: Coordinator;
  let agent: ScriptedAgent;

  const startCoordinator = async (): Promise<Coordinator> => {
    coordinator = await startTestCoordinator({ bus, store });
    return coordinator;
  };

  beforeEach(async () => {
    dir = makeTempDir(prefix);
    store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
    bus = createInProcessBus();
    await startCoordinator();
    agent = createScriptedAgent(bus, { nodeId: 'node-01', labels: { role: 'web' } });
    await agent.start();
    await waitUntil('registered', () => coordinator.core.fleet().nodes['node-01']?.registered);
  });

  afterEach(async () => {
    agent.stop();
    await coordinator.stop();
    await bus.close();
    await store.close();
    dir.remove();
  });

  return {
    get store() {
      return store;
    },
    get agent() {
      return agent;
    },
    get coordinator() {
      return coordinator;
    },
    stopCoordinator: async () => {
      await coordinator.stop();
    },
    startCoordinator,
    allEvents: async () => {
      const out: RecordedEvent[] = [];
      for await (const e of store.readAll()) out.push(e);
      return out;
    },
  };
};
