export type { Coordinator, CoordinatorDeps } from './app.js';
export { createCoordinator } from './app.js';
export type {
  CoordinatorClock,
  CoordinatorOptions,
  FleetCoordinator,
  FleetCoordinatorDeps,
} from './fleet-coordinator.js';
export type { CoordinatorConfig } from './config.js';
export { loadConfig } from './config.js';
