import type { BusMessage } from '@tramway/shared/infra';
import { STATE_REQUEST_SCHEMA, decodeMessage } from '../agent-messages.js';
import type { NodeActualState } from '../app.js';
import type { HandlerDeps } from './handler-deps.js';
import { decodeOrReject } from './handler-deps.js';

/** `tramway.agent.<id>.state`: `{}` -> `NodeActualState` (the coordinator's drift detection). */
export const stateHandler =
  (deps: HandlerDeps) =>
  (message: BusMessage): Promise<NodeActualState> => {
    decodeOrReject(deps, message, (subject, payload) =>
      decodeMessage(STATE_REQUEST_SCHEMA, subject, payload),
    );
    return deps.actualState();
  };
