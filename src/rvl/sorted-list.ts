// An ordered set of keys of `width` numbers (2 to 4), compared lexicographically: the one ordered
// structure of the availability index (extents by length, adapters by engine size, ...). Chunked (a
// list of short sorted arrays, as Python's sortedcontainers): insert, remove and lower-bound cost
// O(log n + chunk) and iteration is a walk over arrays. The keys are stored flat in plain number
// arrays (unboxed doubles in V8), with no object per entry: a pool of 10,000 adapters lists about a
// million free extents (issue 11: memory).
//
// Extent keys (length, rank, base) are packed while every length and base is a multiple of `unit` (the
// list's alignment): into one number, length units * 2^37 + rank * 2^16 + base units, while lengths
// and bases stay below 2^16 units and ranks below 2^21 (an 8 GiB adapter aligned to 2 MiB counts 4,096
// units; issue 11: memory, a pool of 10,000 adapters lists about a million free extents); else into two
// numbers, (length, rank * 2^26 + base units), while bases stay below 2^26 units. Either order is the
// key's. The first key that does not fit moves the list to the next wider form for good (one number,
// two, then `width`).

export interface Keyed {
  readonly k0: number;
  readonly k1: number;
  readonly k2: number;
  readonly k3: number;
}

/** A key a search writes its answer into (findAtLeast). */
export interface MutableKeyed {
  k0: number;
  k1: number;
  k2: number;
  k3: number;
}

/** Chunks split when they reach twice this many entries; small enough that a splice is a short memmove. */
const CHUNK = 64;
const PACK_BITS = 26;
const PACK = 2 ** PACK_BITS;
const MAX_PACKED_RANK = 2 ** (53 - PACK_BITS);
/** One-number keys: 16 bits of base units, 21 of rank, 16 of length units (53 in all). */
const DENSE_BASE = 2 ** 16;
const DENSE_RANK = 2 ** 21;
const DENSE_LENGTH = 2 ** 16;
const DENSE_SHIFT = DENSE_BASE * DENSE_RANK;

/** The lowest one-number (dense) key whose length is >= `k0` (lengths and bases in `unit`s). */
export function denseAtLeast(k0: number, unit: number): number {
  return Math.ceil(k0 / unit) * DENSE_SHIFT;
}

/** The rank in a one-number (dense) key. */
export function denseRank(n: number): number {
  return Math.floor(n / DENSE_BASE) % DENSE_RANK;
}

/** A one-number (dense) key as (length, rank, base), written into `out`. */
export function denseKeyInto(n: number, unit: number, out: MutableKeyed): void {
  const length = Math.floor(n / DENSE_SHIFT);
  const rest = n - length * DENSE_SHIFT;
  const rank = Math.floor(rest / DENSE_BASE);
  out.k0 = length * unit;
  out.k1 = rank;
  out.k2 = (rest - rank * DENSE_BASE) * unit;
  out.k3 = 0;
}

/**
 * One-number row keys of the lists that are not extents (catalog.ts server rows): a width-2 key
 * (k0, rank) as k0 * 2^21 + rank; a width-4 key (length, rank, slot, base) as
 * ((length * 2^21 + rank) * 2^10 + slot) * 2^11 + base. Each orders as its key does.
 */
const PAIR_RANK = 2 ** 21;
const CONTEXT_BASE = 2 ** 11;
const CONTEXT_SLOT = 2 ** 10;
const CONTEXT_LENGTH = 2 ** 11;
const CONTEXT_SHIFT = CONTEXT_BASE * CONTEXT_SLOT * PAIR_RANK;

/** How a list's keys are written as one number each in a row: dense extent keys, pairs, contexts. */
export enum RowCode {
  Extent = 0,
  Pair = 1,
  Context = 2,
}

export function rowCodeOf(width: 2 | 3 | 4): RowCode {
  return width === 3 ? RowCode.Extent : width === 2 ? RowCode.Pair : RowCode.Context;
}

const isCount = (x: number, limit: number) => Number.isInteger(x) && x >= 0 && x < limit;

/** The lowest row key whose first number is >= `k0` (`unit`: an extent list's). */
export function rowAtLeast(code: RowCode, k0: number, unit: number): number {
  if (code === RowCode.Extent) return denseAtLeast(k0, unit);
  return Math.ceil(k0) * (code === RowCode.Pair ? PAIR_RANK : CONTEXT_SHIFT);
}

/** The rank in a row key. */
export function rowRank(code: RowCode, n: number): number {
  if (code === RowCode.Extent) return denseRank(n);
  if (code === RowCode.Pair) return n % PAIR_RANK;
  return Math.floor(n / (CONTEXT_BASE * CONTEXT_SLOT)) % PAIR_RANK;
}

/** A row key as the list's key, written into `out`. */
export function rowKeyInto(code: RowCode, n: number, unit: number, out: MutableKeyed): void {
  if (code === RowCode.Extent) {
    denseKeyInto(n, unit, out);
    return;
  }
  if (code === RowCode.Pair) {
    out.k1 = n % PAIR_RANK;
    out.k0 = (n - out.k1) / PAIR_RANK;
    out.k2 = 0;
    out.k3 = 0;
    return;
  }
  out.k3 = n % CONTEXT_BASE;
  const rest = (n - out.k3) / CONTEXT_BASE;
  out.k2 = rest % CONTEXT_SLOT;
  const high = (rest - out.k2) / CONTEXT_SLOT;
  out.k1 = high % PAIR_RANK;
  out.k0 = (high - out.k1) / PAIR_RANK;
}

/** How keys are stored: `width` numbers, two (rank and base packed), or one. */
enum Form {
  Plain = 0,
  Packed = 1,
  Dense = 2,
}

export class SortedList {
  /** Each chunk: `stride` numbers per entry, entries sorted. */
  private chunks: number[][] = [];
  /**
   * Per chunk, the first number of its last entry, from the first split on: the search for a chunk
   * reads this one array instead of one chunk per step (issue 11: at 10,000 adapters a list has
   * hundreds of chunks, and each chunk read is a cache miss). A list of one chunk (most of a server's
   * lists) has none (issue 11: memory).
   */
  private lasts: number[] | undefined;
  private count = 0;
  private form: Form;
  /** Numbers stored per entry: 1 (dense), 2 (packed) or `width`. */
  private stride: number;

  /** `packUnit`: for (length, rank, base) lists, the unit every base and length is a multiple of. */
  constructor(
    readonly width: 2 | 3 | 4,
    private readonly packUnit?: number,
  ) {
    this.form = packUnit !== undefined && width === 3 ? Form.Dense : Form.Plain;
    this.stride = this.strideOf(this.form);
  }

  get size(): number {
    return this.count;
  }

  private strideOf(form: Form): number {
    return form === Form.Dense ? 1 : form === Form.Packed ? 2 : this.width;
  }

  /** The numbers stored for `key` (probes may hold -Infinity past the first number). */
  private encode(key: Keyed): number[] {
    const unit = this.packUnit!;
    if (this.form === Form.Dense) {
      if (key.k1 === Number.NEGATIVE_INFINITY) return [Math.ceil(key.k0 / unit) * DENSE_SHIFT];
      return [(key.k0 / unit) * DENSE_SHIFT + key.k1 * DENSE_BASE + key.k2 / unit];
    }
    if (this.form === Form.Packed) {
      if (key.k1 === Number.NEGATIVE_INFINITY) return [key.k0, key.k1];
      return [key.k0, key.k1 * PACK + key.k2 / unit];
    }
    return [key.k0, key.k1, key.k2, key.k3].slice(0, this.width);
  }

  /** Whether `key` can be stored in `form`. */
  private fits(key: Keyed, form: Form): boolean {
    if (form === Form.Plain) return true;
    const units = key.k2 / this.packUnit!;
    const rankOk = Number.isInteger(key.k1) && key.k1 >= 0;
    const baseOk = Number.isInteger(units) && units >= 0;
    if (form === Form.Packed) return rankOk && baseOk && units < PACK && key.k1 < MAX_PACKED_RANK;
    const lengthUnits = key.k0 / this.packUnit!;
    return (
      rankOk &&
      baseOk &&
      units < DENSE_BASE &&
      key.k1 < DENSE_RANK &&
      Number.isInteger(lengthUnits) &&
      lengthUnits >= 0 &&
      lengthUnits < DENSE_LENGTH
    );
  }

  /** Stores every key in the narrowest form, no narrower than now, that holds `key` too. */
  private widenFor(key: Keyed): void {
    let form = this.form;
    while (!this.fits(key, form)) form--;
    if (form === this.form) return;
    const keys = this.toArray();
    this.form = form;
    this.stride = this.strideOf(form);
    this.chunks = [];
    for (let i = 0; i < keys.length; i += CHUNK)
      this.chunks.push(keys.slice(i, i + CHUNK).flatMap((k) => this.encode(k)));
    this.lasts = this.chunks.length > 1 ? this.chunks.map((chunk) => this.lastOf(chunk)) : undefined;
  }

  /** The first number of the chunk's last entry. */
  private lastOf(chunk: readonly number[]): number {
    return chunk[chunk.length - this.stride]!;
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
    const lasts = this.lasts;
    if (!lasts)
      return this.chunks.length === 1 && this.compare(this.chunks[0]!, this.lastAt(0), probe) >= 0
        ? 0
        : this.chunks.length;
    const first = probe[0]!;
    let lo = 0;
    let hi = lasts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const d = lasts[mid]! - first;
      // The chunk itself is read only when the first numbers tie (never in a one-number list).
      const below =
        d < 0 || (d === 0 && this.stride > 1 && this.compare(this.chunks[mid]!, this.lastAt(mid), probe) < 0);
      if (below) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Where the last entry of chunk `c` starts. */
  private lastAt(c: number): number {
    return this.chunks[c]!.length - this.stride;
  }

  /** Adds `key`; an equal key must not be present (keys identify entries). */
  insert(key: Keyed): void {
    this.widenFor(key);
    const w = this.stride;
    const numbers = this.encode(key);
    if (this.chunks.length === 0) {
      // A literal: an array's first push reserves room for 17 (most lists are a server's, of a few keys).
      this.chunks = [numbers];
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
    if (this.lasts) this.lasts[c] = this.lastOf(chunk);
    // A chunk that fits keeps its exact size: a splice that grows an array reserves half again and 16
    // more, 128 bytes and up on every list of a few keys (issue 11: memory, 17,500 lists at 10,000
    // adapters).
    if (chunk.length < 2 * CHUNK * w) this.chunks[c] = chunk.slice();
    // Split into two exactly sized arrays: an array keeps the capacity it grew to, and a split one
    // would keep twice what it holds.
    if (chunk.length >= 2 * CHUNK * w) {
      const low = chunk.slice(0, CHUNK * w);
      const high = chunk.slice(CHUNK * w);
      this.chunks.splice(c, 1, low, high);
      if (this.lasts) this.lasts.splice(c, 1, this.lastOf(low), this.lastOf(high));
      else this.lasts = this.chunks.map((x) => this.lastOf(x));
    }
  }

  /** Removes the entry with this key; returns false when there is none. */
  remove(key: Keyed): boolean {
    if (!this.fits(key, this.form)) return false;
    const w = this.stride;
    const numbers = this.encode(key);
    const c = this.chunkFor(numbers);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c]!;
    const i = this.lowerIn(chunk, numbers);
    if (i * w === chunk.length || this.compare(chunk, i * w, numbers) !== 0) return false;
    chunk.splice(i * w, w);
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.lasts?.splice(c, 1);
      if (this.chunks.length === 0) this.lasts = undefined;
    } else if (this.lasts) this.lasts[c] = this.lastOf(chunk);
    this.count--;
    return true;
  }

  private rankAt(chunk: readonly number[], at: number): number {
    if (this.form === Form.Dense) return Math.floor(chunk[at]! / DENSE_BASE) % DENSE_RANK;
    return this.form === Form.Packed ? Math.floor(chunk[at + 1]! / PACK) : chunk[at + 1]!;
  }

  private keyAt(chunk: readonly number[], at: number): Keyed {
    const unit = this.packUnit!;
    if (this.form === Form.Dense) {
      const n = chunk[at]!;
      const length = Math.floor(n / DENSE_SHIFT);
      const rest = n - length * DENSE_SHIFT;
      const rank = Math.floor(rest / DENSE_BASE);
      return { k0: length * unit, k1: rank, k2: (rest - rank * DENSE_BASE) * unit, k3: 0 };
    }
    if (this.form === Form.Packed) {
      const rank = this.rankAt(chunk, at);
      return { k0: chunk[at]!, k1: rank, k2: (chunk[at + 1]! - rank * PACK) * unit, k3: 0 };
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
    const lasts = this.lasts;
    if (!lasts)
      return this.chunks.length === 1 && this.chunks[0]![this.lastAt(0)]! >= k0 ? 0 : this.chunks.length;
    let lo = 0;
    let hi = lasts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lasts[mid]! < k0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The first key >= `probe` that `accept` takes, walking upwards (keys past the width read as 0);
   * undefined when none does. Probes give k0 and then -Infinity (the planner's: a lower bound on the
   * first number, with no allocation), or a whole key. `accept` sees the second number (the adapter's
   * rank in every list); without it the first key >= `probe` is the answer.
   */
  find(probe: Keyed, accept?: (rank: number) => boolean): Keyed | undefined {
    const w = this.stride;
    // A dense list compares whole keys: a probe by length alone encodes as the lowest key of that length.
    const byFirst = probe.k1 === Number.NEGATIVE_INFINITY && this.form !== Form.Dense;
    const numbers = byFirst ? [] : this.encode(probe);
    const start = byFirst ? this.chunkForFirst(probe.k0) : this.chunkFor(numbers);
    for (let c = start, first = true; c < this.chunks.length; c++, first = false) {
      const chunk = this.chunks[c]!;
      const from = !first ? 0 : byFirst ? this.lowerInByFirst(chunk, probe.k0) : this.lowerIn(chunk, numbers);
      for (let at = from * w; at < chunk.length; at += w) {
        if (!accept || accept(this.rankAt(chunk, at))) return this.keyAt(chunk, at);
      }
    }
    return undefined;
  }

  /**
   * Copies the keys, as stored, into `into` from `at` when they are one number each (dense) and at
   * most `max`: returns how many, or -1 (then only the list answers). The catalog keeps small server
   * lists so, in one row of one array (catalog.ts, issue 11).
   */
  denseInto(into: Float64Array, at: number, max: number): number {
    if (this.form !== Form.Dense || this.count > max) return -1;
    const chunk = this.chunks[0];
    for (let i = 0; i < this.count; i++) into[at + i] = chunk![i]!;
    return this.count;
  }

  /**
   * The keys as one-number row keys (RowCode) in `into` from `at`, when there are at most `max` and
   * each fits its code: returns how many, or -1 (then only the list answers). Extent lists: denseInto.
   */
  rowInto(into: Float64Array, at: number, max: number): number {
    if (this.width === 3) return this.denseInto(into, at, max);
    if (this.form !== Form.Plain || this.count > max) return -1;
    const chunk = this.chunks[0];
    const w = this.width;
    for (let i = 0; i < this.count; i++) {
      const k0 = chunk![i * w]!;
      const rank = chunk![i * w + 1]!;
      if (!isCount(rank, PAIR_RANK)) return -1;
      if (w === 2) {
        if (!isCount(k0, 2 ** 31)) return -1;
        into[at + i] = k0 * PAIR_RANK + rank;
      } else {
        const slot = chunk![i * w + 2]!;
        const base = chunk![i * w + 3]!;
        if (!isCount(k0, CONTEXT_LENGTH) || !isCount(slot, CONTEXT_SLOT) || !isCount(base, CONTEXT_BASE))
          return -1;
        into[at + i] = ((k0 * PAIR_RANK + rank) * CONTEXT_SLOT + slot) * CONTEXT_BASE + base;
      }
    }
    return this.count;
  }

  /**
   * The planner's probe without allocating (issue 11: what a plan allocates decides how often a
   * scavenge, milliseconds at 10,000 adapters, lands in it): the first key whose first number is >=
   * `k0` and whose rank `accept` takes, written into `out`; false when none. The same answer as
   * find({ k0, k1: -Infinity, ... }, accept).
   */
  findAtLeast(k0: number, accept: ((rank: number) => boolean) | undefined, out: MutableKeyed): boolean {
    const w = this.stride;
    // A dense key's one number orders by length first: the lowest key of length >= k0 is this.
    const first = this.form === Form.Dense ? denseAtLeast(k0, this.packUnit!) : k0;
    const chunks = this.chunks;
    for (let c = this.chunkForFirst(first), start = true; c < chunks.length; c++, start = false) {
      const chunk = chunks[c]!;
      for (let at = start ? this.lowerInByFirst(chunk, first) * w : 0; at < chunk.length; at += w) {
        if (accept && !accept(this.rankAt(chunk, at))) continue;
        this.keyInto(chunk, at, out);
        return true;
      }
    }
    return false;
  }

  /** keyAt, written into `out`. */
  private keyInto(chunk: readonly number[], at: number, out: MutableKeyed): void {
    const unit = this.packUnit!;
    if (this.form === Form.Dense) denseKeyInto(chunk[at]!, unit, out);
    else if (this.form === Form.Packed) {
      const rank = Math.floor(chunk[at + 1]! / PACK);
      out.k0 = chunk[at]!;
      out.k1 = rank;
      out.k2 = (chunk[at + 1]! - rank * PACK) * unit;
      out.k3 = 0;
    } else {
      const w = this.width;
      out.k0 = chunk[at]!;
      out.k1 = chunk[at + 1]!;
      out.k2 = w > 2 ? chunk[at + 2]! : 0;
      out.k3 = w > 3 ? chunk[at + 3]! : 0;
    }
  }

  /** Every key in order (tests and consistency checks). */
  toArray(): Keyed[] {
    const out: Keyed[] = [];
    for (const chunk of this.chunks)
      for (let at = 0; at < chunk.length; at += this.stride) out.push(this.keyAt(chunk, at));
    return out;
  }
}
