// Resizing and moving one existing memory or compute slice (CMD_SLICE_RESIZE keeps the base, ra-spec
// §5.4): grow in place when the extent right after it is free, otherwise move it to a new extent big
// enough (the GRM copies the contents with the DMA engine, then releases the old slice); shrink cuts
// the tail. Migration is also how a slice leaves an unhealthy adapter or a fragmented one.
import { type AdapterAvailability, type Availability, findAdapter } from './availability.js';
import { invalidRequest, RvlCode, RvlError } from './errors.js';
import { end, roundUp } from './extents.js';
import type { ExistingSlice } from './inventory.js';
import type { PlanFailure, PlanResult, SliceToProgram } from './plan.js';
import { alignment, freeExtents } from './quantities.js';
import type { Resource } from './request.js';
import { type PlacementStrategy, preferred } from './strategies.js';

export interface SliceExtent {
  adapter: string;
  entry: number;
  base: number;
  length: number;
}

export type ResizePlan =
  /** CMD_SLICE_RESIZE on the same entry: base unchanged. */
  | { kind: 'in-place'; slice: SliceExtent; toLength: number }
  /** CMD_SLICE_RESIZE to a shorter length: [base+toLength, base+fromLength) is scrubbed and freed. */
  | { kind: 'shrink'; slice: SliceExtent; toLength: number }
  /** Reserve `to`, copy `from` into it with DMA, then release `from`. */
  | { kind: 'migrate'; from: SliceExtent; to: SliceToProgram };

export type ResizeResult = { ok: true; plan: ResizePlan } | PlanFailure;

export interface ResizeOptions {
  strategy?: PlacementStrategy;
  allowDegraded?: boolean;
  /** Preferred server of the new extent; default the slice's current server. */
  sameServer?: string;
}

type QuantitySlice = ExistingSlice & { kind: 'memory' | 'compute' };

/** What resizing reads: adapters by id, and a planner for the one-slice request of a move. */
export interface ResizeSpace {
  adapter(id: string): AdapterAvailability | undefined;
  /** Plans `request` with `strategy` over `targets` (every adapter when undefined). */
  plan(request: unknown, targets: readonly string[] | undefined, strategy: PlacementStrategy): PlanResult;
}

/** A from-scratch availability as a resize space. */
function availabilitySpace(availability: Availability): ResizeSpace {
  return {
    adapter: (id) => findAdapter(availability, id),
    plan: (request, targets, strategy) =>
      strategy.plan(
        targets ? { adapters: availability.adapters.filter((a) => targets.includes(a.id)) } : availability,
        request,
      ),
  };
}

function checkSlice(space: ResizeSpace, slice: ExistingSlice): asserts slice is QuantitySlice {
  if (slice.kind !== 'memory' && slice.kind !== 'compute') {
    throw invalidRequest(
      `slice ${slice.adapter}#${slice.entry} is a ${slice.kind} slice; only memory and compute slices resize`,
    );
  }
  if (!space.adapter(slice.adapter)) {
    throw new RvlError(
      RvlCode.UNKNOWN_ADAPTER,
      `slice ${slice.adapter}#${slice.entry} names an unknown adapter`,
    );
  }
}

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length <= 0) {
    throw invalidRequest(`a new length must be a positive integer below 2^53, got ${length}`, {
      field: 'length',
    });
  }
}

const extentOf = (s: ExistingSlice): SliceExtent => ({
  adapter: s.adapter,
  entry: s.entry,
  base: s.base,
  length: s.length,
});

function resource(kind: 'memory' | 'compute', length: number): Resource {
  return kind === 'memory' ? { kind, bytes: length } : { kind, units: length };
}

/** One new extent of `length` for `slice` on one of `targets`, chosen by the strategy. */
function relocate(
  space: ResizeSpace,
  slice: QuantitySlice,
  length: number,
  targets: readonly string[] | undefined,
  options: ResizeOptions,
  what: string,
): ResizeResult {
  const source = space.adapter(slice.adapter)!;
  const request = {
    resources: [resource(slice.kind, length)],
    // Prefer the slice's own adapter (a local copy) and server: migration is a one-slice request.
    policy: {
      allowSplit: false,
      allowDegraded: options.allowDegraded ?? false,
      sameServer: options.sameServer ?? source.server,
      adaptersInUse: [slice.adapter],
    },
  };
  const result = space.plan(request, targets, options.strategy ?? preferred);
  if (!result.ok) {
    const message = `${what} slice ${slice.adapter}#${slice.entry}: ${result.details.message.replace(/^resources\[0\]: /, '')}`;
    return { ...result, details: { ...result.details, message } };
  }
  const { resourceIndex, bytes, units, ...to } = result.plan.placements[0]!;
  return { ok: true, plan: { kind: 'migrate', from: extentOf(slice), to } };
}

/** Grow `slice` to `newLength` (rounded up to alignment): in place if possible, else a migration. */
export function planGrow(
  availability: Availability,
  slice: ExistingSlice,
  newLength: number,
  options: ResizeOptions = {},
): ResizeResult {
  return planGrowIn(availabilitySpace(availability), slice, newLength, options);
}

export function planGrowIn(
  space: ResizeSpace,
  slice: ExistingSlice,
  newLength: number,
  options: ResizeOptions = {},
): ResizeResult {
  checkSlice(space, slice);
  checkLength(newLength);
  const a = space.adapter(slice.adapter)!;
  const toLength = roundUp(newLength, alignment(a, slice.kind));
  if (toLength <= slice.length)
    throw invalidRequest(
      `growing slice ${slice.adapter}#${slice.entry} to ${newLength} does not grow it; use planShrink`,
    );
  const tainted = a.health === 'unhealthy' || (a.health === 'degraded' && !options.allowDegraded);
  const next = freeExtents(a, slice.kind).find((e) => e.base === end(slice));
  if (!tainted && next && next.length >= toLength - slice.length) {
    return { ok: true, plan: { kind: 'in-place', slice: extentOf(slice), toLength } };
  }
  return relocate(space, slice, toLength, undefined, options, 'growing');
}

/** Shrink `slice` to `newLength` (rounded up to alignment, so the cut stays aligned). */
export function planShrink(availability: Availability, slice: ExistingSlice, newLength: number): ResizePlan {
  return planShrinkIn(availabilitySpace(availability), slice, newLength);
}

export function planShrinkIn(space: ResizeSpace, slice: ExistingSlice, newLength: number): ResizePlan {
  checkSlice(space, slice);
  checkLength(newLength);
  const toLength = roundUp(newLength, alignment(space.adapter(slice.adapter)!, slice.kind));
  if (toLength > slice.length)
    throw invalidRequest(
      `shrinking slice ${slice.adapter}#${slice.entry} to ${newLength} would grow it; use planGrow`,
    );
  return { kind: 'shrink', slice: extentOf(slice), toLength };
}

/** Move `slice` whole to one of `targetAdapters` (its own adapter included for defragmentation). */
export function planMigration(
  availability: Availability,
  slice: ExistingSlice,
  targetAdapters: readonly string[],
  options: ResizeOptions = {},
): ResizeResult {
  return planMigrationIn(availabilitySpace(availability), slice, targetAdapters, options);
}

export function planMigrationIn(
  space: ResizeSpace,
  slice: ExistingSlice,
  targetAdapters: readonly string[],
  options: ResizeOptions = {},
): ResizeResult {
  checkSlice(space, slice);
  if (targetAdapters.length === 0) throw invalidRequest('planMigration needs at least one target adapter');
  const unknown = targetAdapters.filter((id) => !space.adapter(id));
  if (unknown.length)
    throw new RvlError(RvlCode.UNKNOWN_ADAPTER, `unknown target adapter(s): ${unknown.join(', ')}`);
  return relocate(space, slice, slice.length, targetAdapters, options, 'migrating');
}
