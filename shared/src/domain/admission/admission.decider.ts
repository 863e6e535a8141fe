/**
 * Whether a node is admitted, as the decider that owns the stream `admission-<nodeId>`
 * (docs/fleet-protocol.md, "Admission"). A node heard for the first time is either approved at
 * once (its credential allows auto-approval: NodeApproved by `coordinator`) or left pending
 * (NodeAdmissionPending) until a person approves it (NodeApproved, the approver as actor). A
 * node that is not approved gets no assignment and counts in no rollout.
 */
import type { Decider, Decision } from '../decider.js';
import { accept, nothing, reject } from '../decider.js';
import type { FleetRecordedEvent, NodeAdmissionPending, NodeApproved } from '../fleet.events.js';

export type AdmissionEvent = NodeAdmissionPending | NodeApproved;

export interface AdmissionState {
  readonly nodeId: string;
  /** `unknown`: no admission decision yet */
  readonly status: 'unknown' | 'pending' | 'approved';
  /** how many times the node was approved (the id of the next NodeApproved) */
  readonly approvals: number;
}

/** A node was heard: approve it at once when `autoApprove`, else record it pending. */
export type AdmitNode = Readonly<{
  type: 'AdmitNode';
  data: Readonly<{ nodeId: string; autoApprove: boolean; reason: string }>;
}>;

/** A person approves a pending node (the event's actor is the approver). */
export type ApproveNode = Readonly<{
  type: 'ApproveNode';
  data: Readonly<{ nodeId: string; reason: string }>;
}>;

export type AdmissionCommand = AdmitNode | ApproveNode;

export const AUTO_APPROVED_REASON = 'auto-approved credential';

export const initialAdmissionState = (): AdmissionState => ({
  nodeId: '',
  status: 'unknown',
  approvals: 0,
});

const approved = (state: AdmissionState, nodeId: string, reason: string) =>
  accept<AdmissionEvent>([
    {
      id: `admission:${nodeId}:approved:${state.approvals + 1}`,
      event: { type: 'NodeApproved', data: { nodeId, reason } },
    },
  ]);

export const decideAdmission = (
  command: AdmissionCommand,
  state: AdmissionState,
): Decision<AdmissionEvent> => {
  const { nodeId } = command.data;
  switch (command.type) {
    case 'AdmitNode':
      if (state.status !== 'unknown') return nothing();
      if (command.data.autoApprove) return approved(state, nodeId, command.data.reason);
      return accept([
        {
          id: `admission:${nodeId}:pending`,
          event: { type: 'NodeAdmissionPending', data: { nodeId, reason: command.data.reason } },
        },
      ]);
    case 'ApproveNode':
      if (state.status === 'approved') return nothing();
      if (state.status === 'unknown')
        return reject('NotFound', `node ${nodeId} has not asked to be admitted`);
      return approved(state, nodeId, command.data.reason);
  }
};

export const evolveAdmission = (
  state: AdmissionState,
  event: FleetRecordedEvent,
): AdmissionState => {
  switch (event.type) {
    case 'NodeAdmissionPending':
      return { ...state, nodeId: event.data.nodeId, status: 'pending' };
    case 'NodeApproved':
      return {
        ...state,
        nodeId: event.data.nodeId,
        status: 'approved',
        approvals: state.approvals + 1,
      };
    default:
      return state;
  }
};

export const admissionDecider: Decider<AdmissionState, AdmissionCommand, AdmissionEvent> = {
  initialState: initialAdmissionState,
  decide: decideAdmission,
  evolve: evolveAdmission,
};
