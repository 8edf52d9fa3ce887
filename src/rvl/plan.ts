// What a placement search produces (explicit slices, as NVIDIA MIG places instances) and the loop
// every strategy shares: resources of one request are planned in order against ONE working copy of
// availability, and the request either plans completely or fails naming the resource that did not fit.
import {
  type AdapterAvailability,
  type Availability,
  cloneAvailability,
  findAdapter,
  reserve,
} from './availability.js';
import type { SliceKind } from './inventory.js';
import type { PlacementPolicy, Resource, ResourceKind } from './request.js';
import type { Selector } from './selector.js';

/** One slice to program: ra-spec §10 fields plus the bitstream to load first, if any. */
export interface SliceToProgram {
  kind: SliceKind;
  adapter: string;
  /** Free slice-table entry chosen for it (the lowest free one). */
  entry: number;
  base: number;
  length: number;
  /** Context slices: the slot whose engine they use. */
  slot?: number;
  /** Load this into `slot` before reserving the contexts (the slot was empty or idle). */
  loadBitstream?: { function: string } | { bitstream: string };
}

export interface PlannedSlice extends SliceToProgram {
  /** Index of the request resource this slice (or piece of it) serves. */
  resourceIndex: number;
  /** Compute: units of the request carried by this slice. */
  units?: number;
  /** Memory: bytes of the request carried by this slice (<= length, which is rounded to alignment). */
  bytes?: number;
}

export interface Plan {
  placements: PlannedSlice[];
  /** firstAvailable resources: the index of the alternative granted, by resource index. */
  alternatives?: Record<number, number>;
  /** Whole-adapter resources with adminAccess: the adapters watched (no slices), by resource index. */
  monitors?: Record<number, string[]>;
}

/** What the shared loop places: a plain resource, or one whole adapter (kind 'adapter'). */
export type CoreResource =
  | Extract<Resource, { kind: 'memory' | 'compute' | 'accelerator' | 'logic' }>
  | {
      kind: 'adapter';
    };

/** One resource of the loop, the request resource it serves, and where it may go. */
export interface Unit {
  resource: CoreResource;
  /** Index of the request's resource (a whole-adapter count or firstAvailable gives several units one). */
  origin: number;
  selector?: Selector | undefined;
}

export type SkipReason = 'unhealthy' | 'degraded' | 'heldWhole' | 'sliceTableFull' | 'maxAdapters';
export type Skipped = Partial<Record<SkipReason, string[]>>;

export type UnplacedWhy =
  | 'NO_ELIGIBLE_ADAPTER' // every adapter was skipped (see `skipped`)
  | 'NOT_CONTIGUOUS' // enough free in total, but no single extent and splitting is off
  | 'MAX_ADAPTERS' // a combination exists only over more adapters than policy.maxAdapters
  | 'NOT_ENOUGH_FREE' // the eligible adapters together have too little free
  | 'NO_SLOT' // no slot can host the function or bitstream
  | 'NO_MATCHING_ADAPTER' // the resource's selector matches no adapter of the pool
  | 'CONSTRAINT'; // each resource fits, but not all together under the request's constraints

export interface UnplacedResource {
  resourceIndex: number;
  kind: ResourceKind;
  why: UnplacedWhy;
  message: string;
  skipped: Skipped;
}

export interface PlanFailure {
  ok: false;
  reason: 'RESOURCE_UNAVAILABLE';
  details: UnplacedResource;
}

export type PlanResult = { ok: true; plan: Plan } | PlanFailure;

/** A slice a strategy proposes; the shared loop gives it a slice-table entry. */
export type Piece = Omit<PlannedSlice, 'entry' | 'resourceIndex'>;

export interface ResourceContext {
  policy: PlacementPolicy;
  /** Adapters this request (or its allocation) already uses: "fewest adapters" and maxAdapters count them. */
  used: Set<string>;
  /**
   * Adapters with configuration in flight (the GRM's hint; never set by the RVL-only strategies).
   * Among the candidates of one tier of the indexed search, one that is not busy is taken before a
   * busy one, so concurrent allocations configure different adapters instead of queueing on one
   * admin mailbox (ra-spec §5.2: one command at a time per adapter).
   */
  busy?: (adapterId: string) => boolean;
  /** The resource being placed may go only where this is true (its selector; features.ts sets it). */
  selector?: Selector;
}

export type PieceResult =
  | { ok: true; pieces: Piece[] }
  | { ok: false; why: UnplacedWhy; message: string; skipped: Skipped };

/** A strategy's answer for one resource against the working copy; it must not modify `working`. */
export type ResourcePlacer = (
  working: Availability,
  resource: CoreResource,
  context: ResourceContext,
) => PieceResult;

/** The failure of a whole request: the resource that did not fit, and why. */
export function failedPlan(
  resourceIndex: number,
  resource: { kind: ResourceKind },
  result: Extract<PieceResult, { ok: false }>,
): PlanFailure {
  const { why, message, skipped } = result;
  const details = {
    resourceIndex,
    kind: resource.kind,
    why,
    message: `resources[${resourceIndex}]: ${message}`,
    skipped,
  };
  return { ok: false, reason: 'RESOURCE_UNAVAILABLE', details };
}

function lowestFreeEntry(a: AdapterAvailability): number {
  return a.freeEntries[0]!;
}

/** Runs `placer` over every unit, in order. `availability` is never modified. */
export function planUnits(
  availability: Availability,
  units: readonly Unit[],
  policy: PlacementPolicy,
  placer: ResourcePlacer,
): PlanResult {
  const working = cloneAvailability(availability);
  const context: ResourceContext = { policy, used: new Set(policy.adaptersInUse ?? []) };
  const placements: PlannedSlice[] = [];
  for (const unit of units) {
    context.selector = unit.selector; // assigned, never deleted: the context keeps one shape
    const result = placer(working, unit.resource, context);
    if (!result.ok) return failedPlan(unit.origin, unit.resource, result);
    for (const piece of result.pieces) {
      const placement: PlannedSlice = {
        resourceIndex: unit.origin,
        entry: lowestFreeEntry(findAdapter(working, piece.adapter)!),
        ...piece,
      };
      reserve(working, placement);
      context.used.add(placement.adapter);
      placements.push(placement);
    }
  }
  return { ok: true, plan: { placements } };
}
