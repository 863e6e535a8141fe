import type { BusMessage } from '@tramway/shared/infra';
import { MODULE_REQUEST_SCHEMA, decodeMessage } from '../agent-messages.js';
import type { HandlerDeps } from './handler-deps.js';
import { decodeOrReject } from './handler-deps.js';

/** `tramway.agent.<id>.module`: `{ action, module }` -> `{ ok, errno?, reason? }` (sim nodes). */
export const moduleHandler =
  (deps: HandlerDeps) =>
  async (
    message: BusMessage,
  ): Promise<{ ok: true } | { ok: false; errno: string; reason: string }> => {
    const request = decodeOrReject(deps, message, (subject, payload) =>
      decodeMessage(MODULE_REQUEST_SCHEMA, subject, payload),
    );
    const reply = await deps.module(request.action, request.module);
    deps.logger.info('module request handled', { subject: message.subject, ...request, ...reply });
    return reply;
  };
