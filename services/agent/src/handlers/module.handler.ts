import type { BusMessage } from '@tramway/shared/infra';
import { decodeMessageOrThrow } from '@tramway/shared/contracts';
import type { ModuleOutcome } from '../agent.types.js';
import type { HandlerDeps } from './handler-deps.js';
import { decodeOrReject } from './handler-deps.js';

/** `tramway.agent.<id>.module`: `{ action, module }` -> `{ ok, errno?, reason? }` (sim nodes). */
export const moduleHandler =
  (deps: HandlerDeps) =>
  async (message: BusMessage): Promise<ModuleOutcome> => {
    const request = decodeOrReject(deps, message, (payload) =>
      decodeMessageOrThrow('ModuleRequest', payload),
    );
    const reply = await deps.module(request.action, request.module);
    deps.logger.info('module request handled', { subject: message.subject, ...request, ...reply });
    return reply;
  };
