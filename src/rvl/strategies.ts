// Placement strategies behind one interface, so tests and benchmarks run the same cases against each
// (as the Kubernetes DRA allocator's variants share one table of scenarios).
import { type Availability, buildAvailability, findAdapter } from './availability.js';
import { planRequestFeatures } from './features.js';
import { placeFirstFit } from './first-fit.js';
import type { Inventory } from './inventory.js';
import { placePreferred } from './placement.js';
import { type PlanResult, planUnits, type ResourcePlacer } from './plan.js';
import { validateRequest } from './request.js';

export type StrategyName = 'preferred' | 'firstFit';

export interface PlacementStrategy {
  readonly name: StrategyName;
  /**
   * Plans a whole request against `availability` (never modified). Throws RvlError INVALID_REQUEST on a
   * malformed request; returns `{ok: false, reason: 'RESOURCE_UNAVAILABLE'}` when it does not fit.
   */
  plan(availability: Availability, request: unknown): PlanResult;
}

function strategy(name: StrategyName, placer: ResourcePlacer): PlacementStrategy {
  return {
    name,
    plan: (availability, request) =>
      planRequestFeatures(validateRequest(request), {
        adapters: availability.adapters,
        adapter: (id) => findAdapter(availability, id),
        plan: (units, policy) => planUnits(availability, units, policy, placer),
      }),
  };
}

/** Same server, fewest adapters, least fragmentation; combinations when one adapter is not enough. */
export const preferred: PlacementStrategy = strategy('preferred', placePreferred);

/** The seed's baseline: first fit in adapter-id order. */
export const firstFit: PlacementStrategy = strategy('firstFit', placeFirstFit);

export const strategies: readonly PlacementStrategy[] = [preferred, firstFit];

/** Convenience: validate the inventory, index it, and plan with `using` (default `preferred`). */
export function planRequest(
  inventory: Inventory,
  request: unknown,
  using: PlacementStrategy = preferred,
): PlanResult {
  return using.plan(buildAvailability(inventory), request);
}
