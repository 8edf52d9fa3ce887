// The Resource Virtualization Layer: a pure, deterministic placement engine (no I/O, registers or
// timers). The GRM hands it an inventory and a request and gets back explicit slices to program.
export { applyPlan, applyResize, releaseAllocation } from './apply.js';
export {
  type AdapterAvailability,
  type Availability,
  buildAvailability,
  cloneAvailability,
  type SlotAvailability,
} from './availability.js';
export { RvlCode, type RvlCodeName, RvlError } from './errors.js';
export type { Extent } from './extents.js';
export { planAlternatives } from './gang-alternatives.js';
export {
  DEFAULT_GANG_SEARCH_STEPS,
  type GangSearchResult,
  type GangSpace,
  searchGang,
} from './gang-search.js';
export type {
  AdapterHealth,
  AdapterInventory,
  ExistingSlice,
  Inventory,
  SliceKind,
  SlotInventory,
} from './inventory.js';
export { AvailabilityIndex, type PlanHints, Reservation, type ReservationState } from './live-index.js';
export type {
  Plan,
  PlanFailure,
  PlannedSlice,
  PlanResult,
  Skipped,
  SkipReason,
  SliceToProgram,
  UnplacedResource,
  UnplacedWhy,
} from './plan.js';
export {
  type BusyAllocation,
  busyAllocations,
  type IdleSlice,
  idleSlices,
  type ReclaimPolicy,
  type SliceSample,
} from './reclaim.js';
export {
  type PlacementPolicy,
  type PlacementRequest,
  type Resource,
  type ResourceKind,
  validateRequest,
} from './request.js';
export {
  planGrow,
  planMigration,
  planShrink,
  type ResizeOptions,
  type ResizePlan,
  type ResizeResult,
  type SliceExtent,
} from './resize.js';
export {
  firstFit,
  type PlacementStrategy,
  planRequest,
  preferred,
  type StrategyName,
  strategies,
} from './strategies.js';
