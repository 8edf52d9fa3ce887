// Server names as numbers 0, 1, 2, ... in the order they are added: the catalog keeps its per-server
// lists by number, and every plan that names a server (policy.sameServer) looks its number up here.
// Issue 11: at 10,000 adapters (2,500 servers) a Map<string, number> lookup of a name the request
// just made costs three cache misses (the bucket, the entry, the stored key to compare against) and
// was 11% of the planner's time. Here a name of up to INLINE code units is stored in its table row,
// next to its number: one row read (one cache line) finds and checks it. Longer names are compared
// against the stored string. Open addressing, linear probing; names are never removed (a server's
// number lives as long as the catalog, as the lists kept by number do).

import { fnv1a } from './fnv1a.js';

/** Code units of a name stored in its row; a row is [number + 1, length, units...]: 64 bytes. */
const INLINE = 14;
const ROW = INLINE + 2;
const EMPTY = 0;

export class ServerNumbers {
  /** Rows of ROW 32-bit numbers; the capacity (rows) is a power of two, at most half full. */
  private rows = new Uint32Array(16 * ROW);
  private capacity = 16;
  private readonly names: string[] = [];

  get size(): number {
    return this.names.length;
  }

  /** The name of number `n`. */
  nameOf(n: number): string | undefined {
    return this.names[n];
  }

  /** Whether row `r` holds `name` (its number is known to be set). */
  private rowHolds(at: number, name: string): boolean {
    const rows = this.rows;
    const length = name.length;
    if (rows[at + 1] !== length) return false;
    if (length > INLINE) return this.names[rows[at]! - 1] === name;
    for (let i = 0; i < length; i++) if (rows[at + 2 + i] !== name.charCodeAt(i)) return false;
    return true;
  }

  /** The row where `name` is, or the empty row where it would go. */
  private rowOf(name: string): number {
    const mask = this.capacity - 1;
    let r = fnv1a(name) & mask;
    for (;;) {
      const at = r * ROW;
      if (this.rows[at] === EMPTY || this.rowHolds(at, name)) return at;
      r = (r + 1) & mask;
    }
  }

  /** The number of `name`, or -1 when it was never added. */
  numberOf(name: string): number {
    return this.rows[this.rowOf(name)]! - 1;
  }

  /** The number of `name`, added (the next number) if it is new. */
  add(name: string): number {
    const known = this.numberOf(name);
    if (known >= 0) return known;
    const n = this.names.length;
    this.names.push(name);
    if (2 * this.names.length > this.capacity) this.rehash(2 * this.capacity);
    this.write(this.rowOf(name), n, name);
    return n;
  }

  private write(at: number, n: number, name: string): void {
    this.rows[at] = n + 1;
    this.rows[at + 1] = name.length;
    if (name.length <= INLINE)
      for (let i = 0; i < name.length; i++) this.rows[at + 2 + i] = name.charCodeAt(i);
  }

  private rehash(capacity: number): void {
    this.rows = new Uint32Array(capacity * ROW);
    this.capacity = capacity;
    // Every name but the one being added (add() writes it after).
    for (let n = 0; n < this.names.length - 1; n++) {
      const name = this.names[n]!;
      this.write(this.rowOf(name), n, name);
    }
  }
}
