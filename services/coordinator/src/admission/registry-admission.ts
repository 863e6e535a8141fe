/**
 * The admission rule of a secured installation (docs/security.md, "Add a node"): the node
 * registry `<TRAMWAY_SECURITY_DIR>/nodes.json` says per node whether its credential was issued
 * with auto-approval. Read again at each decision (rare: once per node first heard), so a node
 * added with `tramway security add-node` while the coordinator runs is decided by its entry. A
 * node the registry does not list waits for approval; an unreadable registry approves nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@tramway/shared/infra';
import { SecurityFiles, loadNodeRegistry } from '@tramway/shared/infra';
import type { AdmissionOptions } from './node-admission.js';

export const registryAdmission = (
  securityDir: string | undefined,
  /** without a registry: `auto` approves every node, `manual` none */
  fallback: 'auto' | 'manual',
  logger: Logger,
): AdmissionOptions => {
  const hasRegistry =
    securityDir !== undefined && existsSync(join(securityDir, SecurityFiles.nodeRegistry));
  if (!hasRegistry) return { autoApprove: () => fallback === 'auto' };
  return {
    autoApprove: (nodeId) => {
      try {
        return loadNodeRegistry(securityDir).nodes.get(nodeId)?.autoApprove === true;
      } catch (error) {
        logger.error('node registry not read: node left pending', {
          nodeId,
          error: String(error),
        });
        return false;
      }
    },
  };
};
