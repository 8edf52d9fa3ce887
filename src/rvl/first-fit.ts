// The seed's baseline, kept for benchmarks: walk adapters in id order and take the first free extent
// (or slot) that fits; failing that, fill extents in that same order until the need is covered. No
// preferences: no server affinity, no best fit, no reuse ranking. Taints and limits still apply.
import type { AdapterAvailability } from './availability.js';
import { eligibleAdapters } from './candidates.js';
import { roundUp } from './extents.js';
import { noEligibleAdapter, noSlot } from './failures.js';
import type { Piece, ResourceContext, ResourcePlacer } from './plan.js';
import { alignment, freeExtents, type QuantityKind, quantityPiece } from './quantities.js';
import { placeQuantity, type QuantitySearch } from './quantity-placement.js';
import { acceleratorOptions, logicOptions, SlotTier, slotPiece } from './slot-options.js';
import { placeWhole } from './whole.js';

function firstExtent(adapters: AdapterAvailability[], kind: QuantityKind, need: number): Piece | undefined {
  for (const a of adapters) {
    const length = roundUp(need, alignment(a, kind));
    const e = freeExtents(a, kind).find((x) => x.length >= length);
    if (e) return quantityPiece(a, kind, e.base, length, need);
  }
  return undefined;
}

/** Extents in adapter-id then base order until `need` is covered, adding at most `newBudget` adapters. */
function firstSequence(
  adapters: AdapterAvailability[],
  kind: QuantityKind,
  need: number,
  context: ResourceContext,
  newBudget: number,
): Piece[] | undefined {
  const pieces: Piece[] = [];
  let remaining = need;
  let added = 0;
  for (const a of adapters) {
    if (!context.used.has(a.id) && added >= newBudget) continue;
    const extents = freeExtents(a, kind).slice(0, a.freeEntries.length);
    if (extents.length && !context.used.has(a.id)) added++;
    for (const e of extents) {
      const length = Math.min(e.length, roundUp(remaining, alignment(a, kind)));
      pieces.push(quantityPiece(a, kind, e.base, length, Math.min(length, remaining)));
      remaining -= length;
      if (remaining <= 0) return pieces;
    }
  }
  return undefined;
}

const firstFitSearch: QuantitySearch = {
  single: (adapters, kind, need) => firstExtent(adapters, kind, need),
  spread: firstSequence,
};

export const placeFirstFit: ResourcePlacer = (working, resource, context) => {
  if (resource.kind === 'memory')
    return placeQuantity(firstFitSearch, working, 'memory', resource.bytes, context);
  if (resource.kind === 'compute')
    return placeQuantity(firstFitSearch, working, 'compute', resource.units, context);
  // No preference: the first entirely free adapter in id order.
  if (resource.kind === 'adapter') return placeWhole(working, context, () => []);
  const { adapters, skipped } = eligibleAdapters(working, context);
  if (adapters.length === 0) return noEligibleAdapter(skipped);
  // The baseline never replaces an idle engine: only a slot with the function, or an empty one.
  const first = adapters
    .flatMap((a) =>
      resource.kind === 'accelerator'
        ? acceleratorOptions(a, resource.function, resource.contexts ?? 1)
        : logicOptions(a, resource.bitstream),
    )
    .find((o) => o.tier !== SlotTier.REPLACE_IDLE);
  return first ? { ok: true, pieces: [slotPiece(first)] } : noSlot(resource, skipped);
};
