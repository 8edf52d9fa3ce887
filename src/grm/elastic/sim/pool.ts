// The simulator's pool: adapters with compute units, and one single-slice compute allocation per
// tenant (as the GRM resizes: one slice on one adapter). Counts, not extents: a grow takes units on the
// slice's adapter when it has them, else moves the slice to an adapter that holds the new size (a
// migration, as src/grm/resize.ts does when it cannot grow in place).

export interface SimAllocation {
  adapter: number;
  units: number;
}

export class SimPool {
  readonly free: number[];
  readonly held = new Map<string, SimAllocation>();
  migrations = 0;

  constructor(
    adapters: number,
    readonly unitsPerAdapter: number,
  ) {
    this.free = Array.from({ length: adapters }, () => unitsPerAdapter);
  }

  get capacity(): number {
    return this.free.length * this.unitsPerAdapter;
  }

  /** Best fit: the adapter with the fewest free units that still holds `units`; -1 when none does. */
  private fit(units: number, except = -1): number {
    let best = -1;
    this.free.forEach((f, i) => {
      if (i !== except && f >= units && (best < 0 || f < this.free[best]!)) best = i;
    });
    return best;
  }

  place(tenant: string, units: number): boolean {
    if (this.held.has(tenant)) throw new Error(`${tenant} already holds an allocation`);
    const a = this.fit(units);
    if (a < 0) return false;
    this.free[a]! -= units;
    this.held.set(tenant, { adapter: a, units });
    return true;
  }

  release(tenant: string): void {
    const h = this.held.get(tenant);
    if (!h) return;
    this.free[h.adapter]! += h.units;
    this.held.delete(tenant);
  }

  /** Grows to `units` in place or by a move; else to as much as its own adapter has. Returns the size. */
  grow(tenant: string, units: number): number {
    const h = this.held.get(tenant)!;
    const more = units - h.units;
    if (more <= 0) return h.units;
    if (this.free[h.adapter]! >= more) {
      this.free[h.adapter]! -= more;
      h.units = units;
      return units;
    }
    const to = this.fit(units, h.adapter);
    if (to >= 0) {
      this.free[h.adapter]! += h.units;
      this.free[to]! -= units;
      h.adapter = to;
      h.units = units;
      this.migrations++;
      return units;
    }
    h.units += this.free[h.adapter]!;
    this.free[h.adapter] = 0;
    return h.units;
  }

  shrink(tenant: string, units: number): void {
    const h = this.held.get(tenant)!;
    if (units >= h.units) return;
    this.free[h.adapter]! += h.units - units;
    h.units = units;
  }

  units(tenant: string): number {
    return this.held.get(tenant)?.units ?? 0;
  }
}
