// Allocation ids as small numbers: the live index stores one 32-bit owner number per slice-table entry
// instead of a reference to a slice object, and keeps one string per allocation (issue 11: a pool of
// 10,000 adapters x 256 entries holds millions of slices and hundreds of thousands of allocations).
// An owner number lives while at least one slice carries it; it is then given back and reused.
// Id -> number is an open-addressing table of numbers (linear probing) rather than a Map: a Map spends
// about 40 bytes an entry, this 4 to 8.

import { fnv1a } from './fnv1a.js';

const EMPTY = 0;

export class Owners {
  /**
   * Slots hold owner number + 1 (EMPTY when free); the capacity is a power of two, at most three
   * quarters full (linear probing stays short; half full would double the table at 10,000 adapters).
   */
  private slots = new Int32Array(16);
  private used = 0;
  /** By owner number: the allocation id (one string however many equal copies callers sent). */
  private readonly names: (string | undefined)[] = [];
  /** By owner number: how many slices carry it. */
  private counts = new Int32Array(16);
  /** By owner number: the adapter(s) that hold (or held) its slices, for release() without a pool walk. */
  private readonly where: (string | string[] | undefined)[] = [];
  private readonly unused: number[] = [];

  /** The slot of `allocation`, or the empty slot where it would go. */
  private slotOf(allocation: string): number {
    const mask = this.slots.length - 1;
    let i = fnv1a(allocation) & mask;
    for (;;) {
      const held = this.slots[i]!;
      if (held === EMPTY || this.names[held - 1] === allocation) return i;
      i = (i + 1) & mask;
    }
  }

  private rehash(capacity: number): void {
    const old = this.slots;
    this.slots = new Int32Array(capacity);
    for (const held of old) if (held !== EMPTY) this.slots[this.slotOf(this.names[held - 1]!)] = held;
  }

  /** Empties slot `i` and moves later entries of its probe run back (deletion without tombstones). */
  private clearSlot(i: number): void {
    const mask = this.slots.length - 1;
    this.slots[i] = EMPTY;
    let j = (i + 1) & mask;
    while (this.slots[j] !== EMPTY) {
      const held = this.slots[j]!;
      this.slots[j] = EMPTY;
      this.slots[this.slotOf(this.names[held - 1]!)] = held;
      j = (j + 1) & mask;
    }
  }

  /** One more slice of `allocation` on `adapter`; returns its owner number. */
  acquire(allocation: string, adapter: string): number {
    const slot = this.slotOf(allocation);
    let id = this.slots[slot]! - 1;
    if (id < 0) {
      id = this.unused.pop() ?? this.names.length;
      if (id >= this.counts.length) {
        const grown = new Int32Array(2 * this.counts.length);
        grown.set(this.counts);
        this.counts = grown;
      }
      this.slots[slot] = id + 1;
      this.names[id] = allocation;
      this.counts[id] = 0;
      this.where[id] = adapter;
      if (4 * ++this.used > 3 * this.slots.length) this.rehash(2 * this.slots.length);
    } else {
      const at = this.where[id]!;
      if (typeof at === 'string') {
        if (at !== adapter) this.where[id] = [at, adapter];
      } else if (!at.includes(adapter)) at.push(adapter);
    }
    this.counts[id]!++;
    return id;
  }

  /** One slice of owner `id` is gone; the number is given back with the last one. */
  release(id: number): void {
    if (--this.counts[id]! > 0) return;
    this.clearSlot(this.slotOf(this.names[id]!));
    this.used--;
    this.names[id] = undefined;
    this.where[id] = undefined;
    this.unused.push(id);
  }

  name(id: number): string {
    const name = this.names[id];
    if (name === undefined) throw new Error(`internal: owner ${id} is not in use`);
    return name;
  }

  idOf(allocation: string): number | undefined {
    const held = this.slots[this.slotOf(allocation)]!;
    return held === EMPTY ? undefined : held - 1;
  }

  /** Adapters that may hold slices of `allocation` (a superset after partial releases). */
  adaptersOf(allocation: string): readonly string[] {
    const id = this.idOf(allocation);
    const at = id === undefined ? undefined : this.where[id];
    return at === undefined ? [] : typeof at === 'string' ? [at] : [...at];
  }

  /** Allocations with at least one slice (tests). */
  get size(): number {
    return this.used;
  }
}
