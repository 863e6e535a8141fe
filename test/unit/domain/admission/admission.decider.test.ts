import { describe, expect, it } from 'vitest';
import type { AdmitNode, ApproveNode } from '@tramway/shared/domain';
import { AUTO_APPROVED_REASON, admissionDecider } from '@tramway/shared/domain';
import { deciderSpec } from '../../../support/given-when-then.js';

const sut = deciderSpec(admissionDecider);
const NODE = 'web-9';

const admit = (autoApprove: boolean): AdmitNode => ({
  type: 'AdmitNode',
  data: {
    nodeId: NODE,
    autoApprove,
    reason: autoApprove ? AUTO_APPROVED_REASON : 'waiting for approval',
  },
});
const approve: ApproveNode = {
  type: 'ApproveNode',
  data: { nodeId: NODE, reason: 'approved by user:alice' },
};

describe('admissionDecider', () => {
  it('approves a node whose credential allows it at once', () => {
    const state = sut
      .given([])
      .when(admit(true))
      .then([
        {
          id: `admission:${NODE}:approved:1`,
          event: { type: 'NodeApproved', data: { nodeId: NODE, reason: AUTO_APPROVED_REASON } },
        },
      ]);
    expect(state.status).toBe('approved');
  });

  it('leaves any other node pending until a person approves it', () => {
    const pending = sut
      .given([])
      .when(admit(false))
      .then([
        {
          id: `admission:${NODE}:pending`,
          event: {
            type: 'NodeAdmissionPending',
            data: { nodeId: NODE, reason: 'waiting for approval' },
          },
        },
      ]);
    expect(pending.status).toBe('pending');
    const given = sut.given([
      {
        type: 'NodeAdmissionPending',
        data: { nodeId: NODE, reason: 'waiting for approval' },
        id: `admission:${NODE}:pending`,
      },
    ]);
    // heard again: still pending, nothing new
    given.when(admit(false)).thenNothingHappened();
    const approved = given.when(approve).then([
      {
        id: `admission:${NODE}:approved:1`,
        event: { type: 'NodeApproved', data: { nodeId: NODE, reason: 'approved by user:alice' } },
      },
    ]);
    expect(approved.status).toBe('approved');
  });

  it('approves once, and refuses to approve a node never heard of', () => {
    sut
      .given([
        {
          type: 'NodeApproved',
          data: { nodeId: NODE, reason: AUTO_APPROVED_REASON },
          id: `admission:${NODE}:approved:1`,
        },
      ])
      .when(approve)
      .thenNothingHappened();
    sut
      .given([])
      .when(approve)
      .thenRejects('NotFound', /has not asked to be admitted/);
  });
});
