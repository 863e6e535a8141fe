export type {
  FleetState,
  NodeView,
  NodePlanView,
  ModuleView,
  ProgramView,
  LinkView,
  TrampolineOccupancy,
  LinkFailureView,
  PolicyView,
  RolloutView,
  RolloutStatus,
  WaveView,
  WaveStatus,
  FleetFolder,
} from './fleet.projection.js';
export {
  initialFleetState,
  trampolineKey,
  foldFleet,
  evolveFleet,
  createFleetFolder,
} from './fleet.projection.js';
export type { FleetSnapshot, TimeTarget } from './fleet-snapshot.js';
export {
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  fleetStateJson,
  takeSnapshot,
  restoreSnapshot,
  isWithin,
  canStartFrom,
} from './fleet-snapshot.js';
export type { ReadModelTable, Cell, Row, RowChange } from './fleet-read-model.projection.js';
export { READ_MODEL_TABLES, toRowChanges } from './fleet-read-model.projection.js';
export type { FleetStateCache, FleetStateCacheOptions } from './fleet-state-cache.js';
export { createFleetStateCache } from './fleet-state-cache.js';
