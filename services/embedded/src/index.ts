export type { EmbeddedFleet, EmbeddedFleetOptions } from './embedded-fleet.js';
export { startEmbeddedFleet } from './embedded-fleet.js';
export type { EmbeddedNodeSpec, FleetFile } from './fleet-file.js';
export { DEFAULT_FLEET_FILE, loadFleetFile } from './fleet-file.js';
