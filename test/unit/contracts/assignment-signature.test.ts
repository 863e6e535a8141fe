import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ASSIGNMENT_SIGNATURE_DOMAIN,
  assignmentSigningBytes,
  canonicalJson,
  compareAssignmentOrder,
  decodeMessage,
} from '@tramway/shared/contracts';
import { generateAssignmentKeyPair, signAssignment, verifyAssignment } from '@tramway/shared/infra';

const keys = generateAssignmentKeyPair();
const other = generateAssignmentKeyPair();

const assignment = {
  nodeId: 'web-1',
  epoch: 2,
  generation: 7,
  issuedAt: '2026-12-02T06:00:00.000Z',
  policies: [
    {
      name: 'tcp-latency',
      version: 3,
      spec: {
        program: { name: 'tcp_lat', attach: 'fentry' },
        targets: [{ pattern: 'tcp_sendmsg', cookie: 1 }],
      },
    },
  ],
  cause: {
    initiatedBy: 'user:alice',
    correlationId: 'tcp-latency-v3',
    eventId: 'assignment:web-1:g7',
  },
};

describe('canonical bytes of an assignment', () => {
  it('sorts keys at every depth, drops undefined members and the signature, behind a domain prefix', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"e":0,"f":1}]},"b":1}',
    );
    const text = new TextDecoder().decode(
      assignmentSigningBytes({
        generation: 1,
        nodeId: 'n',
        signature: { alg: 'ed25519', value: 'x' },
      }),
    );
    expect(text).toBe(`${ASSIGNMENT_SIGNATURE_DOMAIN}{"generation":1,"nodeId":"n"}`);
  });

  it('does not depend on the order members were written in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (dict) => {
        const reversed = Object.fromEntries(Object.entries(dict).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(dict));
        // and it is JSON that reads back to the same value
        expect(JSON.parse(canonicalJson(dict))).toEqual(JSON.parse(JSON.stringify(dict)));
      }),
    );
  });

  it('orders by (epoch, generation): a higher epoch always wins', () => {
    expect(
      compareAssignmentOrder({ epoch: 1, generation: 2 }, { epoch: 0, generation: 1_000_000 }),
    ).toBeGreaterThan(0);
    expect(
      compareAssignmentOrder({ epoch: 1, generation: 2 }, { epoch: 1, generation: 3 }),
    ).toBeLessThan(0);
    expect(compareAssignmentOrder({ epoch: 1, generation: 3 }, { epoch: 1, generation: 3 })).toBe(
      0,
    );
  });
});

describe('signAssignment / verifyAssignment (Ed25519)', () => {
  it('verifies what the coordinator signed, after a trip through JSON, and it still decodes', () => {
    const sent = JSON.parse(JSON.stringify(signAssignment(keys.privateKey, assignment))) as unknown;
    expect(verifyAssignment(keys.publicKey, sent)).toEqual({ ok: true });
    const decoded = decodeMessage('Assignment', sent);
    expect(decoded.ok && decoded.value).toMatchObject({ nodeId: 'web-1', epoch: 2, generation: 7 });
  });

  it('refuses an unsigned assignment, one signed with another key, and any field changed', () => {
    expect(verifyAssignment(keys.publicKey, assignment)).toMatchObject({
      ok: false,
      error: 'unsigned',
    });
    expect(
      verifyAssignment(keys.publicKey, signAssignment(other.privateKey, assignment)),
    ).toMatchObject({
      ok: false,
      error: 'bad-signature',
    });
    const signed = signAssignment(keys.privateKey, assignment);
    const tampered = [
      { ...signed, generation: 1_000_000 },
      { ...signed, epoch: 3 },
      { ...signed, nodeId: 'web-2' },
      { ...signed, issuedAt: '2026-12-02T07:00:00.000Z' },
      { ...signed, cause: { ...signed.cause, initiatedBy: 'coordinator' } },
      {
        ...signed,
        policies: [
          {
            ...signed.policies[0]!,
            spec: { ...signed.policies[0]!.spec, targets: [{ pattern: '*' }] },
          },
        ],
      },
      { ...signed, extra: true },
      { ...signed, signature: { alg: 'ed25519', value: 'AAAA' } },
      { ...signed, signature: { alg: 'rsa', value: signed.signature.value } },
    ];
    for (const t of tampered)
      expect(verifyAssignment(keys.publicKey, t), JSON.stringify(t).slice(0, 80)).toMatchObject({
        ok: false,
        error: 'bad-signature',
      });
  });
});
