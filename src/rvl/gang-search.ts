// Gang placement (issue 15, "gang requests"): several requests placed all or nothing, by a bounded
// depth-first search with backtracking across the members. Placing member 1 where a greedy planner
// puts it may leave no room for member 3; the search then takes member 1 (or 2) elsewhere and tries
// again. Kubernetes DRA places the claims of a pod one by one and does not backtrack across them
// (kubernetes/kubernetes#138765). No I/O: the caller supplies the alternatives and the way to hold
// and give back capacity (the GRM: reservations on the live index, all in one synchronous step).

/** What the search needs from the caller, for members 0..members-1 in order. */
export interface GangSpace<P, H> {
  readonly members: number;
  /** The placements of member `k` worth trying now (earlier members' holds are in force), best first. */
  alternatives(k: number): P[];
  /** Holds `plan` for member `k`; undefined when it no longer fits. */
  take(k: number, plan: P): H | undefined;
  /** Gives back what take() held (in the reverse order of the takes). */
  giveBack(held: H): void;
}

/** The default bound on take() attempts of one search: enough for a few members times the adapters. */
export const DEFAULT_GANG_SEARCH_STEPS = 2_000;

export type GangSearchResult<H> =
  | { ok: true; held: H[]; steps: number; backtracks: number }
  | {
      ok: false;
      steps: number;
      backtracks: number;
      /** The search stopped at its bound: a placement may exist that it did not try. */
      boundHit: boolean;
      /** The first member no branch of the search could place (the deepest it got). */
      blockedMember: number;
    };

/**
 * Places every member or none. On success the caller owns the holds (in member order); on failure
 * every hold was given back. `maxSteps` bounds the take() attempts.
 */
export function searchGang<P, H>(
  space: GangSpace<P, H>,
  maxSteps = DEFAULT_GANG_SEARCH_STEPS,
): GangSearchResult<H> {
  const held: H[] = [];
  let steps = 0;
  let backtracks = 0;
  let deepest = 0;
  let boundHit = false;
  const place = (k: number): boolean => {
    deepest = Math.max(deepest, k);
    if (k === space.members) return true;
    for (const plan of space.alternatives(k)) {
      if (steps >= maxSteps) {
        boundHit = true;
        return false;
      }
      steps++;
      const h = space.take(k, plan);
      if (h === undefined) continue;
      held.push(h);
      if (place(k + 1)) return true;
      space.giveBack(held.pop()!);
      backtracks++;
      if (boundHit) return false;
    }
    return false;
  };
  try {
    if (place(0)) return { ok: true, held, steps, backtracks };
  } catch (err) {
    // The caller's alternatives() or take() failed unexpectedly: nothing stays held.
    for (const h of held.reverse()) space.giveBack(h);
    throw err;
  }
  return { ok: false, steps, backtracks, boundHit, blockedMember: Math.min(deepest, space.members - 1) };
}
