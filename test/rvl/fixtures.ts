// Small builders for inventories, so each case in the table reads as the pool it describes.
import type { AdapterInventory, ExistingSlice, Inventory, SlotInventory } from '../../src/rvl/index.js';

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

/** The embedded model's defaults (ra-spec §1.1): 8 GiB, 2 MiB alignment, 16 units, 4 slots x 8 contexts. */
export function adapter(id: string, over: Partial<AdapterInventory> = {}): AdapterInventory {
  return {
    id,
    server: 's1',
    health: 'healthy',
    memoryBytes: 8 * GiB,
    memoryAlignBytes: 2 * MiB,
    computeUnits: 16,
    slots: [],
    slotCount: 4,
    contextsPerEngine: 8,
    sliceEntries: 256,
    functionsSupported: ['aes-256-gcm', 'sha256', 'crc32c', 'pipeline'],
    ...over,
  };
}

export function loaded(index: number, fn: string, contextsUsed = 0, contexts = 8): SlotInventory {
  return { index, function: fn, contexts, contextsUsed };
}

export function memory(
  adapterId: string,
  entry: number,
  base: number,
  length: number,
  allocation = 'other',
): ExistingSlice {
  return { adapter: adapterId, entry, kind: 'memory', base, length, allocation };
}

export function compute(
  adapterId: string,
  entry: number,
  base: number,
  length: number,
  allocation = 'other',
): ExistingSlice {
  return { adapter: adapterId, entry, kind: 'compute', base, length, allocation };
}

export function contexts(
  adapterId: string,
  entry: number,
  slot: number,
  base: number,
  length: number,
): ExistingSlice {
  return { adapter: adapterId, entry, kind: 'context', base, length, slot, allocation: 'other' };
}

export function pool(adapters: AdapterInventory[], slices: ExistingSlice[] = []): Inventory {
  return { adapters, slices };
}
