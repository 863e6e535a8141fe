import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '@tramway/shared/lib';
import { decodeFleetEventOrThrow } from '@tramway/shared/contracts';
import { foldFleet, initialFleetState } from '@tramway/shared/projections';

const fixture = (name: string) =>
  fileURLToPath(new URL(`../../fixtures/event-logs/${name}`, import.meta.url));

const readLog = (name: string): RecordedEvent[] =>
  readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RecordedEvent);

describe('golden fleet logs', () => {
  it('replays node-17-tuesday.jsonl (with a LinkCreated v1) to the committed state', async () => {
    const state = foldFleet(
      initialFleetState(),
      readLog('node-17-tuesday.jsonl').map(decodeFleetEventOrThrow),
    );
    await expect(`${JSON.stringify(state, null, 2)}\n`).toMatchFileSnapshot(
      fixture('node-17-tuesday.state.json'),
    );
  });
});
