// An ordered set of keys of `width` numbers (2 to 4), compared lexicographically: the one ordered
// structure of the availability index (extents by length, adapters by engine size, ...). Chunked (a
// list of short sorted arrays, as Python's sortedcontainers): insert, remove and lower-bound cost
// O(log n + chunk) and iteration is a walk over arrays. The keys are stored flat in plain number
// arrays (unboxed doubles in V8), with no object per entry: a pool of 10,000 adapters lists about a
// million free extents (issue 11: memory).
//
// Extent keys (length, rank, base) are packed into two numbers, (length, rank * 2^PACK_BITS +
// base / unit), while every base is a multiple of `unit` (the list's alignment) below 2^PACK_BITS units
// and every rank below 2^(53 - PACK_BITS): the order is the same, a third less is stored. The first key
// that does not fit turns the list into three numbers per key for good.

export interface Keyed {
  readonly k0: number;
  readonly k1: number;
  readonly k2: number;
  readonly k3: number;
}

/** Chunks split when they reach twice this many entries; small enough that a splice is a short memmove. */
const CHUNK = 64;
const PACK_BITS = 26;
const PACK = 2 ** PACK_BITS;
const MAX_PACKED_RANK = 2 ** (53 - PACK_BITS);

export class SortedList {
  /** Each chunk: `stride` numbers per entry, entries sorted. */
  private chunks: number[][] = [];
  private count = 0;
  /** Numbers stored per entry: `width`, or 2 while extent keys are packed. */
  private stride: number;

  /** `packUnit`: for (length, rank, base) lists, the unit every base is a multiple of (packing on). */
  constructor(
    readonly width: 2 | 3 | 4,
    private packUnit?: number,
  ) {
    this.stride = packUnit !== undefined && width === 3 ? 2 : width;
    if (this.stride === width) this.packUnit = undefined;
  }

  get size(): number {
    return this.count;
  }

  private get packed(): boolean {
    return this.packUnit !== undefined;
  }

  /** The numbers stored for `key` (probes may hold -Infinity past the first number). */
  private encode(key: Keyed): number[] {
    if (this.packed) {
      if (key.k1 === Number.NEGATIVE_INFINITY) return [key.k0, key.k1];
      return [key.k0, key.k1 * PACK + key.k2 / this.packUnit!];
    }
    return [key.k0, key.k1, key.k2, key.k3].slice(0, this.width);
  }

  private fitsPacking(key: Keyed): boolean {
    const units = key.k2 / this.packUnit!;
    return (
      Number.isInteger(units) &&
      units >= 0 &&
      units < PACK &&
      Number.isInteger(key.k1) &&
      key.k1 >= 0 &&
      key.k1 < MAX_PACKED_RANK
    );
  }

  /** Stores every key with all its numbers from now on. */
  private unpack(): void {
    const keys = this.toArray();
    this.packUnit = undefined;
    this.stride = this.width;
    this.chunks = [];
    for (let i = 0; i < keys.length; i += CHUNK)
      this.chunks.push(keys.slice(i, i + CHUNK).flatMap((k) => this.encode(k)));
  }

  /** Stored entry at `at` of `chunk` against encoded `probe`. */
  private compare(chunk: readonly number[], at: number, probe: readonly number[]): number {
    for (let i = 0; i < this.stride; i++) {
      const d = chunk[at + i]! - probe[i]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  /** First entry index in `chunk` whose key is >= `probe` (entries in chunk when none). */
  private lowerIn(chunk: readonly number[], probe: readonly number[]): number {
    let lo = 0;
    let hi = chunk.length / this.stride;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(chunk, mid * this.stride, probe) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First chunk whose last entry is >= probe; chunks.length when every entry is smaller. */
  private chunkFor(probe: readonly number[]): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (this.compare(chunk, chunk.length - this.stride, probe) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds `key`; an equal key must not be present (keys identify entries). */
  insert(key: Keyed): void {
    if (this.packed && !this.fitsPacking(key)) this.unpack();
    const w = this.stride;
    const numbers = this.encode(key);
    if (this.chunks.length === 0) {
      this.chunks.push(numbers);
      this.count++;
      return;
    }
    const c = Math.min(this.chunkFor(numbers), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const i = this.lowerIn(chunk, numbers);
    if (i * w < chunk.length && this.compare(chunk, i * w, numbers) === 0)
      throw new Error(`internal: key (${key.k0}, ${key.k1}, ${key.k2}, ${key.k3}) is already listed`);
    chunk.splice(i * w, 0, ...numbers);
    this.count++;
    // Split into two exactly sized arrays: an array keeps the capacity it grew to, and a split one
    // would keep twice what it holds.
    if (chunk.length >= 2 * CHUNK * w)
      this.chunks.splice(c, 1, chunk.slice(0, CHUNK * w), chunk.slice(CHUNK * w));
  }

  /** Removes the entry with this key; returns false when there is none. */
  remove(key: Keyed): boolean {
    if (this.packed && !this.fitsPacking(key)) return false;
    const w = this.stride;
    const numbers = this.encode(key);
    const c = this.chunkFor(numbers);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    const i = this.lowerIn(chunk, numbers);
    if (i * w === chunk.length || this.compare(chunk, i * w, numbers) !== 0) return false;
    chunk.splice(i * w, w);
    if (chunk.length === 0) this.chunks.splice(c, 1);
    this.count--;
    return true;
  }

  private rankAt(chunk: readonly number[], at: number): number {
    return this.packed ? Math.floor(chunk[at + 1]! / PACK) : chunk[at + 1]!;
  }

  private keyAt(chunk: readonly number[], at: number): Keyed {
    if (this.packed) {
      const rank = this.rankAt(chunk, at);
      return { k0: chunk[at]!, k1: rank, k2: (chunk[at + 1]! - rank * PACK) * this.packUnit!, k3: 0 };
    }
    const w = this.width;
    return {
      k0: chunk[at]!,
      k1: chunk[at + 1]!,
      k2: w > 2 ? chunk[at + 2]! : 0,
      k3: w > 3 ? chunk[at + 3]! : 0,
    };
  }

  /** First entry index in `chunk` whose first number is >= `k0` (the planner's probes). */
  private lowerInByFirst(chunk: readonly number[], k0: number): number {
    const w = this.stride;
    let lo = 0;
    let hi = chunk.length / w;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chunk[mid * w]! < k0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First chunk whose last entry's first number is >= `k0`. */
  private chunkForFirst(k0: number): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (chunk[chunk.length - this.stride]! < k0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The first key >= `probe` that `accept` takes, walking upwards (keys past the width read as 0);
   * undefined when none does. Probes give k0 and then -Infinity (the planner's: a lower bound on the
   * first number, with no allocation), or a whole key. `accept` sees the second number (the adapter's
   * rank in every list).
   */
  find(probe: Keyed, accept: (rank: number) => boolean): Keyed | undefined {
    const w = this.stride;
    const byFirst = probe.k1 === Number.NEGATIVE_INFINITY;
    const numbers = byFirst ? [] : this.encode(probe);
    const start = byFirst ? this.chunkForFirst(probe.k0) : this.chunkFor(numbers);
    for (let c = start, first = true; c < this.chunks.length; c++, first = false) {
      const chunk = this.chunks[c]!;
      const from = !first ? 0 : byFirst ? this.lowerInByFirst(chunk, probe.k0) : this.lowerIn(chunk, numbers);
      for (let at = from * w; at < chunk.length; at += w) {
        if (accept(this.rankAt(chunk, at))) return this.keyAt(chunk, at);
      }
    }
    return undefined;
  }

  /** Every key in order (tests and consistency checks). */
  toArray(): Keyed[] {
    const out: Keyed[] = [];
    for (const chunk of this.chunks)
      for (let at = 0; at < chunk.length; at += this.stride) out.push(this.keyAt(chunk, at));
    return out;
  }
}
