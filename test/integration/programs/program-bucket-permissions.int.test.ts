/**
 * A node reads program objects from the fleet's bucket with its own NATS identity (secured
 * nats-server: TLS, NKeys, per-node permissions from `tramway security`), and may not write it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import {
  natsConnectOptions,
  natsProgramSource,
  openNatsProgramStore,
  programDigest,
} from '../../../shared/src/infra/index.js';
import { startNatsServer } from '../../support/nats-server.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { RETURN_ZERO, bpfElf, exampleObject } from '../../fixtures/programs/bpf-elf.fixture.js';

let server: NatsServerHandle;
let coordinator: NatsConnection;
let node: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer({ nodes: ['web-1'] });
  coordinator = await connect({
    servers: server.url,
    ...natsConnectOptions(server.credentials()),
  });
  node = await connect({
    servers: server.url,
    ...natsConnectOptions(server.credentials({ nodeId: 'web-1' })),
  });
});
afterAll(async () => {
  await node?.close();
  await coordinator?.close();
  await server?.stop();
});

describe('the program bucket under node permissions', () => {
  it('a node reads an object the coordinator stored, by digest', async () => {
    const store = await openNatsProgramStore(coordinator);
    const bytes = exampleObject('func_stats_multi');
    const put = await store.put(bytes, new Date('2026-12-02T12:00:00Z'));
    expect(put.ok).toBe(true);
    const source = natsProgramSource(node);
    expect(await source.get(programDigest(bytes))).toEqual(bytes);
    expect(await source.get(`sha256:${'0'.repeat(64)}`)).toBeUndefined();
  });

  it('a node reads a large object (many chunks, flow control) within its permissions', async () => {
    const store = await openNatsProgramStore(coordinator);
    const big = bpfElf(
      [
        { name: 'fentry', bytes: RETURN_ZERO },
        { name: '.data', flags: 3, bytes: new Uint8Array(7 << 20).map((_, i) => i % 251) },
      ],
      [{ name: 'big_prog', section: 'fentry', size: RETURN_ZERO.length }],
    );
    const put = await store.put(big, new Date('2026-12-02T12:00:00Z'));
    expect(put.ok).toBe(true);
    const got = await natsProgramSource(node).get(programDigest(big));
    expect(got?.length).toBe(big.length);
    expect(programDigest(got!)).toBe(programDigest(big));
  });

  it('a node may not write the bucket', async () => {
    const bucket = await new Objm(jetstream(node, { checkAPI: false })).open(
      'tramway-programs',
      false,
    );
    await expect(
      bucket.putBlob({ name: 'sha256:evil' }, new Uint8Array([1, 2, 3])),
    ).rejects.toThrow(/permission|timeout|denied/i);
  });
});
