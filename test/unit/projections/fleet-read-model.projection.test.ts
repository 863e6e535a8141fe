import { describe, expect, it } from 'vitest';
import { decodeFleetEventOrThrow } from '@tramway/shared/contracts';
import { toRowChanges } from '@tramway/shared/projections';
import type { LoggedFact } from '../../fixtures/event-logs/fleet-log-builder.js';
import { recordFacts } from '../../fixtures/event-logs/fleet-log-builder.js';

const only = (fact: LoggedFact) => decodeFleetEventOrThrow(recordFacts([fact])[0]!);

describe('toRowChanges', () => {
  it('writes a link row and one row per connection for LinkCreated, after closing a stale twin', () => {
    const changes = toRowChanges(
      only({
        actor: 'agent:n1',
        event: {
          type: 'LinkCreated',
          data: {
            nodeId: 'n1',
            linkId: 3,
            programId: 9,
            programName: 'p',
            attachType: 'BPF_TRACE_FEXIT_MULTI',
            connections: [
              { function: 'tcp_sendmsg', objId: 1, btfId: 10, cookie: '5' },
              { function: 'nft_do_chain', module: 'nf_tables', objId: 100, btfId: 2, cookie: '0' },
            ],
          },
        },
      }),
    );
    expect(changes.map((c) => `${c.op} ${c.table}`)).toEqual([
      'insert rm_events_v1',
      'update rm_links_v1',
      'update rm_connections_v1',
      'insert rm_links_v1',
      'insert rm_connections_v1',
      'insert rm_connections_v1',
    ]);
    expect(changes[1]).toMatchObject({
      where: { node_id: 'n1', link_id: 3, released_position: null },
      set: { released_position: 1, release_reason: 'replaced' },
    });
    expect(changes[5]).toMatchObject({
      values: {
        idx: 1,
        function: 'nft_do_chain',
        module: 'nf_tables',
        obj_id: 100,
        btf_id: 2,
        cookie: '0',
      },
    });
  });

  it('closes every open link and connection of a node, and forgets its programs and modules, on a reboot', () => {
    const changes = toRowChanges(
      only({
        actor: 'agent:n1',
        event: { type: 'NodeBooted', data: { nodeId: 'n1', bootId: 'b2' } },
      }),
    );
    expect(changes.slice(2)).toEqual([
      {
        op: 'update',
        table: 'rm_links_v1',
        where: { node_id: 'n1', released_position: null },
        set: {
          released_position: 1,
          released_at: '2026-11-24T13:00:00.000Z',
          released_by: 'agent:n1',
          release_reason: 'node-booted',
        },
      },
      {
        op: 'update',
        table: 'rm_connections_v1',
        where: { node_id: 'n1', released_position: null },
        set: {
          released_position: 1,
          released_at: '2026-11-24T13:00:00.000Z',
          released_by: 'agent:n1',
        },
      },
      { op: 'delete', table: 'rm_programs_v1', where: { node_id: 'n1' } },
      { op: 'delete', table: 'rm_modules_v1', where: { node_id: 'n1' } },
    ]);
  });

  it('indexes a failed link creation by the failing function, with errno and reason in the summary', () => {
    const [row] = toRowChanges(
      only({
        actor: 'agent:n1',
        event: {
          type: 'LinkCreateFailed',
          data: {
            nodeId: 'n1',
            programId: 9,
            programName: 'p',
            attachType: 'BPF_TRACE_FENTRY_MULTI',
            errno: 7,
            failingTarget: { function: 'tcp_sendmsg' },
            reason: 'trampoline full',
          },
        },
      }),
    );
    expect(row).toMatchObject({
      values: {
        function: 'tcp_sendmsg',
        node_id: 'n1',
        summary: 'link of p failed on tcp_sendmsg: errno 7 (trampoline full)',
      },
    });
  });
});
