/**
 * `createCoordinator` (STYLE.md §6): the coordinator's core plus, when asked, its HTTP API.
 * Usable in-process (the embedded mode) and from main.ts; takes its ports as deps.
 */
import type { Logger } from '@tramway/shared/infra';
import { silentLogger } from '@tramway/shared/infra';
import type { FleetCoordinator, FleetCoordinatorDeps } from './fleet-coordinator.js';
import { createFleetCoordinator } from './fleet-coordinator.js';
import type { HttpAddress, HttpApi } from './http/http-api.js';
import { listenHttpApi } from './http/http-api.js';

export interface CoordinatorDeps extends FleetCoordinatorDeps {
  readonly logger?: Logger;
  /** serve the HTTP API on host:port (port 0: a free port); no HTTP when absent */
  readonly http?: HttpAddress;
}

export interface Coordinator {
  /**
   * replays the log, subscribes to the fleet, resumes running rollouts, then serves HTTP; when
   * the HTTP API cannot listen, stops the core again and throws the listen error
   */
  start(): Promise<void>;
  /** stops serving and waits for the work in progress; resolves with the first error met */
  stop(): Promise<Error | undefined>;
  /** base URL of the HTTP API ('' before start or without HTTP) */
  readonly url: string;
  /**
   * the admin token `http.adminTokenFile` holds (issued at start when no admin existed);
   * undefined without a file, or when other admins exist and the file holds none
   */
  adminToken(): string | undefined;
  readonly core: FleetCoordinator;
}

export const createCoordinator = (deps: CoordinatorDeps): Coordinator => {
  const logger = deps.logger ?? silentLogger;
  const core = createFleetCoordinator(deps);
  let http: HttpApi | undefined;
  let adminToken: string | undefined;
  return {
    core,
    get url() {
      return http?.url ?? '';
    },
    adminToken: () => adminToken,
    start: async () => {
      await core.start();
      if (deps.http?.adminTokenFile !== undefined) {
        adminToken = await core.tokens.bootstrap(deps.http.adminTokenFile);
      }
      if (deps.http) {
        // a process serving /metrics also says how the process itself does (process_*, nodejs_*)
        core.metrics.collectProcessMetrics();
        try {
          http = await listenHttpApi(
            core,
            deps.http,
            logger.child({ service: 'coordinator', part: 'http' }),
          );
        } catch (error) {
          // a port taken: nothing keeps running (timers, subscriptions) once start has failed
          await core.stop();
          throw error;
        }
      }
    },
    stop: async () => {
      const httpError = await http?.close();
      const coreError = await core.stop();
      return httpError ?? coreError;
    },
  };
};
