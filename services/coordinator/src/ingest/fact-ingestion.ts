/**
 * What agents send: fact batches (validated against the log's own codec and appended to the
 * node's stream) and heartbeats (live signals, never events). A node speaks only for itself:
 * every fact must name the node of the subject it came on, and be a node fact.
 */
import type { FleetEvent, NodeFact } from '@tramway/shared/domain';
import { FleetStreams } from '@tramway/shared/domain';
import type { NewEvent } from '@tramway/shared/lib';
import {
  decodeFleetEvent,
  decodeMessageOrThrow,
  encodeFleetEvent,
  nodeIdOfSubject,
} from '@tramway/shared/contracts';
import type { FactAck } from '@tramway/shared/contracts';
import type { Logger } from '@tramway/shared/infra';
import { AppError, errorText } from '@tramway/shared/infra';
import type { FleetLog } from '../log/fleet-log.js';
import type { LivenessMonitor } from '../liveness/liveness-monitor.js';
import { ownEntry } from '@tramway/shared/lib';
import type { RefusedMessages } from './refused-messages.js';
import { RefusedReason } from './refused-messages.js';

/**
 * A fact batch refused whole (the error reply of a batch sent as a request): it names every
 * problem. Not retryable: the same batch is refused again.
 */
export class FactBatchRefusedError extends AppError {
  override readonly name = 'FactBatchRefusedError';
  readonly problems: readonly string[];
  constructor(subject: string, problems: readonly string[]) {
    super(`fact batch on ${subject} refused: ${problems.join('; ')}`, {
      code: 'FactBatchRefused',
      retryable: false,
    });
    this.problems = problems;
  }
}

export const NODE_FACT_TYPES: ReadonlySet<string> = new Set<NodeFact['type']>([
  'NodeRegistered',
  'NodeBooted',
  'KernelProfileDetected',
  'ModuleLoaded',
  'ModuleUnloaded',
  'ProgramLoaded',
  'ProgramUnloaded',
  'LinkCreated',
  'LinkCreateFailed',
  'LinkReleased',
  'NodeReconciled',
  'NodeReplanned',
]);

export const createFactIngestion = (deps: {
  readonly log: FleetLog;
  readonly logger: Logger;
  readonly liveness: LivenessMonitor;
  /** counts every refused batch and heartbeat by reason */
  readonly refused?: RefusedMessages;
}) => {
  const { log, logger } = deps;
  const refuse = (reason: RefusedReason): void => deps.refused?.count(reason);

  /**
   * Validates and appends a batch; answers which ids the log holds. Throws `InvalidMessage`
   * (not a FactBatch) or `FactBatchRefusedError` (every problem named); nothing is appended then.
   */
  const ingestFacts = async (subject: string, payload: unknown): Promise<FactAck> => {
    const batch = decodeMessageOrThrow('FactBatch', payload);
    const subjectNode = nodeIdOfSubject(subject);
    const problems: string[] = [];
    let speaksForAnother = batch.nodeId !== subjectNode;
    if (batch.nodeId !== subjectNode) {
      problems.push(
        `nodeId: ${batch.nodeId} does not match the subject's node ${subjectNode ?? '(none)'}`,
      );
    }
    const encoded: NewEvent[] = [];
    batch.events.forEach((e, i) => {
      if (!NODE_FACT_TYPES.has(e.type)) {
        problems.push(`events[${i}].type: ${e.type} is not a node fact`);
        return;
      }
      if ((e.data as { nodeId?: unknown } | null)?.nodeId !== batch.nodeId) {
        problems.push(`events[${i}].data.nodeId: must be ${batch.nodeId}`);
        speaksForAnother = true;
        return;
      }
      // Validate through the codec of the log (an upcast to the current version included).
      const decoded = decodeFleetEvent({
        id: e.id,
        type: e.type,
        schemaVersion: e.schemaVersion,
        data: e.data,
        metadata: e.metadata as NewEvent['metadata'],
        streamId: FleetStreams.node(batch.nodeId),
        streamVersion: 1,
        globalPosition: 1,
        recordedAt: e.metadata.occurredAt,
      });
      if (!decoded.ok) {
        problems.push(
          `events[${i}]${decoded.error.path ? `.${decoded.error.path}` : ''}: ${decoded.error.problem}`,
        );
        return;
      }
      try {
        encoded.push(
          encodeFleetEvent({ type: decoded.value.type, data: decoded.value.data } as FleetEvent, {
            id: e.id,
            metadata: decoded.value.metadata,
          }).event,
        );
      } catch (error) {
        problems.push(`events[${i}]: ${errorText(error)}`);
      }
    });
    if (problems.length > 0) {
      refuse(speaksForAnother ? RefusedReason.NodeMismatch : RefusedReason.InvalidFacts);
      logger.warn('fact batch rejected', { subject, problems });
      throw new FactBatchRefusedError(subject, problems);
    }
    deps.liveness.heard(batch.nodeId);
    if (encoded.length === 0) return { held: [], refused: [] };
    const appended = await log.appendFacts(FleetStreams.node(batch.nodeId), encoded);
    if (appended.refused.length > 0)
      logger.error('facts refused: their ids are stored with other content', {
        subject,
        refused: appended.refused,
      });
    return { held: [...appended.held], refused: [...appended.refused] };
  };

  const ingestHeartbeat = (subject: string, payload: unknown): void => {
    const hb = decodeMessageOrThrow('Heartbeat', payload);
    if (hb.nodeId !== nodeIdOfSubject(subject)) {
      refuse(RefusedReason.NodeMismatch);
      logger.warn('heartbeat rejected', { subject, problem: `nodeId ${hb.nodeId} does not match` });
      return;
    }
    const node = ownEntry(log.fleet().nodes, hb.nodeId);
    // A heartbeat of an older boot says nothing of the current one.
    const current = !node || node.bootId === '' || node.bootId === hb.bootId;
    deps.liveness.heard(hb.nodeId, current ? hb.observedGeneration : undefined);
  };

  return { ingestFacts, ingestHeartbeat };
};
