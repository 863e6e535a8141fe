import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { heartbeats } from '../../../services/agent/src/streams/heartbeat.stream.js';

describe('heartbeats', () => {
  it('beats at once, then every period with the generation observed at that moment, until stopped', () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(
      ({ cold, expectObservable }) => {
        let generation = 0;
        const snapshot = () => ({
          nodeId: 'n',
          bootId: 'b',
          observedGeneration: generation++,
          at: 't',
        });
        const stop$ = cold('-------------------------s');
        const beat = (g: number) => ({ nodeId: 'n', bootId: 'b', observedGeneration: g, at: 't' });
        // 10 ms period: beats at 0, 10, 20; stopped at 25
        expectObservable(heartbeats(10, snapshot, stop$)).toBe('a 9ms b 9ms c 4ms |', {
          a: beat(0),
          b: beat(1),
          c: beat(2),
        });
      },
    );
  });
});
