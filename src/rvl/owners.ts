// Allocation ids as small numbers: the live index stores one 32-bit owner number per slice-table entry
// instead of a reference to a slice object, and keeps one string per allocation (issue 11: a pool of
// 10,000 adapters x 256 entries holds millions of slices). An owner number lives while at least one
// slice carries it; it is then given back and reused.

export class Owners {
  private readonly ids = new Map<string, number>();
  /** By owner number: the allocation id (one string however many equal copies callers sent). */
  private readonly names: (string | undefined)[] = [];
  /** By owner number: how many slices carry it. */
  private readonly counts: number[] = [];
  /** By owner number: the adapter(s) that hold (or held) its slices, for release() without a pool walk. */
  private readonly where: (string | string[] | undefined)[] = [];
  private readonly unused: number[] = [];

  /** One more slice of `allocation` on `adapter`; returns its owner number. */
  acquire(allocation: string, adapter: string): number {
    let id = this.ids.get(allocation);
    if (id === undefined) {
      id = this.unused.pop() ?? this.names.length;
      this.ids.set(allocation, id);
      this.names[id] = allocation;
      this.counts[id] = 0;
      this.where[id] = adapter;
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
    const left = --this.counts[id]!;
    if (left > 0) return;
    this.ids.delete(this.names[id]!);
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
    return this.ids.get(allocation);
  }

  /** Adapters that may hold slices of `allocation` (a superset after partial releases). */
  adaptersOf(allocation: string): readonly string[] {
    const id = this.ids.get(allocation);
    const at = id === undefined ? undefined : this.where[id];
    return at === undefined ? [] : typeof at === 'string' ? [at] : [...at];
  }
}
