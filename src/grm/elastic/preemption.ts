// Priorities and preemption, decided as pure code: a request of higher priority that cannot fit may
// take capacity from allocations of strictly lower priority that declared themselves preemptible —
// first by shrinking elastic ones toward their min (never below), then, if that is not enough, by
// reclaiming whole ones. A non-preemptible allocation is never touched, whatever its priority; an
// allocation of equal or higher priority is never touched. If everything allowed cannot free enough,
// nothing is done: preempting without admitting the request would only hurt.

/** One allocation's claim on the contended capacity (one adapter's compute units, say). */
export interface Holder {
  id: string;
  priority: number;
  preemptible: boolean;
  /** What it holds of the contended capacity. */
  size: number;
  /** Its elastic min; absent when not elastic (it can only be reclaimed whole). */
  min?: number;
}

export type PreemptAction =
  | { kind: 'shrink'; id: string; from: number; to: number }
  | { kind: 'reclaim'; id: string; size: number };

export interface PreemptionPlan {
  actions: PreemptAction[];
  /** Capacity the actions free, ≥ the need. */
  freed: number;
}

/** Lowest priority first, then the most to give, then by id (a stable, explainable order). */
function byVictimOrder(give: (h: Holder) => number) {
  return (a: Holder, b: Holder) => a.priority - b.priority || give(b) - give(a) || a.id.localeCompare(b.id);
}

/**
 * The least disruptive way to free `need` for a request of `priority`: undefined when it cannot be
 * done without touching what must not be touched.
 */
export function planPreemption(
  need: number,
  priority: number,
  holders: readonly Holder[],
): PreemptionPlan | undefined {
  if (need <= 0) return { actions: [], freed: 0 };
  const eligible = holders.filter((h) => h.preemptible && h.priority < priority && h.size > 0);
  const spare = (h: Holder) => (h.min === undefined ? 0 : Math.max(0, h.size - h.min));
  const shrinkable = eligible.filter((h) => spare(h) > 0).sort(byVictimOrder(spare));
  const actions = new Map<string, PreemptAction>();
  let freed = 0;
  for (const h of shrinkable) {
    if (freed >= need) break;
    const take = Math.min(spare(h), need - freed);
    actions.set(h.id, { kind: 'shrink', id: h.id, from: h.size, to: h.size - take });
    freed += take;
  }
  // Reclaiming frees what a holder has beyond what its shrink already gave; the holder giving the most
  // goes first within a priority, so that as few tenants as possible lose everything.
  const rest = (h: Holder) => {
    const a = actions.get(h.id);
    return a?.kind === 'shrink' ? a.to : h.size;
  };
  for (const h of [...eligible].sort(byVictimOrder(rest))) {
    if (freed >= need) break;
    freed += rest(h);
    actions.set(h.id, { kind: 'reclaim', id: h.id, size: h.size });
  }
  if (freed < need) return undefined;
  // A reclaim may have freed more than needed: give back the shrinks it made unnecessary, last first.
  for (const a of [...actions.values()].reverse()) {
    if (a.kind !== 'shrink' || freed === need) continue;
    const undo = Math.min(a.from - a.to, freed - need);
    freed -= undo;
    if (a.to + undo === a.from) actions.delete(a.id);
    else actions.set(a.id, { ...a, to: a.to + undo });
  }
  return { actions: [...actions.values()], freed };
}
