// The placements of one gang member worth trying (gang-search.ts), on the live index as it is now
// (earlier members' reservations held): the planner's own choice first, then the member on each
// adapter alone, then the planner's choice with each adapter of its first answer left out (for a
// member that needs several adapters). Duplicates are dropped. Bounded by the pool's adapters: a
// member has at most 1 + 2 × adapters alternatives, so the search's branching stays predictable.
import type { AvailabilityIndex, PlanHints } from './live-index.js';
import type { Plan, PlanResult } from './plan.js';
import type { PlacementRequest } from './request.js';
import { preferred } from './strategies.js';

/** Same slices on the same adapters: the same alternative, whatever the order. */
function signature(plan: Plan): string {
  return plan.placements
    .map((p) => `${p.resourceIndex}:${p.adapter}:${p.kind}:${p.base}+${p.length}:${p.slot ?? ''}`)
    .sort()
    .join('|');
}

export function planAlternatives(
  index: AvailabilityIndex,
  request: PlacementRequest,
  hints: PlanHints = {},
): Plan[] {
  const out: Plan[] = [];
  const seen = new Set<string>();
  const add = (r: PlanResult) => {
    if (!r.ok) return;
    const key = signature(r.plan);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(r.plan);
  };
  const first = index.plan(request, preferred, hints);
  add(first);
  const adapters = index.view().adapters;
  for (const a of adapters) add(preferred.plan({ adapters: [a] }, request));
  if (first.ok)
    for (const used of new Set(first.plan.placements.map((p) => p.adapter)))
      add(preferred.plan({ adapters: adapters.filter((a) => a.id !== used) }, request));
  return out;
}
