// Unused headroom, lent to a growth the pool cannot otherwise give (issue 15: "an instance that needs
// more gets more, from other adapters when its own is full"). An elastic allocation holds more than it
// uses by design — its target leaves headroom (1/target of its use) and its shrink waits out a
// cooldown and a stabilization window. When a saturated allocation cannot grow, the units others held
// but did not use in the last window are wasted capacity: they are taken from them (never below their
// min, never below what they used, rounded up), whatever their priority, since what they used stays
// theirs. Unlike preemption, nothing in use is taken. A holder that needs them again grows back by the
// ordinary policy. Pure: the reallocator and the simulator feed it their own measurements.

/** An elastic allocation on the contended adapter, as headroom sees it. */
export interface HeadroomHolder {
  id: string;
  /** Units it holds. */
  size: number;
  /** Units it used over the last window (utilization × size; may be fractional). */
  usedUnits: number;
  min: number;
}

/** Units a holder may lend: above its min and above what it used. */
export function unusedUnits(h: HeadroomHolder): number {
  return Math.max(0, h.size - Math.max(h.min, Math.ceil(h.usedUnits - 1e-9)));
}

export interface Lend {
  id: string;
  from: number;
  to: number;
}

/**
 * Who lends how much for `need` units: the holders with the most unused first (fewest touched), then by
 * id. Undefined when all their unused units together are fewer than `need` (then nobody lends).
 */
export function planLending(need: number, holders: readonly HeadroomHolder[]): Lend[] | undefined {
  if (need <= 0) return [];
  const byUnused = [...holders]
    .filter((h) => unusedUnits(h) > 0)
    .sort((a, b) => unusedUnits(b) - unusedUnits(a) || a.id.localeCompare(b.id));
  const out: Lend[] = [];
  let left = need;
  for (const h of byUnused) {
    if (left <= 0) break;
    const give = Math.min(left, unusedUnits(h));
    out.push({ id: h.id, from: h.size, to: h.size - give });
    left -= give;
  }
  return left > 0 ? undefined : out;
}

/** One adapter's room for a growth: its free units and its holders' unused ones. */
export interface AdapterRoom {
  adapter: string;
  free: number;
  holders: readonly HeadroomHolder[];
}

/**
 * Where a resource of `size` units on `own` grows to `to` with lent units: its own adapter when free
 * plus unused there cover the growth (in place), else the other adapter whose free plus unused holds
 * the whole new size most tightly (the slice moves there). Undefined when no adapter can.
 */
export function roomForGrowth(
  own: string,
  size: number,
  to: number,
  rooms: readonly AdapterRoom[],
): { adapter: string; lend: Lend[] } | undefined {
  const total = (r: AdapterRoom) => r.free + r.holders.reduce((n, h) => n + unusedUnits(h), 0);
  const mine = rooms.find((r) => r.adapter === own);
  if (mine && total(mine) >= to - size) {
    const lend = planLending(to - size - mine.free, mine.holders);
    if (lend) return { adapter: own, lend };
  }
  const other = rooms
    .filter((r) => r.adapter !== own && total(r) >= to)
    .sort((a, b) => total(a) - total(b) || a.adapter.localeCompare(b.adapter))[0];
  if (!other) return undefined;
  const lend = planLending(to - other.free, other.holders);
  return lend ? { adapter: other.adapter, lend } : undefined;
}
