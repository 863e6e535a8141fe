import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { BusMalformedMessageError } from '../../../shared/src/infra/bus/fleet-bus.port.js';
import { connectNatsBus, createNatsBus } from '../../../shared/src/infra/bus/nats-bus.js';
import { startNatsServer } from '../../support/nats-server.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { waitUntil } from '../../support/wait-until.js';
import { testFleetBus } from './fleet-bus.contract.js';

let server: NatsServerHandle;
beforeAll(async () => {
  // plain server: this contract is the store's / the bus's behaviour over NATS, which credentials
  // do not change (identities and permissions: test/security/)
  server = await startNatsServer({ secure: false });
});
afterAll(async () => {
  await server.stop();
});

testFleetBus('NATS core (two connections to a real nats-server)', async (options) => {
  const sender = await connectNatsBus(server.url, { ...options, name: 'sender' });
  const receiver = await connectNatsBus(server.url, { ...options, name: 'receiver' });
  return {
    sender,
    receiver,
    dispose: async () => {
      await sender.close();
      await receiver.close();
    },
  };
});

describe('createNatsBus', () => {
  it('reports a message that is not JSON as BusMalformedMessageError and keeps the subscription', async () => {
    const raw = await connect({ servers: server.url });
    const errors: unknown[] = [];
    const sut = await connectNatsBus(server.url, {
      onHandlerError: (error) => errors.push(error),
    });
    const seen: unknown[] = [];
    sut.subscribe('tramway.facts.*', ({ payload }) => {
      seen.push(payload);
    });
    await sut.flush();
    raw.publish('tramway.facts.n1', '{not json');
    raw.publish('tramway.facts.n1', '{"nodeId":"n1"}');
    await raw.flush();
    await waitUntil('the valid message', () => seen.length === 1);
    expect(seen).toEqual([{ nodeId: 'n1' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(BusMalformedMessageError);
    expect((errors[0] as Error).message).toContain('tramway.facts.n1');
    await sut.close();
    await raw.close();
  });

  it('answers a malformed request with a BusMalformedMessage error reply', async () => {
    const raw = await connect({ servers: server.url });
    const sut = createNatsBus(raw);
    sut.respond('tramway.agent.n1.state', () => ({ ok: true }));
    await sut.flush();
    const reply = await raw.request('tramway.agent.n1.state', 'nope', { timeout: 2000 });
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('BusMalformedMessage');
    await sut.close();
    expect(raw.isClosed()).toBe(false);
    await raw.close();
  });
});
