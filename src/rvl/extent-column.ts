// A sorted, coalesced free list kept as (base, length) pairs in one Float64Array: the same edits as
// takeRange/giveRange (extents.ts) without an object per extent. An adapter after churn has dozens of
// free memory holes and the live index holds 10,000 adapters (issue 11: memory).
import type { Extent, ExtentChange } from './extents.js';

export class ExtentColumn {
  /** base0, length0, base1, length1, ...: sorted by base, coalesced. */
  private pairs: Float64Array;
  private count = 0;

  constructor(extents: readonly Extent[]) {
    this.pairs = new Float64Array(Math.max(2, 2 * extents.length));
    for (const [i, e] of extents.entries()) {
      this.pairs[2 * i] = e.base;
      this.pairs[2 * i + 1] = e.length;
    }
    this.count = extents.length;
  }

  get size(): number {
    return this.count;
  }

  baseAt(i: number): number {
    return this.pairs[2 * i]!;
  }

  lengthAt(i: number): number {
    return this.pairs[2 * i + 1]!;
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
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.pairs[2 * mid]! <= base) lo = mid + 1;
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
    const count = this.count - remove + insert.length;
    if (2 * count > this.pairs.length) {
      const grown = new Float64Array(Math.max(2 * count, 2 * this.pairs.length));
      grown.set(this.pairs.subarray(0, 2 * this.count));
      this.pairs = grown;
    }
    this.pairs.copyWithin(2 * (at + insert.length), 2 * (at + remove), 2 * this.count);
    for (const [k, e] of insert.entries()) {
      this.pairs[2 * (at + k)] = e.base;
      this.pairs[2 * (at + k) + 1] = e.length;
    }
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
