/**
 * Who asked a node to load or unload a kernel module, as the decider that owns the stream
 * `module-requests-<nodeId>`: every request the coordinator forwarded to the node's agent is
 * recorded with the requester as its actor and the agent's answer (ModuleActionRequested), so
 * the log tells who made a module appear or go, not only that it did (the agent's
 * ModuleLoaded/ModuleUnloaded facts).
 */
import type { Decider, Decision } from '../decider.js';
import { accept } from '../decider.js';
import type { FleetRecordedEvent, ModuleActionRequested } from '../fleet.events.js';

export type ModuleRequestEvent = ModuleActionRequested;

export interface ModuleRequestState {
  /** requests recorded for the node (ids of the next ones) */
  readonly count: number;
}

export type RecordModuleRequest = Readonly<{
  type: 'RecordModuleRequest';
  data: ModuleActionRequested['data'];
}>;

export const initialModuleRequestState = (): ModuleRequestState => ({ count: 0 });

export const decideModuleRequest = (
  command: RecordModuleRequest,
  state: ModuleRequestState,
): Decision<ModuleRequestEvent> =>
  accept([
    {
      id: `module-request:${command.data.nodeId}:${state.count + 1}`,
      event: { type: 'ModuleActionRequested', data: command.data },
    },
  ]);

export const evolveModuleRequest = (
  state: ModuleRequestState,
  event: FleetRecordedEvent,
): ModuleRequestState =>
  event.type === 'ModuleActionRequested' ? { count: state.count + 1 } : state;

export const moduleRequestDecider: Decider<
  ModuleRequestState,
  RecordModuleRequest,
  ModuleRequestEvent
> = {
  initialState: initialModuleRequestState,
  decide: decideModuleRequest,
  evolve: evolveModuleRequest,
};
