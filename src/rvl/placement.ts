// The `preferred` placement search: per resource, first ONE extent or slot on one adapter, chosen by
// score (scoring.ts: same server, fewest adapters, healthy; then least fragmentation), and for memory
// and compute, when no single extent fits and the policy allows it, a combination (combination.ts).
import type { AdapterAvailability, Availability } from './availability.js';
import { eligibleAdapters } from './candidates.js';
import { spreadPreferred } from './combination.js';
import { roundUp } from './extents.js';
import { noEligibleAdapter, noSlot } from './failures.js';
import type { PieceResult, ResourceContext, ResourcePlacer } from './plan.js';
import { alignment, freeExtents, type QuantityKind, quantityPiece } from './quantities.js';
import { placeQuantity, type QuantitySearch } from './quantity-placement.js';
import { adapterScore, pickBest } from './scoring.js';
import { acceleratorOptions, logicOptions, type SlotOption, slotPiece } from './slot-options.js';
import { placeWhole } from './whole.js';

/** Best fit: the smallest free extent that holds the (aligned) need, on the best-scored adapter. */
function singleExtent(
  adapters: AdapterAvailability[],
  kind: QuantityKind,
  need: number,
  context: ResourceContext,
) {
  const fits = adapters.flatMap((a) => {
    const length = roundUp(need, alignment(a, kind));
    return freeExtents(a, kind)
      .filter((e) => e.length >= length)
      .map((e) => ({ a, e, length }));
  });
  return pickBest(fits, (f) => [...adapterScore(f.a, context), f.e.length - f.length]);
}

const preferredSearch: QuantitySearch = {
  single: (adapters, kind, need, context) => {
    const best = singleExtent(adapters, kind, need, context);
    return best && quantityPiece(best.a, kind, best.e.base, best.length, need);
  },
  spread: spreadPreferred,
};

/** Slots: reuse a loaded engine before loading an empty slot before replacing an idle one; then the
 * smallest free context range that fits (best fit keeps large ranges for large requests). */
function placeInSlot(
  working: Availability,
  context: ResourceContext,
  optionsOf: (a: AdapterAvailability) => SlotOption[],
  unavailable: (skipped: ReturnType<typeof eligibleAdapters>['skipped']) => PieceResult,
): PieceResult {
  const { adapters, skipped } = eligibleAdapters(working, context);
  if (adapters.length === 0) return noEligibleAdapter(skipped);
  const best = pickBest(adapters.flatMap(optionsOf), (o) => [
    ...adapterScore(o.adapter, context),
    o.tier,
    o.leftover,
  ]);
  return best ? { ok: true, pieces: [slotPiece(best)] } : unavailable(skipped);
}

export const placePreferred: ResourcePlacer = (working, resource, context) => {
  switch (resource.kind) {
    case 'memory':
      return placeQuantity(preferredSearch, working, 'memory', resource.bytes, context);
    case 'compute':
      return placeQuantity(preferredSearch, working, 'compute', resource.units, context);
    case 'accelerator':
      return placeInSlot(
        working,
        context,
        (a) => acceleratorOptions(a, resource.function, resource.contexts ?? 1),
        (skipped) => noSlot(resource, skipped),
      );
    case 'logic':
      return placeInSlot(
        working,
        context,
        (a) => logicOptions(a, resource.bitstream),
        (skipped) => noSlot(resource, skipped),
      );
    case 'adapter':
      return placeWhole(working, context, (a) => adapterScore(a, context));
  }
};
