// The words of a failed placement: which resource, why, and what the caller can change.
import type { AdapterAvailability } from './availability.js';
import { describeSkipped } from './candidates.js';
import { capacity } from './combination.js';
import type { PieceResult, ResourceContext, Skipped, UnplacedWhy } from './plan.js';
import { describeAmount, freeExtents, type QuantityKind } from './quantities.js';
import type { Resource } from './request.js';

function fail(why: UnplacedWhy, message: string, skipped: Skipped): PieceResult {
  return { ok: false, why, message: message + describeSkipped(skipped), skipped };
}

export function noEligibleAdapter(skipped: Skipped): PieceResult {
  return fail(
    'NO_ELIGIBLE_ADAPTER',
    'no adapter may take a new slice for this request (see skipped)',
    skipped,
  );
}

/** Memory or compute that could not be placed; `maxAdaptersBound` says a wider combination would fit. */
export function quantityUnavailable(
  kind: QuantityKind,
  need: number,
  adapters: AdapterAvailability[],
  skipped: Skipped,
  context: ResourceContext,
  maxAdaptersBound: boolean,
): PieceResult {
  const extents = adapters.flatMap((a) => freeExtents(a, kind));
  const largest = describeAmount(kind, Math.max(0, ...extents.map((e) => e.length)));
  // What slices could actually take: free extents, as many per adapter as it has free entries.
  const total = describeAmount(
    kind,
    adapters.reduce((s, a) => s + capacity(a, kind), 0),
  );
  const asked = `${describeAmount(kind, need)} of ${kind}`;
  if (context.policy.allowSplit === false) {
    const m =
      `${asked} does not fit in one free extent (largest: ${largest}, ${total} usable in total) and policy.allowSplit ` +
      'is false: allow splitting or ask for less';
    return fail('NOT_CONTIGUOUS', m, skipped);
  }
  if (maxAdaptersBound) {
    const m = `${asked} fits only over more adapters than policy.maxAdapters=${context.policy.maxAdapters}: raise it or ask for less`;
    return fail('MAX_ADAPTERS', m, skipped);
  }
  const m = `${asked} requested, ${total} usable on the eligible adapters (aligned, with free slice entries): release slices or add adapters`;
  return fail('NOT_ENOUGH_FREE', m, skipped);
}

export function noSlot(
  resource: Extract<Resource, { kind: 'accelerator' | 'logic' }>,
  skipped: Skipped,
): PieceResult {
  const m =
    resource.kind === 'accelerator'
      ? `no slot for ${resource.function}: none has it loaded with ${resource.contexts ?? 1} free context(s) and no ` +
        'adapter supporting it has a slot to load it into: release contexts or unload an engine'
      : `no slot to load bitstream ${resource.bitstream} into: every slot's engine is in use; release one`;
  return fail('NO_SLOT', m, skipped);
}
