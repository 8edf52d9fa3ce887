// Spreading one memory or compute resource over several extents (and adapters) when no single extent
// fits: first the cheapest SET of adapters (same server first, then fewest new adapters, then fewest
// adapters), then the extents within that set, largest first so the slices are few, the last piece
// best-fit so the leftover is small.
import { type AdapterAvailability, freeEntryCount } from './availability.js';
import { roundUp } from './extents.js';
import type { Piece, ResourceContext } from './plan.js';
import { alignment, freeExtents, type QuantityKind, quantityPiece } from './quantities.js';
import { added, compareScores, remote } from './scoring.js';

interface Candidate {
  adapter: AdapterAvailability;
  /** What the adapter can give: its largest extents, as many as it has free slice-table entries. */
  capacity: number;
  /** 0 local+in use, 1 local+new, 2 remote+in use, 3 remote+new: the order of preference. */
  group: number;
}

export function capacity(a: AdapterAvailability, kind: QuantityKind): number {
  const lengths = freeExtents(a, kind)
    .map((e) => e.length)
    .sort((x, y) => y - x);
  return lengths.slice(0, freeEntryCount(a)).reduce((s, l) => s + l, 0);
}

function groups(
  adapters: AdapterAvailability[],
  kind: QuantityKind,
  context: ResourceContext,
): Candidate[][] {
  const result: Candidate[][] = [[], [], [], []];
  for (const adapter of adapters) {
    const group = remote(adapter, context) * 2 + added(adapter, context);
    const c = capacity(adapter, kind);
    if (c > 0) result[group]!.push({ adapter, capacity: c, group });
  }
  // Largest first minimises the count; healthy before degraded among equals; adapters stay in id order.
  const degraded = (c: Candidate) => (c.adapter.health === 'degraded' ? 1 : 0);
  for (const g of result) g.sort((x, y) => y.capacity - x.capacity || degraded(x) - degraded(y));
  return result;
}

function cost(counts: number[]): number[] {
  const [localUsed = 0, localNew = 0, remoteUsed = 0, remoteNew = 0] = counts;
  return [remoteUsed + remoteNew, localNew + remoteNew, localUsed + localNew + remoteUsed + remoteNew];
}

/**
 * How many adapters to take from each group (always its largest ones): the feasible counts of lowest
 * cost. Exact: for given counts the best sum is the top ones of each group, and the cost depends only on
 * the counts. Within a group, adding adapters past the need (or past the budget) only costs more, so
 * each loop stops there; a branch that cannot reach the need even with every later adapter is cut.
 */
function chooseCounts(byGroup: Candidate[][], need: number, newBudget: number): number[] | undefined {
  const prefix = byGroup.map((g) => {
    const sums = [0];
    for (const c of g) sums.push(sums[sums.length - 1]! + c.capacity);
    return sums;
  });
  const rest = prefix.map((_, g) => prefix.slice(g).reduce((s, p) => s + p[p.length - 1]!, 0));
  const counts = [0, 0, 0, 0];
  let best: { counts: number[]; cost: number[] } | undefined;
  const visit = (g: number, sum: number): void => {
    if (g === counts.length) {
      if (sum < need) return;
      const c = cost(counts);
      if (!best || compareScores(c, best.cost) < 0) best = { counts: [...counts], cost: c };
      return;
    }
    if (sum + rest[g]! < need) return;
    for (let k = 0; k < prefix[g]!.length; k++) {
      counts[g] = k;
      if (counts[1]! + counts[3]! > newBudget) break;
      visit(g + 1, sum + prefix[g]![k]!);
      if (sum + prefix[g]![k]! >= need) break;
    }
    counts[g] = 0;
  };
  visit(0, 0);
  return best?.counts;
}

/**
 * The chosen adapters: per group its largest ones, except that the last of each group is swapped for
 * the smallest one of that group that still covers the need (best fit at adapter level: same cost,
 * less left over to fragment).
 */
function chooseAdapters(byGroup: Candidate[][], counts: number[], need: number): Candidate[] {
  const chosen = byGroup.map((g, i) => g.slice(0, counts[i]));
  let sum = chosen.flat().reduce((s, c) => s + c.capacity, 0);
  for (const [i, group] of byGroup.entries()) {
    const k = counts[i]!;
    if (k === 0) continue;
    const last = group[k - 1]!;
    // The group is sorted largest first: the smallest that still covers is the best fit; among equal
    // capacities the first (lowest id) wins.
    let best = last;
    for (const swap of group.slice(k)) {
      if (swap.capacity < best.capacity && sum - last.capacity + swap.capacity >= need) best = swap;
    }
    chosen[i]![k - 1] = best;
    sum += best.capacity - last.capacity;
  }
  return chosen.flat();
}

/** Extents of the chosen adapters: largest first; the piece that completes the need is the best fit. */
function pickExtents(chosen: Candidate[], kind: QuantityKind, need: number): Piece[] {
  const pool = chosen.flatMap((c, rank) => freeExtents(c.adapter, kind).map((e) => ({ c, rank, e })));
  pool.sort((x, y) => y.e.length - x.e.length || x.rank - y.rank || x.e.base - y.e.base);
  const entriesLeft = new Map(chosen.map((c) => [c.adapter.id, c.adapter.freeEntries.length]));
  const pieces: Piece[] = [];
  let remaining = need;
  while (remaining > 0) {
    const open = pool.filter((x) => entriesLeft.get(x.c.adapter.id)! > 0);
    if (open.length === 0) throw new Error('internal: the chosen adapters do not cover their capacity');
    const size = (x: (typeof pool)[number]) => roundUp(remaining, alignment(x.c.adapter, kind));
    const fitting = open.filter((x) => x.e.length >= size(x));
    const take = fitting.length
      ? fitting.reduce((b, x) => (x.e.length - size(x) < b.e.length - size(b) ? x : b))
      : open[0]!;
    const length = fitting.length ? size(take) : take.e.length;
    pieces.push(quantityPiece(take.c.adapter, kind, take.e.base, length, Math.min(length, remaining)));
    remaining -= length;
    entriesLeft.set(take.c.adapter.id, entriesLeft.get(take.c.adapter.id)! - 1);
    pool.splice(pool.indexOf(take), 1);
  }
  return pieces;
}

/** `need` spread over `adapters` (all eligible), adding at most `newBudget` adapters to the request. */
export function spreadPreferred(
  adapters: AdapterAvailability[],
  kind: QuantityKind,
  need: number,
  context: ResourceContext,
  newBudget: number,
): Piece[] | undefined {
  const byGroup = groups(adapters, kind, context);
  const counts = chooseCounts(byGroup, need, newBudget);
  return counts && pickExtents(chooseAdapters(byGroup, counts, need), kind, need);
}
