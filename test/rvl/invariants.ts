// Checks that hold for every inventory the RVL ever produces, written independently of src/rvl so a
// bug there cannot hide itself: slices never overlap, never leave their adapter, entries are unique,
// and free + allocated (+ unusable slack) equals the total of every resource.
import { expect } from 'vitest';
import { buildAvailability, type ExistingSlice, type Inventory } from '../../src/rvl/index.js';

function overlaps(a: ExistingSlice, b: ExistingSlice): boolean {
  return a.base < b.base + b.length && b.base < a.base + a.length;
}

function sameSpace(a: ExistingSlice, b: ExistingSlice): boolean {
  return a.adapter === b.adapter && a.kind === b.kind && (a.kind !== 'context' || a.slot === b.slot);
}

export function expectNoOverlap(inv: Inventory): void {
  const { slices } = inv;
  for (let i = 0; i < slices.length; i++) {
    for (let j = i + 1; j < slices.length; j++) {
      const a = slices[i]!;
      const b = slices[j]!;
      if (a.adapter === b.adapter)
        expect(a.entry, `entry ${a.adapter}#${a.entry} used twice`).not.toBe(b.entry);
      if (sameSpace(a, b)) expect(overlaps(a, b), `${a.adapter}#${a.entry} overlaps #${b.entry}`).toBe(false);
    }
  }
}

function sum(slices: ExistingSlice[]): number {
  return slices.reduce((s, x) => s + x.length, 0);
}

/** free + allocated == total for memory (with slack), compute, contexts of every slot, and entries. */
export function expectConservation(inv: Inventory): void {
  const av = buildAvailability(inv);
  for (const a of inv.adapters) {
    const x = av.adapters.find((y) => y.id === a.id)!;
    const mine = inv.slices.filter((s) => s.adapter === a.id);
    const free = (es: { length: number }[]) => es.reduce((s, e) => s + e.length, 0);
    const memoryUsed = sum(mine.filter((s) => s.kind === 'memory'));
    expect(free(x.freeMemory) + x.memorySlackBytes + memoryUsed, `${a.id} memory`).toBe(a.memoryBytes);
    expect(free(x.freeCompute) + sum(mine.filter((s) => s.kind === 'compute')), `${a.id} compute`).toBe(
      a.computeUnits,
    );
    for (const slot of x.slots) {
      const used = sum(mine.filter((s) => s.kind === 'context' && s.slot === slot.index));
      expect(free(slot.freeContexts) + used, `${a.id} slot ${slot.index}`).toBe(slot.contexts);
      const listed = a.slots.find((s) => s.index === slot.index);
      expect(listed?.contextsUsed ?? 0, `${a.id} slot ${slot.index} contextsUsed`).toBe(used);
    }
    expect(x.freeEntries.length + mine.length, `${a.id} entries`).toBe(a.sliceEntries);
  }
}
