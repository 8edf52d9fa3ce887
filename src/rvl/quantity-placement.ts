// The skeleton every strategy shares for memory and compute: one extent if the strategy finds one,
// else (when the policy allows splitting) a spread over several, else a failure that says whether
// policy.maxAdapters is what stood in the way. Strategies differ only in the two searches.
import type { AdapterAvailability, Availability } from './availability.js';
import { eligibleAdapters, newAdapterBudget, withoutMaxAdapters } from './candidates.js';
import { noEligibleAdapter, quantityUnavailable } from './failures.js';
import type { Piece, PieceResult, ResourceContext } from './plan.js';
import type { QuantityKind } from './quantities.js';

export interface QuantitySearch {
  /** One extent on one adapter for the whole need, or undefined. */
  single(
    adapters: AdapterAvailability[],
    kind: QuantityKind,
    need: number,
    context: ResourceContext,
  ): Piece | undefined;
  /** Several extents covering the need, adding at most `newBudget` adapters, or undefined. */
  spread(
    adapters: AdapterAvailability[],
    kind: QuantityKind,
    need: number,
    context: ResourceContext,
    newBudget: number,
  ): Piece[] | undefined;
}

export function placeQuantity(
  search: QuantitySearch,
  working: Availability,
  kind: QuantityKind,
  need: number,
  context: ResourceContext,
): PieceResult {
  const { adapters, skipped } = eligibleAdapters(working, context);
  if (adapters.length === 0) return noEligibleAdapter(skipped);
  const single = search.single(adapters, kind, need, context);
  if (single) return { ok: true, pieces: [single] };
  if (context.policy.allowSplit === false)
    return quantityUnavailable(kind, need, adapters, skipped, context, false);
  const pieces = search.spread(adapters, kind, need, context, newAdapterBudget(context));
  if (pieces) return { ok: true, pieces };
  const bound =
    context.policy.maxAdapters !== undefined &&
    placeQuantity(search, working, kind, need, withoutMaxAdapters(context)).ok;
  return quantityUnavailable(kind, need, adapters, skipped, context, bound);
}
