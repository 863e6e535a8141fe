import { describe, expect, it } from 'vitest';
import { FleetStreams, streamOf } from '@tramway/shared/domain';

describe('FleetStreams', () => {
  it('builds node-, policy-, rollout- and assignment- stream names', () => {
    expect(FleetStreams.node('node-17')).toBe('node-node-17');
    expect(FleetStreams.policy('trace-tcp')).toBe('policy-trace-tcp');
    expect(FleetStreams.rollout('r-9')).toBe('rollout-r-9');
    expect(FleetStreams.assignment('node-17')).toBe('assignment-node-17');
  });

  it('refuses an empty id or one with spaces or slashes', () => {
    expect(() => FleetStreams.node('')).toThrow(/node id "" is not a valid/);
    expect(() => FleetStreams.policy('a b')).toThrow(/policy name "a b"/);
    expect(() => FleetStreams.rollout('x/y')).toThrow(/rollout id/);
  });
});

describe('streamOf', () => {
  it('puts node facts, policy, rollout and assignment decisions in their own streams', () => {
    expect(
      streamOf({ type: 'ModuleLoaded', data: { nodeId: 'n1', module: 'xfs', btfObjId: 5 } }),
    ).toBe('node-n1');
    expect(streamOf({ type: 'PolicyRemoved', data: { name: 'p', version: 2 } })).toBe('policy-p');
    expect(streamOf({ type: 'RolloutCompleted', data: { rolloutId: 'r1' } })).toBe('rollout-r1');
    expect(
      streamOf({ type: 'AssignmentIssued', data: { nodeId: 'n1', generation: 3, links: [] } }),
    ).toBe('assignment-n1');
  });
});
