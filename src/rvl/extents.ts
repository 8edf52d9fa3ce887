// Arithmetic on extents [base, base+length): the one representation of free memory (bytes), free
// compute units and free contexts. Lists are kept sorted by base and coalesced.

export interface Extent {
  base: number;
  length: number;
}

export function roundUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

export function roundDown(value: number, align: number): number {
  return Math.floor(value / align) * align;
}

export function end(e: Extent): number {
  return e.base + e.length;
}

/** The first pair of extents that overlap, or undefined; `used` in any order. */
export function findOverlap<T extends Extent>(used: readonly T[]): [T, T] | undefined {
  const sorted = [...used].sort((x, y) => x.base - y.base);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.base < end(prev)) return [prev, cur];
  }
  return undefined;
}

/** Free extents of [0, limit) around non-overlapping `used` extents: sorted and coalesced. */
export function complement(used: readonly Extent[], limit: number): Extent[] {
  const sorted = [...used].sort((x, y) => x.base - y.base);
  const free: Extent[] = [];
  let cursor = 0;
  for (const u of sorted) {
    if (u.base > cursor) free.push({ base: cursor, length: u.base - cursor });
    cursor = Math.max(cursor, end(u));
  }
  if (limit > cursor) free.push({ base: cursor, length: limit - cursor });
  return free;
}

/**
 * Shrinks each free extent to alignment boundaries, because a slice must start and end on them
 * (ra-spec §5.4, ERR_ALIGN). The bytes cut off are free but unusable: `slack`.
 */
export function alignExtents(free: readonly Extent[], align: number): { extents: Extent[]; slack: number } {
  const extents: Extent[] = [];
  let slack = 0;
  for (const f of free) {
    const base = roundUp(f.base, align);
    const last = roundDown(end(f), align);
    if (last > base) extents.push({ base, length: last - base });
    slack += f.length - Math.max(0, last - base);
  }
  return { extents, slack };
}

/** `extents` without [base, base+length), which must lie inside one of them. */
export function withoutRange(extents: readonly Extent[], base: number, length: number): Extent[] {
  const i = extents.findIndex((e) => e.base <= base && base + length <= end(e));
  if (i < 0) throw new Error(`internal: [${base}, +${length}) is not free`);
  const e = extents[i]!;
  const pieces: Extent[] = [];
  if (base > e.base) pieces.push({ base: e.base, length: base - e.base });
  if (end(e) > base + length) pieces.push({ base: base + length, length: end(e) - base - length });
  return [...extents.slice(0, i), ...pieces, ...extents.slice(i + 1)];
}

/** What an in-place edit of a free list did: extents that left it and extents that joined it. */
export interface ExtentChange {
  removed: Extent[];
  added: Extent[];
}

/** Index of the last extent whose base is <= `base` (-1 when none); `extents` sorted by base. */
function lastAtOrBefore(extents: readonly Extent[], base: number): number {
  let lo = 0;
  let hi = extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (extents[mid]!.base <= base) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Takes [base, base+length) out of the sorted, coalesced `extents` in place; it must lie inside one. */
export function takeRange(extents: Extent[], base: number, length: number): ExtentChange {
  const i = lastAtOrBefore(extents, base);
  const e = extents[i];
  if (!e || base + length > end(e)) throw new Error(`internal: [${base}, +${length}) is not free`);
  const added: Extent[] = [];
  if (base > e.base) added.push({ base: e.base, length: base - e.base });
  if (end(e) > base + length) added.push({ base: base + length, length: end(e) - base - length });
  extents.splice(i, 1, ...added);
  return { removed: [e], added };
}

/** Gives [base, base+length) back to `extents` in place, coalescing it with its neighbours. */
export function giveRange(extents: Extent[], base: number, length: number): ExtentChange {
  const i = lastAtOrBefore(extents, base);
  const before = extents[i];
  const after = extents[i + 1];
  if ((before && end(before) > base) || (after && after.base < base + length))
    throw new Error(`internal: [${base}, +${length}) is already free`);
  const removed: Extent[] = [];
  let merged: Extent = { base, length };
  const joinsBefore = before !== undefined && end(before) === base;
  if (joinsBefore) {
    removed.push(before);
    merged = { base: before.base, length: before.length + length };
  }
  if (after && after.base === base + length) {
    removed.push(after);
    merged = { base: merged.base, length: merged.length + after.length };
  }
  extents.splice(joinsBefore ? i : i + 1, removed.length, merged);
  return { removed, added: [merged] };
}

/** `e` shrunk to alignment boundaries (undefined when nothing aligned is left; `e` itself if aligned). */
export function alignedPart(e: Extent, align: number): Extent | undefined {
  const base = roundUp(e.base, align);
  const last = roundDown(end(e), align);
  if (base === e.base && last === end(e)) return e;
  return last > base ? { base, length: last - base } : undefined;
}
