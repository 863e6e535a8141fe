import type { BusMessage } from '@tramway/shared/infra';
import { decodeMessageOrThrow } from '@tramway/shared/contracts';
import type { NodeActualState } from '../state/actual-state.js';
import type { HandlerDeps } from './handler-deps.js';
import { decodeOrReject } from './handler-deps.js';

/** `tramway.agent.<id>.state`: `{}` -> `NodeActualState` (the coordinator's drift detection). */
export const stateHandler =
  (deps: HandlerDeps) =>
  (message: BusMessage): Promise<NodeActualState> => {
    decodeOrReject(deps, message, (payload) => decodeMessageOrThrow('StateRequest', payload));
    return deps.actualState();
  };
