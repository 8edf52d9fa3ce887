// The availability index: what is free on every adapter, derived from an inventory. Placement search
// reads it and reserves from a working copy of it, so resources of one request never share an extent.
import { invalidInventory } from './errors.js';
import { alignExtents, complement, type Extent, findOverlap, withoutRange } from './extents.js';
import {
  type AdapterHealth,
  type AdapterInventory,
  checkInventory,
  type ExistingSlice,
  type Inventory,
} from './inventory.js';
import type { SliceToProgram } from './plan.js';
import { wholeHolderOf } from './whole.js';

export interface SlotAvailability {
  index: number;
  function?: string;
  bitstream?: string;
  /** Contexts of the loaded engine; 0 when the slot is empty. */
  contexts: number;
  /** No engine loaded: a function or bitstream can be loaded without disturbing anyone. */
  empty: boolean;
  /** Loaded but no context held: its engine may be replaced. */
  idle: boolean;
  freeContexts: Extent[];
}

export interface AdapterAvailability {
  id: string;
  server: string;
  health: AdapterHealth;
  memoryBytes: number;
  memoryAlignBytes: number;
  computeUnits: number;
  contextsPerEngine: number;
  functionsSupported: readonly string[];
  /** Sorted, coalesced, aligned to memoryAlignBytes. */
  freeMemory: Extent[];
  /** Free bytes that no aligned slice can use (edges of unaligned gaps). */
  memorySlackBytes: number;
  freeCompute: Extent[];
  slots: SlotAvailability[];
  /** Free slice-table entries, ascending. */
  freeEntries: number[];
  /** Their number, where it is kept without listing them (the live index); else freeEntries.length. */
  readonly freeEntryCount?: number;
  zone?: string;
  model?: string;
  firmware?: string;
  /**
   * Who holds the adapter whole (every byte of memory and every compute unit, whole.ts): no other
   * allocation's slice goes there. '' is the request being planned.
   */
  wholeHolder?: string;
}

export interface Availability {
  /** Sorted by id, so every walk over adapters is deterministic. */
  adapters: AdapterAvailability[];
}

function refuseOverlap(a: AdapterInventory, used: ExistingSlice[], what: string): void {
  const overlap = findOverlap(used);
  if (overlap) {
    const [x, y] = overlap;
    throw invalidInventory(`adapter ${a.id}: ${what} slices #${x.entry} and #${y.entry} overlap`, {
      adapter: a.id,
    });
  }
}

function free(a: AdapterInventory, used: ExistingSlice[], limit: number, what: string): Extent[] {
  refuseOverlap(a, used, what);
  return complement(used, limit);
}

/**
 * Throws INVALID_INVENTORY exactly when buildAvailability would, without building the free lists
 * (the live index builds its own).
 */
export function validateInventory(inventory: Inventory): void {
  const byId = checkInventory(inventory);
  const groups = new Map<string, ExistingSlice[]>();
  for (const s of inventory.slices) {
    const key = `${s.adapter}\u0000${s.kind}\u0000${s.kind === 'context' ? s.slot : ''}`;
    const group = groups.get(key);
    if (group) group.push(s);
    else groups.set(key, [s]);
  }
  for (const group of groups.values()) {
    const s = group[0]!;
    if (group.length > 1)
      refuseOverlap(byId.get(s.adapter)!, group, s.kind === 'context' ? `slot ${s.slot} context` : s.kind);
  }
}

function slotAvailability(a: AdapterInventory, index: number, mine: ExistingSlice[]): SlotAvailability {
  const slot = a.slots.find((s) => s.index === index);
  const inSlot = mine.filter((s) => s.kind === 'context' && s.slot === index);
  const contexts = slot?.contexts ?? 0;
  const empty = !slot || (slot.function === undefined && slot.bitstream === undefined && contexts === 0);
  const result: SlotAvailability = {
    index,
    contexts,
    empty,
    idle: !empty && inSlot.length === 0 && (slot?.contextsUsed ?? 0) === 0,
    freeContexts: free(a, inSlot, contexts, `slot ${index} context`),
  };
  if (slot?.function !== undefined) result.function = slot.function;
  if (slot?.bitstream !== undefined) result.bitstream = slot.bitstream;
  return result;
}

function adapterAvailability(a: AdapterInventory, mine: ExistingSlice[]): AdapterAvailability {
  const memory = alignExtents(
    free(
      a,
      mine.filter((s) => s.kind === 'memory'),
      a.memoryBytes,
      'memory',
    ),
    a.memoryAlignBytes,
  );
  const taken = new Set(mine.map((s) => s.entry));
  const holder = wholeHolderOf(a, mine);
  return {
    ...(a.zone !== undefined ? { zone: a.zone } : {}),
    ...(a.model !== undefined ? { model: a.model } : {}),
    ...(a.firmware !== undefined ? { firmware: a.firmware } : {}),
    ...(holder !== undefined ? { wholeHolder: holder } : {}),
    id: a.id,
    server: a.server,
    health: a.health,
    memoryBytes: a.memoryBytes,
    memoryAlignBytes: a.memoryAlignBytes,
    computeUnits: a.computeUnits,
    contextsPerEngine: a.contextsPerEngine,
    functionsSupported: [...a.functionsSupported],
    freeMemory: memory.extents,
    memorySlackBytes: memory.slack,
    freeCompute: free(
      a,
      mine.filter((s) => s.kind === 'compute'),
      a.computeUnits,
      'compute',
    ),
    slots: Array.from({ length: a.slotCount }, (_, i) => slotAvailability(a, i, mine)),
    freeEntries: Array.from({ length: a.sliceEntries }, (_, i) => i).filter((i) => !taken.has(i)),
  };
}

/** Throws INVALID_INVENTORY when the inventory contradicts itself. */
export function buildAvailability(inventory: Inventory): Availability {
  const byId = checkInventory(inventory);
  const slicesOf = new Map<string, ExistingSlice[]>([...byId.keys()].map((id) => [id, []]));
  for (const s of inventory.slices) slicesOf.get(s.adapter)!.push(s);
  const adapters = [...byId.values()]
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
    .map((a) => adapterAvailability(a, slicesOf.get(a.id)!));
  return { adapters };
}

export function cloneAvailability(av: Availability): Availability {
  return {
    adapters: av.adapters.map((a) => ({
      ...a,
      // The live index's adapters compute this one (a getter, which a spread does not copy).
      ...(a.wholeHolder !== undefined ? { wholeHolder: a.wholeHolder } : {}),
      freeMemory: a.freeMemory.map((e) => ({ ...e })),
      freeCompute: a.freeCompute.map((e) => ({ ...e })),
      slots: a.slots.map((s) => ({ ...s, freeContexts: s.freeContexts.map((e) => ({ ...e })) })),
      freeEntries: [...a.freeEntries],
    })),
  };
}

/** Free slice-table entries of `a`, counted without listing them where the adapter keeps a count. */
export function freeEntryCount(a: AdapterAvailability): number {
  return a.freeEntryCount ?? a.freeEntries.length;
}

export function findAdapter(av: Availability, id: string): AdapterAvailability | undefined {
  return av.adapters.find((a) => a.id === id);
}

/** Loads the placement's bitstream (if any) into its slot of the working copy. */
function loadSlot(a: AdapterAvailability, p: SliceToProgram): void {
  const slot = a.slots[p.slot!]!;
  const load = p.loadBitstream!;
  delete slot.function;
  delete slot.bitstream;
  if ('function' in load) slot.function = load.function;
  else slot.bitstream = load.bitstream;
  slot.contexts = a.contextsPerEngine;
  slot.empty = false;
  slot.freeContexts = [{ base: 0, length: a.contextsPerEngine }];
}

/** Marks a planned placement as taken in the working copy (its entry and its extent). */
export function reserve(av: Availability, p: SliceToProgram): void {
  const a = findAdapter(av, p.adapter);
  if (!a?.freeEntries.includes(p.entry))
    throw new Error(`internal: entry ${p.adapter}#${p.entry} is not free`);
  a.freeEntries = a.freeEntries.filter((e) => e !== p.entry);
  if (p.kind === 'memory') a.freeMemory = withoutRange(a.freeMemory, p.base, p.length);
  else if (p.kind === 'compute') a.freeCompute = withoutRange(a.freeCompute, p.base, p.length);
  else {
    if (p.loadBitstream) loadSlot(a, p);
    const slot = a.slots[p.slot!]!;
    slot.freeContexts = withoutRange(slot.freeContexts, p.base, p.length);
    slot.idle = false;
  }
}
