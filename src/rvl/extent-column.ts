// A sorted, coalesced free list kept as (base, length) pairs in one typed array: the same edits as
// takeRange/giveRange (extents.ts) without an object per extent. An adapter after churn has dozens of
// free memory holes and the live index holds 10,000 adapters (issue 11: memory), so the pairs are
// counted in `unit`s (the largest power of two dividing the memory alignment, ra-spec §5.4
// CAP_MEM_ALIGN) in 16 bits while they fit (4 bytes an extent), then 32, and as bytes in doubles
// (16 bytes) once a value is no multiple of the unit (free memory next to a slice the GRM did not
// make) or too large; a column only widens.
import type { Extent, ExtentChange } from './extents.js';

/** The largest power of two (at most 2^30) that divides `align`. */
export function unitOf(align: number): number {
  let unit = 1;
  while (unit < 2 ** 30 && align % (unit * 2) === 0) unit *= 2;
  return unit;
}

type Pairs = Uint16Array | Uint32Array | Float64Array;
/** Pair types by level; the last stores bytes as they are. */
const LEVELS = [
  { Pairs: Uint16Array, limit: 2 ** 16 },
  { Pairs: Uint32Array, limit: 2 ** 32 },
  { Pairs: Float64Array, limit: Number.POSITIVE_INFINITY },
] as const;
const BYTES = LEVELS.length - 1;

export class ExtentColumn {
  /** base0, length0, base1, length1, ...: sorted by base, coalesced; in units below BYTES. */
  private pairs: Pairs;
  private count = 0;
  private level = 0;
  /** What one stored number is worth in bytes: `unit` below BYTES, then 1. */
  private scale: number;

  constructor(
    extents: readonly Extent[],
    private readonly unit = 1,
  ) {
    this.scale = unit;
    this.pairs = new Uint16Array(Math.max(2, 2 * extents.length));
    for (const e of extents) this.widenFor(e.base, e.length);
    for (const [i, e] of extents.entries()) this.put(i, e.base, e.length);
    this.count = extents.length;
  }

  /** Stores one extent at pair `i` (the column holds it: widenFor ran). */
  private put(i: number, base: number, length: number): void {
    this.pairs[2 * i] = base / this.scale;
    this.pairs[2 * i + 1] = length / this.scale;
  }

  private fits(value: number, level: number): boolean {
    if (level === BYTES) return true;
    return value % this.unit === 0 && value / this.unit < LEVELS[level]!.limit;
  }

  /** Widens the column until it can store `base` and `length` (and their end). */
  private widenFor(base: number, length: number): void {
    let level = this.level;
    while (!(this.fits(base, level) && this.fits(length, level) && this.fits(base + length, level))) level++;
    if (level === this.level) return;
    const old = this.toArray();
    this.level = level;
    this.scale = level === BYTES ? 1 : this.unit;
    this.pairs = new LEVELS[level]!.Pairs(this.pairs.length);
    for (const [i, e] of old.entries()) this.put(i, e.base, e.length);
  }

  get size(): number {
    return this.count;
  }

  baseAt(i: number): number {
    return this.pairs[2 * i]! * this.scale;
  }

  lengthAt(i: number): number {
    return this.pairs[2 * i + 1]! * this.scale;
  }

  toArray(): Extent[] {
    const out: Extent[] = [];
    for (let i = 0; i < this.count; i++) out.push({ base: this.baseAt(i), length: this.lengthAt(i) });
    return out;
  }

  /** Index of the last extent whose base is <= `base` (-1 when none). */
  private lastAtOrBefore(base: number): number {
    let lo = 0;
    let hi = this.count;
    const stored = base / this.scale;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.pairs[2 * mid]! <= stored) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Whether [base, base+length) lies inside one free extent. */
  contains(base: number, length: number): boolean {
    const i = this.lastAtOrBefore(base);
    return i >= 0 && base + length <= this.baseAt(i) + this.lengthAt(i);
  }

  /** Replaces `remove` extents from index `at` with `insert`. */
  private splice(at: number, remove: number, insert: readonly Extent[]): void {
    for (const e of insert) this.widenFor(e.base, e.length);
    const count = this.count - remove + insert.length;
    if (2 * count > this.pairs.length) {
      const grown = new LEVELS[this.level]!.Pairs(Math.max(2 * count, 2 * this.pairs.length));
      grown.set(this.pairs.subarray(0, 2 * this.count));
      this.pairs = grown;
    }
    this.pairs.copyWithin(2 * (at + insert.length), 2 * (at + remove), 2 * this.count);
    for (const [k, e] of insert.entries()) this.put(at + k, e.base, e.length);
    this.count = count;
  }

  /** Takes [base, base+length) out; it must lie inside one free extent. */
  take(base: number, length: number): ExtentChange {
    const i = this.lastAtOrBefore(base);
    if (i < 0 || base + length > this.baseAt(i) + this.lengthAt(i))
      throw new Error(`internal: [${base}, +${length}) is not free`);
    const e = { base: this.baseAt(i), length: this.lengthAt(i) };
    const added: Extent[] = [];
    if (base > e.base) added.push({ base: e.base, length: base - e.base });
    if (e.base + e.length > base + length)
      added.push({ base: base + length, length: e.base + e.length - base - length });
    this.splice(i, 1, added);
    return { removed: [e], added };
  }

  /** Gives [base, base+length) back, coalescing it with its neighbours. */
  give(base: number, length: number): ExtentChange {
    const i = this.lastAtOrBefore(base);
    const before = i >= 0 ? { base: this.baseAt(i), length: this.lengthAt(i) } : undefined;
    const after = i + 1 < this.count ? { base: this.baseAt(i + 1), length: this.lengthAt(i + 1) } : undefined;
    if ((before && before.base + before.length > base) || (after && after.base < base + length))
      throw new Error(`internal: [${base}, +${length}) is already free`);
    const removed: Extent[] = [];
    let merged: Extent = { base, length };
    const joinsBefore = before !== undefined && before.base + before.length === base;
    if (joinsBefore) {
      removed.push(before);
      merged = { base: before.base, length: before.length + length };
    }
    if (after && after.base === base + length) {
      removed.push(after);
      merged = { base: merged.base, length: merged.length + after.length };
    }
    this.splice(joinsBefore ? i : i + 1, removed.length, [merged]);
    return { removed, added: [merged] };
  }
}
