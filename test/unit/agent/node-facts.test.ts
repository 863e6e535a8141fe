import { describe, expect, it } from 'vitest';
import { encodeFleetEvent } from '../../../shared/src/contracts/index.js';
import {
  linkCreateFailed,
  linkCreated,
  nodeRegistered,
} from '../../../services/agent/src/facts/node-facts.js';
import type { HeldLink } from '../../../services/agent/src/reconcile/agent-policy.js';

const scope = { nodeId: 'node-1', bootId: 'boot-a' };
const link: HeldLink = {
  linkId: 4,
  programId: 3,
  policy: 'tcp-latency',
  policyVersion: 1,
  program: 'tcp_lat',
  attachType: 'BPF_TRACE_FENTRY_MULTI',
  groupKey: 'all',
  targets: [
    { object: 'nf_tables', function: 'nft_do_chain', btfId: 19, cookie: '18446744073709551615' },
  ],
  connections: [
    {
      function: 'nft_do_chain',
      module: 'nf_tables',
      objId: 2,
      btfId: 19,
      cookie: '18446744073709551615',
    },
  ],
  fdOpen: true,
};

describe('node facts', () => {
  it('gives the same fact the same id (idempotent re-publish) and scopes kernel ids by boot', () => {
    expect(linkCreated(scope, link, 1).id).toBe(linkCreated(scope, link, 1).id);
    expect(linkCreated(scope, link, 1).id).not.toBe(
      linkCreated({ ...scope, bootId: 'boot-b' }, link, 1).id,
    );
    const labels = (role: string) =>
      nodeRegistered(scope, {
        labels: { role },
        kernelRelease: 'r',
        profile: 'v24',
        btfFingerprint: 'f',
      }).id;
    expect(labels('web')).toBe(labels('web'));
    expect(labels('web')).not.toBe(labels('db'));
  });

  it('builds events the wire contract accepts (u64 cookies as strings, errno as its number)', () => {
    const metadata = { occurredAt: '2026-11-25T10:00:00.000Z', actor: 'agent:node-1' };
    const created = linkCreated(scope, link, 2);
    expect(() => encodeFleetEvent(created.event, { id: created.id, metadata })).not.toThrow();
    const failed = linkCreateFailed(scope, {
      group: {
        policy: 'tcp-latency',
        policyVersion: 1,
        key: 'all',
        program: 'tcp_lat',
        attachType: 'BPF_TRACE_FENTRY_MULTI',
      },
      programId: 3,
      errno: 'E2BIG',
      failing: { object: 'nf_tables', function: 'nft_do_chain', btfId: 19 },
      reason: 'trampoline full',
      generation: 2,
    });
    expect(failed.event.data).toMatchObject({
      errno: 7,
      failingTarget: { function: 'nft_do_chain', module: 'nf_tables', btfId: 19 },
      observedGeneration: 2,
    });
    expect(() => encodeFleetEvent(failed.event, { id: failed.id, metadata })).not.toThrow();
  });
});
