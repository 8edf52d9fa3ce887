// The live index's compact structures against plain references: owner numbers against a Map, the
// typed free list against the array functions of extents.ts, and slice columns that must widen
// (16-bit, 32-bit, doubles) against the slices they were given.
import { describe, expect, it } from 'vitest';
import { EntryTable } from '../../src/rvl/adapter-state.js';
import { ExtentColumn } from '../../src/rvl/extent-column.js';
import { type Extent, giveRange, takeRange } from '../../src/rvl/extents.js';
import { AvailabilityIndex, buildAvailability, type ExistingSlice } from '../../src/rvl/index.js';
import { Owners } from '../../src/rvl/owners.js';
import { type Keyed, SortedList } from '../../src/rvl/sorted-list.js';
import { Prng } from '../helpers/prng.js';
import { adapter, contexts, GiB, loaded, MiB, memory, pool } from './fixtures.js';

describe('compact live state', () => {
  it('owner numbers follow a Map through acquire and release (reuse, growth, deletion inside probe runs)', () => {
    const rng = new Prng(11);
    const owners = new Owners();
    const model = new Map<string, { id: number; count: number; adapters: Set<string> }>();
    for (let step = 0; step < 8000; step++) {
      const name = `a-${rng.int(0, 400)}`;
      const live = model.get(name);
      if (live && rng.chance(0.5)) {
        owners.release(live.id);
        if (--live.count === 0) model.delete(name);
      } else {
        const adapterId = `ra${rng.int(0, 3)}`;
        const id = owners.acquire(name, adapterId);
        if (live) expect(id).toBe(live.id);
        else expect([...model.values()].map((m) => m.id)).not.toContain(id);
        const entry = live ?? { id, count: 0, adapters: new Set<string>() };
        entry.count++;
        entry.adapters.add(adapterId);
        model.set(name, entry);
      }
      if (step % 400 === 0 || step > 7990) {
        expect(owners.size).toBe(model.size);
        for (let n = 0; n <= 400; n++) {
          const m = model.get(`a-${n}`);
          expect(owners.idOf(`a-${n}`)).toBe(m?.id);
          if (m) {
            expect(owners.name(m.id)).toBe(`a-${n}`);
            expect(new Set(owners.adaptersOf(`a-${n}`))).toEqual(m.adapters);
          }
        }
      }
    }
  });

  it('ordered lists (extent keys in one number, then two, then unpacked) keep the order and answers of a sorted array', () => {
    const rng = new Prng(13);
    const list = new SortedList(3, 4);
    const reference: Keyed[] = [];
    const order = (x: Keyed, y: Keyed) => x.k0 - y.k0 || x.k1 - y.k1 || x.k2 - y.k2;
    const key = (k0: number, k1: number, k2: number): Keyed => ({ k0, k1, k2, k3: 0 });
    // Ranks and units at the edges of the one-number form (2^21 ranks, 2^16 units of length and base).
    const rank = () => (rng.chance(0.1) ? 2 ** 21 - 1 - rng.int(0, 3) : rng.int(0, 30));
    for (let step = 0; step < 4500; step++) {
      // Until step 1500 every key fits one number (lengths and bases multiples of 4 below 2^16 units);
      // then a base of 2^16 units moves the list to two numbers and lengths stop being multiples of 4;
      // at step 3000 a base that is no multiple of 4 (and one past 2^26 units) unpacks it.
      const dense = step < 1500;
      const odd = step === 1500 ? 4 * 2 ** 16 : step === 3000 ? 1 : step === 3001 ? 4 * 2 ** 26 : 0;
      if (reference.length && rng.chance(0.4) && !odd) {
        const [k] = reference.splice(rng.int(0, reference.length - 1), 1);
        expect(list.remove(k!)).toBe(true);
        expect(list.remove(k!)).toBe(false);
      } else {
        const length = dense
          ? 4 * (rng.chance(0.05) ? 2 ** 16 - 1 : rng.int(1, 50))
          : rng.int(1, 50) * (step < 3000 ? 1 : 4);
        const base = rng.chance(0.05) ? 4 * (2 ** 16 - 1) : 4 * rng.int(0, 40);
        const k = key(length, rank(), odd || base);
        if (reference.some((r) => order(r, k) === 0)) continue;
        list.insert(k);
        reference.push(k);
      }
      reference.sort(order);
      // Keys the present form cannot hold are not there to remove.
      if (dense) expect(list.remove(key(4 * 2 ** 16, 0, 0))).toBe(false);
      // The form the phase implies (numbers stored per key), so each form is the one exercised.
      const stride = (list as unknown as { stride: number }).stride;
      expect(stride).toBe(dense ? 1 : step < 3000 ? 2 : 3);
      if (step % 50 === 0 || (step >= 1499 && step <= 1503) || (step >= 2999 && step <= 3003)) {
        expect(list.toArray()).toEqual(reference);
        const need = rng.chance(0.1) ? 4 * (2 ** 16 - 1) : rng.int(-1, 210);
        const skip = rng.int(0, 30);
        const probe = key(need, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY);
        const want = reference.find((r) => r.k0 >= need && r.k1 !== skip);
        expect(list.find(probe, (rank) => rank !== skip)).toEqual(want);
        // A whole key as the probe: the first key at or after it.
        const at = reference[rng.int(0, reference.length - 1)];
        if (at) expect(list.find(at, () => true)).toEqual(at);
      }
    }
    expect(list.size).toBe(reference.length);
  });

  it.each([2, 4] as const)(
    'ordered lists of width %i answer as a sorted array while they empty, refill and tie on the first number across chunks',
    (width) => {
      const rng = new Prng(14 + width);
      const list = new SortedList(width);
      let reference: Keyed[] = [];
      const order = (x: Keyed, y: Keyed) => x.k0 - y.k0 || x.k1 - y.k1 || x.k2 - y.k2 || x.k3 - y.k3;
      let firsts = 3;
      const key = (): Keyed => ({
        // Few first numbers: hundreds of keys share one, so chunk boundaries fall inside ties; then many.
        k0: rng.int(0, firsts),
        k1: rng.int(0, 400),
        k2: width === 4 ? rng.int(0, 3) : 0,
        k3: width === 4 ? rng.int(0, 7) : 0,
      });
      for (let round = 0; round < 8; round++) {
        // Fill to a few hundred keys (several chunks), check, then empty the list completely.
        const target = round % 2 === 0 ? 600 : 3;
        firsts = round < 4 ? 3 : 300;
        while (reference.length < target) {
          const k = key();
          if (reference.some((r) => order(r, k) === 0)) continue;
          list.insert(k);
          reference.push(k);
        }
        reference.sort(order);
        expect(list.toArray()).toEqual(reference);
        for (let probe = 0; probe < 40; probe++) {
          const at = reference[rng.int(0, reference.length - 1)]!;
          expect(list.find(at)).toEqual(at);
          const skip = rng.int(0, 400);
          const first = { k0: rng.int(-1, firsts + 1), k1: Number.NEGATIVE_INFINITY, k2: 0, k3: 0 };
          expect(list.find(first, (rank) => rank !== skip)).toEqual(
            reference.find((r) => r.k0 >= first.k0 && r.k1 !== skip),
          );
        }
        // Removed in random order, checked as the list shrinks (chunks empty and go).
        for (const [i, k] of [...reference].sort(() => rng.next() - 0.5).entries()) {
          expect(list.remove(k)).toBe(true);
          reference.splice(reference.indexOf(k), 1);
          if (i % 25 === 0) {
            expect(list.toArray()).toEqual(reference);
            for (const r of reference.slice(0, 20)) expect(list.find(r)).toEqual(r);
          }
        }
        reference = [];
        expect(list.size).toBe(0);
        expect(list.find({ k0: 0, k1: Number.NEGATIVE_INFINITY, k2: 0, k3: 0 })).toBeUndefined();
        expect(list.toArray()).toEqual([]);
      }
    },
  );

  it.each([
    { name: '16-bit units', unit: 1, limit: 1000, grain: 1, oddAt: -1, bytesPerNumber: 2 },
    // Multiples of the unit stay in units; the first odd value moves the column to bytes in doubles.
    { name: 'units, then bytes', unit: 4, limit: 4000, grain: 4, oddAt: 1500, bytesPerNumber: 8 },
    { name: '32-bit units', unit: 1, limit: 3 * 2 ** 20, grain: 1, oddAt: -1, bytesPerNumber: 4 },
  ])(
    'the typed free list ($name) edits as takeRange and giveRange do, and reports the same changes',
    ({ unit, limit, grain, oddAt, bytesPerNumber }) => {
      const rng = new Prng(12);
      let reference: Extent[] = [{ base: 0, length: limit }];
      const column = new ExtentColumn(reference, unit);
      const taken: Extent[] = [];
      for (let step = 0; step < 3000; step++) {
        const g = oddAt >= 0 && step >= oddAt ? 1 : grain;
        if (taken.length && rng.chance(0.45)) {
          const [t] = taken.splice(rng.int(0, taken.length - 1), 1);
          const want = giveRange(reference, t!.base, t!.length);
          expect(column.give(t!.base, t!.length)).toEqual(want);
        } else if (reference.length) {
          const e = rng.pick(reference);
          const base = e.base + g * rng.int(0, Math.floor((e.length - 1) / g));
          const room = e.base + e.length - base;
          if (room < g) continue;
          const length = g * rng.int(1, Math.floor(room / g));
          expect(column.contains(base, length)).toBe(true);
          const want = takeRange(reference, base, length);
          expect(column.take(base, length)).toEqual(want);
          taken.push({ base, length });
        }
        reference = [...reference];
        expect(column.toArray()).toEqual(reference);
        expect(column.size).toBe(reference.length);
      }
      // The width the values needed: 2 bytes a number, 4, or doubles once a value left the unit.
      const pairs = (column as unknown as { pairs: { BYTES_PER_ELEMENT: number } }).pairs;
      expect(pairs.BYTES_PER_ELEMENT).toBe(bytesPerNumber);
      // Bad edits are refused as the array functions refuse them.
      const free = reference[0]!;
      expect(() => column.give(free.base, 1)).toThrow(/already free/);
      const used = taken[0]!;
      expect(() => column.take(used.base, used.length)).toThrow(/not free/);
    },
  );

  it('slice columns widen (16-bit units, 32-bit units, doubles) and keep every number exact', () => {
    const big = adapter('a0', {
      memoryBytes: 2 ** 44,
      memoryAlignBytes: 2 * MiB,
      slotCount: 70000,
      slots: [loaded(66000, 'aes-256-gcm')],
    });
    const start: ExistingSlice[] = [memory('a0', 3, 0, 2 * MiB, 'x'), memory('a0', 0, 4 * MiB, 2 * MiB, 'y')];
    const index = AvailabilityIndex.fromInventory(pool([big], start));
    const sorted = (slices: ExistingSlice[]) => [...slices].sort((a, b) => a.entry - b.entry);
    expect(index.toInventory().slices).toEqual(sorted(start));
    // 2^40 bytes are 2^19 units of 2 MiB: past 16 bits.
    const far = memory('a0', 5, 2 ** 40, GiB, 'z');
    index.applyAdapterReport(big, [...start, far]);
    expect(index.toInventory().slices).toEqual(sorted([...start, far]));
    // An unaligned slice made by someone else: no unit holds it, doubles do.
    const odd = memory('a0', 1, 8 * MiB + 5, 7, 'w');
    // A context in a slot past 16 bits.
    const ctx = contexts('a0', 200, 66000, 2, 3);
    const all = [...start, far, odd, ctx];
    const report = index.applyAdapterReport(big, all);
    expect(report.foreign).toEqual([odd, ctx]);
    expect(index.toInventory().slices).toEqual(sorted(all));
    // The live state still equals the from-scratch one.
    const rebuilt = buildAvailability(pool([big], all)).adapters[0]!;
    const live = index.adapter('a0')!;
    expect(live.freeMemory).toEqual(rebuilt.freeMemory);
    expect(live.memorySlackBytes).toBe(rebuilt.memorySlackBytes);
    expect(live.freeEntries).toEqual(rebuilt.freeEntries);
    expect(live.slots[66000]!.freeContexts).toEqual(rebuilt.slots[66000]!.freeContexts);
    expect(index.release('z')).toBe(1);
    expect(index.toInventory().slices).toEqual(sorted([...start, odd, ctx]));
  });

  it('rows keep owner numbers past 16 bits and slots past 6 bits (the 16-bit row stores neither whole)', () => {
    // 300 adapters x 256 entries, one allocation each: owner numbers up to 76,799.
    const adapters = Array.from({ length: 300 }, (_, i) => adapter(`a${String(i).padStart(3, '0')}`));
    const slices = adapters.flatMap((a) =>
      Array.from({ length: 256 }, (_, e) => memory(a.id, e, e * 32 * MiB, 32 * MiB, `${a.id}/${e}`)),
    );
    const index = AvailabilityIndex.fromInventory(pool(adapters, slices));
    const byEntry = (x: ExistingSlice, y: ExistingSlice) =>
      x.adapter.localeCompare(y.adapter) || x.entry - y.entry;
    expect(index.toInventory().slices).toEqual([...slices].sort(byEntry));
    // Releasing by allocation finds exactly its slice, for owners on either side of 2^16.
    for (const gone of [slices[5]!, slices[65535]!, slices[65536]!, slices[76799]!]) {
      expect(index.release(gone.allocation)).toBe(1);
      expect(index.adapter(gone.adapter)!.slices.get(gone.entry)).toBeUndefined();
    }
    expect(index.adapter('a298')!.slices.get(255)!.allocation).toBe('a298/255');
    // Slot 63 fits the 16-bit row beside the kind and the owner's high byte; slot 64 widens it.
    const six = adapter('s', { slotCount: 70, slots: [loaded(63, 'sha256'), loaded(64, 'sha256')] });
    const narrow = AvailabilityIndex.fromInventory(pool([six]));
    const at63 = { ...contexts('s', 0, 63, 1, 2), allocation: 'p' };
    const at64 = { ...contexts('s', 1, 64, 0, 3), allocation: 'q' };
    narrow.applyAdapterReport(six, [at63]);
    expect(narrow.toInventory().slices).toEqual([at63]);
    narrow.applyAdapterReport(six, [at63, at64]);
    expect(narrow.toInventory().slices).toEqual([at63, at64]);
    expect(narrow.release('p')).toBe(1);
    expect(narrow.toInventory().slices).toEqual([at64]);
    // Slots 4095 and 4096, either side of the 12 bits a 16-bit row once held, read back too.
    const wide = adapter('w', { slotCount: 5000, slots: [loaded(4095, 'sha256'), loaded(4096, 'sha256')] });
    const next = AvailabilityIndex.fromInventory(pool([wide]));
    const low = { ...contexts('w', 0, 4095, 1, 2), allocation: 'p' };
    const high = { ...contexts('w', 1, 4096, 0, 3), allocation: 'q' };
    next.applyAdapterReport(wide, [low]);
    expect(next.toInventory().slices).toEqual([low]);
    next.applyAdapterReport(wide, [low, high]);
    expect(next.toInventory().slices).toEqual([low, high]);
    expect(next.release('p')).toBe(1);
    expect(next.toInventory().slices).toEqual([high]);
    const rebuilt = buildAvailability(pool([wide], [high])).adapters[0]!;
    expect(next.adapter('w')!.slots[4096]!.freeContexts).toEqual(rebuilt.slots[4096]!.freeContexts);
    expect(next.adapter('w')!.freeEntries).toEqual(rebuilt.freeEntries);
  });
  it('16-bit rows keep owner numbers up to 2^24 - 1 and widen for 2^24 (owners past a real pool, stubbed)', () => {
    // Owner numbers as Owners would hand them out after 2^24 allocations: a stub gives them directly.
    const numbers = [5, 2 ** 16 + 7, 2 ** 24 - 1, 2 ** 24, 2 ** 24 + 2 ** 16 + 3];
    let next = 0;
    const names = new Map<number, string>();
    const owners = {
      acquire: (allocation: string) => {
        const n = numbers[next++]!;
        names.set(n, allocation);
        return n;
      },
      release: () => {},
      name: (n: number) => names.get(n)!,
    } as unknown as Owners;
    const table = new EntryTable('a0', 256, owners, 2 * MiB);
    const made: ExistingSlice[] = [];
    for (const [i] of numbers.entries()) {
      const s = { ...memory('a0', 10 * i, i * 2 * MiB, 2 * MiB, `alloc-${i}`) };
      table.set(s);
      made.push(s);
      // Every slice so far reads back whole, before and after the row widens.
      for (const m of made) expect(table.get(m.entry)).toEqual(m);
      const stride = (table as unknown as { stride: number }).stride;
      const row = (table as unknown as { rows: ArrayLike<number> }).rows;
      expect(row instanceof Uint16Array).toBe(i < 3);
      expect(stride).toBe(4);
    }
    expect([...table.entries()]).toEqual([0, 10, 20, 30, 40]);
  });
});
