// One adapter as the live index holds it: the same fields as a from-scratch AdapterAvailability (so
// every strategy helper reads it unchanged), plus its slices by entry, its raw (unaligned) free memory
// and its slot inventory, kept current by small in-place edits instead of being rebuilt. Each edit
// reports which aligned free extents left and joined, so the index can update its ordered lists.
import type { AdapterAvailability, SlotAvailability } from './availability.js';
import { alignedPart, complement, type Extent, type ExtentChange, giveRange, takeRange } from './extents.js';
import type { AdapterHealth, AdapterInventory, ExistingSlice, SlotInventory } from './inventory.js';

/** A slice the index knows: committed (or found by an agent), or held by a reservation. */
export interface LiveSlice extends ExistingSlice {
  /** Set while a reservation holds the slice (planned, not yet committed). */
  heldBy?: object;
  /** The engine a held context slice planned to load into its slot. */
  loads?: Load;
}

export type Load = { function: string } | { bitstream: string };

/** What one edit changed: aligned free extents per quantity kind, and whether the slots did. */
export interface StateChange {
  memory?: ExtentChange;
  compute?: ExtentChange;
  slots: boolean;
}

/**
 * Slices by slice-table entry: a plain array indexed by entry (a Map costs several times more per
 * slice, and a pool of 10,000 adapters x 256 entries holds millions). Iterates in entry order.
 */
export class EntryTable {
  private readonly byEntry: (LiveSlice | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(entry: number): LiveSlice | undefined {
    return this.byEntry[entry];
  }

  has(entry: number): boolean {
    return this.byEntry[entry] !== undefined;
  }

  set(entry: number, s: LiveSlice): void {
    while (this.byEntry.length < entry) this.byEntry.push(undefined);
    if (this.byEntry[entry] === undefined) this.count++;
    this.byEntry[entry] = s;
  }

  delete(entry: number): void {
    if (this.byEntry[entry] === undefined) return;
    this.byEntry[entry] = undefined;
    this.count--;
  }

  *values(): IterableIterator<LiveSlice> {
    for (const s of this.byEntry) if (s !== undefined) yield s;
  }
}

function insertByBase(extents: Extent[], e: Extent): void {
  let lo = 0;
  let hi = extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (extents[mid]!.base < e.base) lo = mid + 1;
    else hi = mid;
  }
  extents.splice(lo, 0, e);
}

function removeByBase(extents: Extent[], base: number): void {
  let lo = 0;
  let hi = extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (extents[mid]!.base < base) lo = mid + 1;
    else hi = mid;
  }
  if (extents[lo]?.base !== base) throw new Error(`internal: no free extent at ${base}`);
  extents.splice(lo, 1);
}

function insertSorted(values: number[], v: number): void {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  values.splice(lo, 0, v);
}

export class AdapterState implements AdapterAvailability {
  readonly id: string;
  readonly server: string;
  health: AdapterHealth;
  readonly memoryBytes: number;
  readonly memoryAlignBytes: number;
  readonly computeUnits: number;
  readonly contextsPerEngine: number;
  readonly functionsSupported: readonly string[];
  readonly sliceEntries: number;
  readonly slotCount: number;
  /** Position in id order: the tie-break of every ordered list (lower id first, as the seed walks). */
  rank = 0;
  freeMemory: Extent[];
  memorySlackBytes: number;
  freeCompute: Extent[];
  slots: SlotAvailability[];
  freeEntries: number[];
  /** Free memory before alignment: coalescing on release needs the unaligned edges. */
  private readonly rawMemory: Extent[];
  /** The slot table as an inventory lists it (SLOT_CONTEXTS_USED included), by slot index. */
  private readonly slotInventory: (SlotInventory | undefined)[];
  /** Context slices per slot: a slot is idle only when it has none. */
  private readonly contextSlices: number[];
  readonly slices = new EntryTable();

  /** `slices` are kept as given (the index's own objects); they must fit (buildAvailability checked). */
  constructor(a: AdapterInventory, slices: readonly LiveSlice[]) {
    this.id = a.id;
    this.server = a.server;
    this.health = a.health;
    this.memoryBytes = a.memoryBytes;
    this.memoryAlignBytes = a.memoryAlignBytes;
    this.computeUnits = a.computeUnits;
    this.contextsPerEngine = a.contextsPerEngine;
    this.functionsSupported = [...a.functionsSupported];
    this.sliceEntries = a.sliceEntries;
    this.slotCount = a.slotCount;
    const of = (kind: string) => slices.filter((s) => s.kind === kind);
    this.rawMemory = complement(of('memory'), a.memoryBytes);
    this.freeMemory = [];
    this.memorySlackBytes = 0;
    for (const e of this.rawMemory) this.memoryJoined(e);
    this.freeCompute = complement(of('compute'), a.computeUnits);
    this.slotInventory = Array.from({ length: a.slotCount }, (_, i) => {
      const s = a.slots.find((x) => x.index === i);
      return s && { ...s };
    });
    this.contextSlices = Array.from({ length: a.slotCount }, () => 0);
    this.slots = Array.from({ length: a.slotCount }, (_, i) => this.emptiedSlot(i));
    const contexts = of('context');
    for (const s of contexts) {
      this.contextSlices[s.slot!]!++;
      takeRange(this.slots[s.slot!]!.freeContexts, s.base, s.length);
    }
    for (const slot of this.slots) this.refreshIdle(slot.index);
    for (const s of slices) this.slices.set(s.entry, s);
    this.freeEntries = [];
    for (let i = 0; i < a.sliceEntries; i++) if (!this.slices.has(i)) this.freeEntries.push(i);
  }

  /** May receive a new slice from some request (degraded ones only when the policy allows). */
  get eligible(): boolean {
    return this.health !== 'unhealthy' && this.freeEntries.length > 0;
  }

  /** The slot as availability shows it when it holds no context slice. */
  private emptiedSlot(index: number): SlotAvailability {
    const inv = this.slotInventory[index];
    const contexts = inv?.contexts ?? 0;
    const empty = !inv || (inv.function === undefined && inv.bitstream === undefined && contexts === 0);
    const slot: SlotAvailability = {
      index,
      contexts,
      empty,
      idle: false,
      freeContexts: contexts > 0 ? [{ base: 0, length: contexts }] : [],
    };
    if (inv?.function !== undefined) slot.function = inv.function;
    if (inv?.bitstream !== undefined) slot.bitstream = inv.bitstream;
    return slot;
  }

  private refreshIdle(index: number): void {
    const slot = this.slots[index]!;
    slot.idle =
      !slot.empty && this.contextSlices[index] === 0 && (this.slotInventory[index]?.contextsUsed ?? 0) === 0;
  }

  private memoryJoined(e: Extent): Extent | undefined {
    const aligned = alignedPart(e, this.memoryAlignBytes);
    this.memorySlackBytes += e.length - (aligned?.length ?? 0);
    if (aligned) insertByBase(this.freeMemory, aligned);
    return aligned;
  }

  private memoryLeft(e: Extent): Extent | undefined {
    const aligned = alignedPart(e, this.memoryAlignBytes);
    this.memorySlackBytes -= e.length - (aligned?.length ?? 0);
    if (aligned) removeByBase(this.freeMemory, aligned.base);
    return aligned;
  }

  /** Applies an edit of the raw free memory and mirrors it on the aligned list. */
  private editMemory(raw: ExtentChange): ExtentChange {
    const removed: Extent[] = [];
    const added: Extent[] = [];
    for (const e of raw.removed) {
      const aligned = this.memoryLeft(e);
      if (aligned) removed.push(aligned);
    }
    for (const e of raw.added) {
      const aligned = this.memoryJoined(e);
      if (aligned) added.push(aligned);
    }
    return { removed, added };
  }

  private takeQuantity(kind: 'memory' | 'compute', base: number, length: number): StateChange {
    if (kind === 'memory')
      return { memory: this.editMemory(takeRange(this.rawMemory, base, length)), slots: false };
    return { compute: takeRange(this.freeCompute, base, length), slots: false };
  }

  private giveQuantity(kind: 'memory' | 'compute', base: number, length: number): StateChange {
    if (kind === 'memory')
      return { memory: this.editMemory(giveRange(this.rawMemory, base, length)), slots: false };
    return { compute: giveRange(this.freeCompute, base, length), slots: false };
  }

  /** Whether [base, base+length) of this kind (and slot) is free now. */
  isFree(kind: ExistingSlice['kind'], base: number, length: number, slot?: number): boolean {
    const list =
      kind === 'memory'
        ? this.rawMemory
        : kind === 'compute'
          ? this.freeCompute
          : this.slots[slot!]?.freeContexts;
    return !!list?.some((e) => e.base <= base && base + length <= e.base + e.length);
  }

  /** The slot inventory entry (a copy), to restore it when a load is undone. */
  slotInventoryOf(index: number): SlotInventory | undefined {
    const s = this.slotInventory[index];
    return s && { ...s };
  }

  /** Replaces the engine of an empty or idle slot (ra-spec §5.4: a load replaces it whole). */
  load(index: number, load: Load): void {
    this.slotInventory[index] = { index, ...load, contexts: this.contextsPerEngine, contextsUsed: 0 };
    this.slots[index] = this.emptiedSlot(index);
    this.refreshIdle(index);
  }

  /** Puts back the slot entry a load replaced; only while no context slice uses the slot. */
  restoreSlot(index: number, previous: SlotInventory | undefined): void {
    if (this.contextSlices[index] !== 0) return;
    this.slotInventory[index] = previous && { ...previous };
    this.slots[index] = this.emptiedSlot(index);
    this.refreshIdle(index);
  }

  /** Marks `s` taken: its entry and its extent (contexts of its slot). The caller checked it is free. */
  addSlice(s: LiveSlice): StateChange {
    const at = this.freeEntries.indexOf(s.entry);
    if (at < 0) throw new Error(`internal: entry ${this.id}#${s.entry} is not free`);
    this.freeEntries.splice(at, 1);
    this.slices.set(s.entry, s);
    if (s.kind !== 'context') return this.takeQuantity(s.kind, s.base, s.length);
    const i = s.slot!;
    takeRange(this.slots[i]!.freeContexts, s.base, s.length);
    this.contextSlices[i]!++;
    const inv = this.slotInventory[i] ?? { index: i, contexts: 0, contextsUsed: 0 };
    this.slotInventory[i] = { ...inv, contextsUsed: inv.contextsUsed + s.length };
    this.refreshIdle(i);
    return { slots: true };
  }

  /** Frees `s`: its entry and extent. A released engine stays loaded (idle) for the next request. */
  removeSlice(s: LiveSlice): StateChange {
    if (this.slices.get(s.entry) !== s) throw new Error(`internal: ${this.id}#${s.entry} is not this slice`);
    this.slices.delete(s.entry);
    insertSorted(this.freeEntries, s.entry);
    if (s.kind !== 'context') return this.giveQuantity(s.kind, s.base, s.length);
    const i = s.slot!;
    giveRange(this.slots[i]!.freeContexts, s.base, s.length);
    this.contextSlices[i]!--;
    const inv = this.slotInventory[i]!;
    this.slotInventory[i] = { ...inv, contextsUsed: inv.contextsUsed - s.length };
    this.refreshIdle(i);
    return { slots: true };
  }

  /** Grows a memory or compute slice in place over the free extent right after it. */
  grow(s: LiveSlice, toLength: number): StateChange {
    const change = this.takeQuantity(s.kind as 'memory' | 'compute', s.base + s.length, toLength - s.length);
    s.length = toLength;
    return change;
  }

  /** Cuts a memory or compute slice to `toLength`; the tail becomes free. */
  shrink(s: LiveSlice, toLength: number): StateChange {
    const change = this.giveQuantity(s.kind as 'memory' | 'compute', s.base + toLength, s.length - toLength);
    s.length = toLength;
    return change;
  }

  /** The adapter as an inventory lists it. */
  toInventory(): AdapterInventory {
    return {
      id: this.id,
      server: this.server,
      health: this.health,
      memoryBytes: this.memoryBytes,
      memoryAlignBytes: this.memoryAlignBytes,
      computeUnits: this.computeUnits,
      slots: this.slotInventory.filter((s): s is SlotInventory => s !== undefined).map((s) => ({ ...s })),
      slotCount: this.slotCount,
      contextsPerEngine: this.contextsPerEngine,
      sliceEntries: this.sliceEntries,
      functionsSupported: [...this.functionsSupported],
    };
  }
}
