/**
 * `tramway status POLICY [--watch]` as text: every wave from the start (pending ones with their
 * nodes), the countdown of a pause between waves on the coordinator's clock, the hold reason.
 */
import { describe, expect, it } from 'vitest';
import type { StatusView } from '../../../services/cli/src/fleet/coordinator-client.js';
import {
  durationText,
  renderStatus,
  statusLine,
  waitingText,
} from '../../../services/cli/src/fleet/fleet-render.js';

const NOW = '2026-12-02T10:00:00.000Z';
const PLAIN = { wide: false };
const at = (offsetS: number): number => Date.parse(NOW) + offsetS * 1000;

const node = (nodeId: string, wave: number, state: 'converged' | 'pending') => ({
  nodeId,
  wave,
  generation: state === 'converged' ? 1 : 0,
  observedGeneration: state === 'converged' ? 1 : 0,
  state,
  functions: { attached: state === 'converged' ? 6 : 0, pending: 0, rejected: 0 },
});

/** A rollout of three waves paused after wave 0; wave 1 starts 12 s after NOW. */
const paused: StatusView = {
  policy: 'tcp-latency',
  version: 1,
  now: NOW,
  rollout: {
    id: 'tcp-latency-v1',
    state: 'running',
    waveCount: 3,
    currentWave: 0,
    paused: true,
    pause: { afterWave: 0, nextWave: 1, seconds: 15, endsAt: new Date(at(12)).toISOString() },
    nextWaveAt: new Date(at(12)).toISOString(),
    reason: null,
    waves: [
      { index: 0, nodes: ['web-1'], state: 'completed', succeeded: 1, failed: 0 },
      { index: 1, nodes: ['web-2'], state: 'pending', succeeded: 0, failed: 0 },
      { index: 2, nodes: ['web-3', 'web-4'], state: 'pending', succeeded: 0, failed: 0 },
    ],
  },
  nodes: [
    node('web-1', 0, 'converged'),
    node('web-2', 1, 'pending'),
    node('web-3', 2, 'pending'),
    node('web-4', 2, 'pending'),
  ],
};

describe('durationText', () => {
  it('rounds up to whole seconds, then minutes and hours, never below 0s', () => {
    expect(durationText(11_200)).toBe('12s');
    expect(durationText(0)).toBe('0s');
    expect(durationText(-5_000)).toBe('0s');
    expect(durationText(125_000)).toBe('2m05s');
    expect(durationText(3_720_000)).toBe('1h02m');
  });
});

describe('renderStatus during a pause', () => {
  it('lists every wave from the start, pending ones with their nodes, and counts down on the given clock', () => {
    const text = renderStatus(paused, PLAIN, at(0));
    expect(text.split('\n').slice(0, 2)).toEqual([
      'policy tcp-latency v1  rollout tcp-latency-v1  running',
      'paused after wave 0: wave 1 starts in 12s',
    ]);
    expect(text).toMatch(/wave 0\s+\[#{20}\]\s+1\/1 converged\s+0 failed\s+completed\s+web-1\n/);
    expect(text).toMatch(/wave 1\s+\[-{20}\]\s+0\/1 converged\s+0 failed\s+pending\s+web-2\n/);
    expect(text).toMatch(
      /wave 2\s+\[-{20}\]\s+0\/2 converged\s+0 failed\s+pending\s+web-3,web-4\n/,
    );
    expect(text).toMatch(/web-4\s+2\s+pending\s+0\s+0\s+0/);
    // 5 s later on the coordinator's clock, the countdown says 7 s; past the end, "now"
    expect(renderStatus(paused, PLAIN, at(5))).toContain('wave 1 starts in 7s');
    expect(renderStatus(paused, PLAIN, at(13))).toContain('wave 1 starts now');
  });

  it('counts down from the answer`s own clock by default, and says so on the one-line form', () => {
    expect(renderStatus(paused)).toContain('wave 1 starts in 12s');
    expect(statusLine(paused, at(2))).toBe(
      'tcp-latency v1 running: wave 0 completed 1/1, wave 1 pending 0/1, wave 2 pending 0/2; paused after wave 0: wave 1 starts in 10s; nodes converged 1/4',
    );
  });
});

describe('waitingText', () => {
  it('gives the hold reason with what to do, the rollback reason, and nothing for a running wave', () => {
    const held: StatusView = {
      ...paused,
      rollout: { ...paused.rollout!, state: 'held', pause: null, reason: '2 of 2 nodes failed' },
    };
    expect(waitingText(held, at(0))).toBe(
      'held: 2 of 2 nodes failed (tramway resume tcp-latency-v1 to go on, or tramway rollback tcp-latency)',
    );
    const back: StatusView = {
      ...paused,
      rollout: { ...paused.rollout!, state: 'rolled-back', pause: null, reason: 'noisy' },
    };
    expect(waitingText(back, at(0))).toBe('rolled back: noisy');
    const running: StatusView = { ...paused, rollout: { ...paused.rollout!, pause: null } };
    expect(waitingText(running, at(0))).toBeUndefined();
    expect(renderStatus(running, PLAIN, at(0)).split('\n')[1]).toMatch(/^WAVE\s+PROGRESS/);
  });

  it('reads an older coordinator`s answer (no pause, no now, no wave per node)', () => {
    const old = {
      policy: 'p',
      version: 2,
      rollout: {
        id: 'p-v2',
        state: 'running',
        waves: [{ index: 0, nodes: ['a'], state: 'running', succeeded: 0, failed: 0 }],
      },
      nodes: [
        {
          nodeId: 'a',
          generation: 1,
          observedGeneration: 0,
          state: 'pending',
          functions: { attached: 0, pending: 0, rejected: 0 },
        },
      ],
    } as StatusView;
    expect(renderStatus(old)).toMatch(/\na\s+-\s+pending/);
    expect(statusLine(old)).toBe('p v2 running: wave 0 running 0/1; nodes converged 0/1');
  });
});
