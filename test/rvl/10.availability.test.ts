// The availability index: what is free, derived from the inventory, and the inventories it refuses.
import { describe, expect, it } from 'vitest';
import { AvailabilityIndex, buildAvailability, RvlError } from '../../src/rvl/index.js';
import { adapter, compute, contexts, GiB, loaded, MiB, memory, pool } from './fixtures.js';

describe('availability index', () => {
  it('lists free memory sorted and coalesced, around slices given in any order', () => {
    const av = buildAvailability(
      pool(
        [adapter('a0')],
        [memory('a0', 3, 6 * GiB, GiB), memory('a0', 1, GiB, GiB), memory('a0', 2, 2 * GiB, GiB)],
      ),
    );
    expect(av.adapters[0]!.freeMemory).toEqual([
      { base: 0, length: GiB },
      { base: 3 * GiB, length: 3 * GiB },
      { base: 7 * GiB, length: GiB },
    ]);
    expect(av.adapters[0]!.freeEntries.slice(0, 3)).toEqual([0, 4, 5]);
  });

  it('aligns free memory and counts the unusable edges as slack', () => {
    const av = buildAvailability(
      pool([adapter('a0', { memoryBytes: 9 * MiB })], [memory('a0', 0, MiB, 2 * MiB)]),
    );
    expect(av.adapters[0]!.freeMemory).toEqual([{ base: 4 * MiB, length: 4 * MiB }]);
    // [0,1) and [3,4) around the slice, [8,9) at the end.
    expect(av.adapters[0]!.memorySlackBytes).toBe(3 * MiB);
  });

  it('lists free compute ranges and free contexts per loaded slot; absent slots are empty', () => {
    const av = buildAvailability(
      pool(
        [adapter('a0', { slots: [loaded(2, 'sha256', 3)] })],
        [compute('a0', 0, 4, 4), contexts('a0', 1, 2, 1, 3)],
      ),
    );
    const a = av.adapters[0]!;
    expect(a.freeCompute).toEqual([
      { base: 0, length: 4 },
      { base: 8, length: 8 },
    ]);
    expect(a.slots.map((s) => s.empty)).toEqual([true, true, false, true]);
    expect(a.slots[2]!.freeContexts).toEqual([
      { base: 0, length: 1 },
      { base: 4, length: 4 },
    ]);
    expect(a.slots[2]!.idle).toBe(false);
  });

  it('sorts adapters by id so every walk is deterministic', () => {
    const av = buildAvailability(pool([adapter('b'), adapter('a'), adapter('c')]));
    expect(av.adapters.map((a) => a.id)).toEqual(['a', 'b', 'c']);
  });

  const refused: [string, ReturnType<typeof pool>][] = [
    [
      'overlapping memory slices',
      pool([adapter('a0')], [memory('a0', 0, 0, 2 * GiB), memory('a0', 1, GiB, GiB)]),
    ],
    ['a slice beyond the memory', pool([adapter('a0')], [memory('a0', 0, 7 * GiB, 2 * GiB)])],
    ['an entry used twice', pool([adapter('a0')], [memory('a0', 0, 0, GiB), compute('a0', 0, 0, 1)])],
    [
      'an entry beyond the slice table',
      pool([adapter('a0', { sliceEntries: 2 })], [memory('a0', 2, 0, GiB)]),
    ],
    ['a slice on an unknown adapter', pool([adapter('a0')], [memory('zz', 0, 0, GiB)])],
    ['a context slice in an empty slot', pool([adapter('a0')], [contexts('a0', 0, 1, 0, 1)])],
    ['an adapter listed twice', pool([adapter('a0'), adapter('a0')])],
    ['a negative size', pool([adapter('a0', { memoryBytes: -1 })])],
    ['a zero alignment', pool([adapter('a0', { memoryAlignBytes: 0 })])],
    ['a slot beyond slotCount', pool([adapter('a0', { slotCount: 1, slots: [loaded(1, 'sha256')] })])],
  ];
  for (const [what, inventory] of refused) {
    it(`refuses ${what} with INVALID_INVENTORY`, () => {
      expect(() => buildAvailability(inventory)).toThrow(
        expect.objectContaining({ name: 'RvlError', code: 'INVALID_INVENTORY' }),
      );
      try {
        buildAvailability(inventory);
      } catch (e) {
        expect(e).toBeInstanceOf(RvlError);
      }
      // The live index refuses the same inventories, with the same error.
      expect(() => AvailabilityIndex.fromInventory(inventory)).toThrow(
        expect.objectContaining({ name: 'RvlError', code: 'INVALID_INVENTORY' }),
      );
    });
  }
});
