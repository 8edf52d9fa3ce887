// An ordered set of keys of `width` numbers (2 to 4), compared lexicographically: the one ordered
// structure of the availability index (extents by length, adapters by engine size, ...). Chunked (a
// list of short sorted arrays, as Python's sortedcontainers): insert, remove and lower-bound cost
// O(log n + chunk) and iteration is a walk over arrays. The keys are stored flat, `width` numbers per
// entry in plain number arrays (unboxed doubles in V8), with no object per entry: a pool of 10,000
// adapters lists about a million free extents (issue 11: memory).

export interface Keyed {
  readonly k0: number;
  readonly k1: number;
  readonly k2: number;
  readonly k3: number;
}

/** Chunks split when they reach twice this many entries; small enough that a splice is a short memmove. */
const CHUNK = 64;

export class SortedList {
  /** Each chunk: `width` numbers per entry, entries sorted. */
  private readonly chunks: number[][] = [];
  private count = 0;

  constructor(readonly width: 2 | 3 | 4) {}

  get size(): number {
    return this.count;
  }

  /** Key at `at` (an entry's first number) of `chunk` against `key`, over the first `width` numbers. */
  private compare(chunk: readonly number[], at: number, key: Keyed): number {
    const w = this.width;
    let d = chunk[at]! - key.k0;
    if (d !== 0) return d;
    d = chunk[at + 1]! - key.k1;
    if (d !== 0 || w === 2) return d;
    d = chunk[at + 2]! - key.k2;
    if (d !== 0 || w === 3) return d;
    return chunk[at + 3]! - key.k3;
  }

  /** First entry index in `chunk` whose key is >= `probe` (entries in chunk when none). */
  private lowerIn(chunk: readonly number[], probe: Keyed): number {
    let lo = 0;
    let hi = chunk.length / this.width;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(chunk, mid * this.width, probe) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First chunk whose last entry is >= probe; chunks.length when every entry is smaller. */
  private chunkFor(probe: Keyed): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (this.compare(chunk, chunk.length - this.width, probe) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private numbers(key: Keyed): number[] {
    return [key.k0, key.k1, key.k2, key.k3].slice(0, this.width);
  }

  /** Adds `key`; an equal key must not be present (keys identify entries). */
  insert(key: Keyed): void {
    const w = this.width;
    if (this.chunks.length === 0) {
      this.chunks.push(this.numbers(key));
      this.count++;
      return;
    }
    const c = Math.min(this.chunkFor(key), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const i = this.lowerIn(chunk, key);
    if (i * w < chunk.length && this.compare(chunk, i * w, key) === 0)
      throw new Error(`internal: key (${this.numbers(key).join(', ')}) is already listed`);
    chunk.splice(i * w, 0, ...this.numbers(key));
    this.count++;
    // Split into two exactly sized arrays: an array keeps the capacity it grew to, and a split one
    // would keep twice what it holds.
    if (chunk.length >= 2 * CHUNK * w)
      this.chunks.splice(c, 1, chunk.slice(0, CHUNK * w), chunk.slice(CHUNK * w));
  }

  /** Removes the entry with this key; returns false when there is none. */
  remove(key: Keyed): boolean {
    const w = this.width;
    const c = this.chunkFor(key);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    const i = this.lowerIn(chunk, key);
    if (i * w === chunk.length || this.compare(chunk, i * w, key) !== 0) return false;
    chunk.splice(i * w, w);
    if (chunk.length === 0) this.chunks.splice(c, 1);
    this.count--;
    return true;
  }

  private keyAt(chunk: readonly number[], at: number): Keyed {
    const w = this.width;
    return {
      k0: chunk[at]!,
      k1: chunk[at + 1]!,
      k2: w > 2 ? chunk[at + 2]! : 0,
      k3: w > 3 ? chunk[at + 3]! : 0,
    };
  }

  /**
   * The first key >= `probe` that `accept` takes, walking upwards (keys past the width read as 0);
   * undefined when none does. `accept` sees the second number (the adapter's rank in every list).
   */
  find(probe: Keyed, accept: (k1: number) => boolean): Keyed | undefined {
    const w = this.width;
    for (let c = this.chunkFor(probe), first = true; c < this.chunks.length; c++, first = false) {
      const chunk = this.chunks[c]!;
      for (let at = first ? this.lowerIn(chunk, probe) * w : 0; at < chunk.length; at += w) {
        if (accept(chunk[at + 1]!)) return this.keyAt(chunk, at);
      }
    }
    return undefined;
  }

  /** Every key in order (tests and consistency checks). */
  toArray(): Keyed[] {
    const out: Keyed[] = [];
    for (const chunk of this.chunks)
      for (let at = 0; at < chunk.length; at += this.width) out.push(this.keyAt(chunk, at));
    return out;
  }
}
