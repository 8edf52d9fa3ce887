// An ordered set of entries keyed by four numbers, compared lexicographically: the one ordered
// structure of the availability index (extents by length, adapters by engine size, ...). Chunked (a
// list of short sorted arrays, as Python's sortedcontainers): insert, remove and lower-bound cost
// O(log n + chunk) with no tree nodes to allocate, and iteration is a walk over arrays.

export interface Keyed {
  readonly k0: number;
  readonly k1: number;
  readonly k2: number;
  readonly k3: number;
}

export function compareKeys(x: Keyed, y: Keyed): number {
  if (x.k0 !== y.k0) return x.k0 < y.k0 ? -1 : 1;
  if (x.k1 !== y.k1) return x.k1 < y.k1 ? -1 : 1;
  if (x.k2 !== y.k2) return x.k2 < y.k2 ? -1 : 1;
  if (x.k3 !== y.k3) return x.k3 < y.k3 ? -1 : 1;
  return 0;
}

/** Chunks split when they reach twice this; small enough that a splice is a short memmove. */
const CHUNK = 64;

/** First index in `chunk` whose entry is >= `probe` (chunk.length when none). */
function lowerIn(chunk: readonly Keyed[], probe: Keyed): number {
  let lo = 0;
  let hi = chunk.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(chunk[mid]!, probe) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SortedList<T extends Keyed> {
  private readonly chunks: T[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** First chunk whose last entry is >= probe; chunks.length when every entry is smaller. */
  private chunkFor(probe: Keyed): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (compareKeys(chunk[chunk.length - 1]!, probe) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds `entry`; an entry with equal keys must not be present (keys identify entries). */
  insert(entry: T): void {
    this.count++;
    if (this.chunks.length === 0) {
      this.chunks.push([entry]);
      return;
    }
    const c = Math.min(this.chunkFor(entry), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const i = lowerIn(chunk, entry);
    if (i < chunk.length && compareKeys(chunk[i]!, entry) === 0) {
      this.count--;
      throw new Error(`internal: key (${entry.k0}, ${entry.k1}, ${entry.k2}, ${entry.k3}) is already listed`);
    }
    chunk.splice(i, 0, entry);
    if (chunk.length >= 2 * CHUNK) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK));
  }

  /** Removes the entry with these keys; returns false when there is none. */
  remove(key: Keyed): boolean {
    const c = this.chunkFor(key);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    const i = lowerIn(chunk, key);
    if (i === chunk.length || compareKeys(chunk[i]!, key) !== 0) return false;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.chunks.splice(c, 1);
    this.count--;
    return true;
  }

  /** The first entry >= `probe` that `accept` takes, walking upwards; undefined when none does. */
  find(probe: Keyed, accept: (entry: T) => boolean): T | undefined {
    for (let c = this.chunkFor(probe), i = -1; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (let j = i < 0 ? lowerIn(chunk, probe) : 0; j < chunk.length; j++) {
        if (accept(chunk[j]!)) return chunk[j];
      }
    }
    return undefined;
  }

  /** Every entry in order (tests and consistency checks). */
  toArray(): T[] {
    return this.chunks.flat();
  }
}
