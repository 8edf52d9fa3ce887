// One adapter as the live index holds it: the same fields as a from-scratch AdapterAvailability (so
// every strategy helper reads it unchanged), plus its slices by entry, its raw (unaligned) free memory
// and its slot inventory, kept current by small in-place edits instead of being rebuilt. Each edit
// reports which aligned free extents left and joined, so the index can update its ordered lists.
// Compact (issue 11: 10,000 adapters of 256 entries): slices are columns of typed arrays, free memory
// is one Float64Array of raw (unaligned) extents; `freeMemory` and `freeEntries` are computed from them
// when read (the planner's hot path reads neither: it asks the catalog and `lowestFreeEntry`).

import type { AdapterAvailability, SlotAvailability } from './availability.js';
import { ExtentColumn } from './extent-column.js';
import { alignedPart, complement, type Extent, type ExtentChange, giveRange, takeRange } from './extents.js';
import type { AdapterHealth, AdapterInventory, ExistingSlice, SlotInventory } from './inventory.js';
import type { Owners } from './owners.js';
import { heldByAnother, wholeHolderOf } from './whole.js';

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

const KIND_CODE = { memory: 1, compute: 2, context: 3 } as const;
const KIND_OF = [undefined, 'memory', 'compute', 'context'] as const;
const NO_NUMBERS = new Float64Array(0);
const NO_INTS = new Int32Array(0);
const NO_KINDS = new Uint8Array(0);
const NO_SLOTS = new Uint16Array(0);
/** Column types by level: the numbers (base, length) and the slot. */
const LEVELS = [
  { numbers: Uint16Array, slots: Uint16Array, limit: 2 ** 16 },
  { numbers: Uint32Array, slots: Uint16Array, limit: 2 ** 32 },
  { numbers: Float64Array, slots: Uint32Array, limit: Number.POSITIVE_INFINITY },
] as const;
const WIDE = 2;

/** The largest power of two that divides `align`: memory bases and lengths are stored in these units. */
function unitOf(align: number): number {
  let unit = 1;
  while (unit < 2 ** 30 && align % (unit * 2) === 0) unit *= 2;
  return unit;
}

type Numbers = Uint16Array | Uint32Array | Float64Array;

/**
 * Slices by slice-table entry, as columns (issue 11: 10,000 adapters x 256 entries would otherwise be
 * millions of slice objects): kind, slot, base, length and owner (an allocation number, owners.ts) per
 * entry in one ArrayBuffer that grows to the highest entry used. Base and length take 16 bits while
 * they fit (11 bytes an entry), then 32 (15 bytes) — memory counted in units of the alignment's power
 * of two (ra-spec §5.4 CAP_MEM_ALIGN), so an 8 GiB adapter aligned to 2 MiB counts 4,096 units — and
 * doubles (25 bytes, bytes as they are) once a value does not fit (an unaligned foreign slice, a huge
 * adapter); a table only widens. Slices held by a reservation also keep their object (it carries the
 * reservation and the engine it loads): few, and only until commit or rollback. `get` builds a new
 * object for a committed slice.
 */
export class EntryTable {
  private capacity = 0;
  /** Index in LEVELS. */
  private level = 0;
  private readonly unit: number;
  private bases: Numbers = NO_NUMBERS;
  private lengths: Numbers = NO_NUMBERS;
  private ownerOf: Int32Array = NO_INTS;
  private slotOf: Uint16Array | Uint32Array = NO_SLOTS;
  /** 0: free; else KIND_CODE. */
  private kinds: Uint8Array = NO_KINDS;
  private held: Map<number, LiveSlice> | undefined;
  private count = 0;
  /** The lowest entry whose kind is 0 (capacity when every stored entry is taken). */
  private lowest = 0;

  constructor(
    private readonly adapter: string,
    private readonly limit: number,
    private readonly owners: Owners,
    memoryAlignBytes: number,
  ) {
    this.unit = unitOf(memoryAlignBytes);
  }

  get size(): number {
    return this.count;
  }

  /** New columns of `capacity` entries at `level`, holding the present ones. */
  private rebuild(capacity: number, level: number): void {
    const old = { ...this };
    const { numbers: N, slots: S } = LEVELS[level]!;
    const n = N.BYTES_PER_ELEMENT;
    const s = S.BYTES_PER_ELEMENT;
    // Widest first, so every view starts on a multiple of its element size.
    const buffer = new ArrayBuffer(capacity * (2 * n + 4 + s + 1));
    this.bases = new N(buffer, 0, capacity);
    this.lengths = new N(buffer, capacity * n, capacity);
    this.ownerOf = new Int32Array(buffer, capacity * 2 * n, capacity);
    this.slotOf = new S(buffer, capacity * (2 * n + 4), capacity);
    this.kinds = new Uint8Array(buffer, capacity * (2 * n + 4 + s), capacity);
    this.ownerOf.set(old.ownerOf);
    this.slotOf.set(old.slotOf);
    this.kinds.set(old.kinds);
    const scale = (old.level === WIDE) === (level === WIDE) ? 1 : this.unit;
    for (let e = 0; e < old.capacity; e++) {
      const memory = old.kinds[e] === KIND_CODE.memory;
      this.bases[e] = memory ? old.bases[e]! * scale : old.bases[e]!;
      this.lengths[e] = memory ? old.lengths[e]! * scale : old.lengths[e]!;
    }
    this.capacity = capacity;
    this.level = level;
  }

  private grow(entry: number): void {
    this.rebuild(Math.min(this.limit, Math.max(8, 2 ** Math.ceil(Math.log2(entry + 1)))), this.level);
  }

  /** A number of this kind as stored (memory in units below WIDE). */
  private stored(kind: LiveSlice['kind'], value: number): number {
    return kind === 'memory' && this.level !== WIDE ? value / this.unit : value;
  }

  /** Whether the columns at `level` can store these numbers. */
  private fits(
    s: { kind: LiveSlice['kind']; base: number; length: number; slot?: number | undefined },
    level: number,
  ): boolean {
    if (level === WIDE) return true;
    const u = s.kind === 'memory' ? this.unit : 1;
    const { limit } = LEVELS[level]!;
    return (
      s.base % u === 0 &&
      s.length % u === 0 &&
      s.base / u < limit &&
      s.length / u < limit &&
      (s.slot ?? 0) < 2 ** 16
    );
  }

  /** Widens the columns until they can store `s`. */
  private widenFor(s: { kind: LiveSlice['kind']; base: number; length: number; slot?: number | undefined }) {
    let level = this.level;
    while (!this.fits(s, level)) level++;
    if (level !== this.level) this.rebuild(this.capacity, level);
  }

  private baseOf(e: number): number {
    return this.kinds[e] === KIND_CODE.memory && this.level !== WIDE
      ? this.bases[e]! * this.unit
      : this.bases[e]!;
  }

  private lengthOf(e: number): number {
    return this.kinds[e] === KIND_CODE.memory && this.level !== WIDE
      ? this.lengths[e]! * this.unit
      : this.lengths[e]!;
  }

  has(entry: number): boolean {
    return entry < this.capacity && this.kinds[entry] !== 0;
  }

  /** The slice at `entry`: the held object, or a new object for a committed slice. */
  get(entry: number): LiveSlice | undefined {
    if (!this.has(entry)) return undefined;
    const held = this.held?.get(entry);
    if (held) return held;
    const kind = KIND_OF[this.kinds[entry]!]!;
    const s: LiveSlice = {
      adapter: this.adapter,
      entry,
      kind,
      base: this.baseOf(entry),
      length: this.lengthOf(entry),
      allocation: this.owners.name(this.ownerOf[entry]!),
    };
    if (kind === 'context') s.slot = this.slotOf[entry]!;
    return s;
  }

  /** Whether `s` is the held object at its entry. */
  holds(s: LiveSlice): boolean {
    return this.held?.get(s.entry) === s;
  }

  /**
   * Whether the committed slice at `s.entry` is `s`: same kind, base, slot and allocation (the length
   * may differ while a resize is under way).
   */
  isCommitted(s: ExistingSlice): boolean {
    const e = s.entry;
    return (
      this.has(e) &&
      !this.held?.has(e) &&
      KIND_OF[this.kinds[e]!] === s.kind &&
      this.baseOf(e) === s.base &&
      (s.kind !== 'context' || this.slotOf[e] === s.slot) &&
      this.owners.name(this.ownerOf[e]!) === s.allocation
    );
  }

  /** Whether the slice at `entry` carries owner number `owner` and is committed (not held). */
  committedOf(entry: number, owner: number): boolean {
    return this.has(entry) && this.ownerOf[entry] === owner && !this.held?.has(entry);
  }

  /** Stores `s` at its entry, which must be free; a slice with `heldBy` keeps its object. */
  set(s: LiveSlice): void {
    const e = s.entry;
    if (e >= this.capacity) this.grow(e);
    this.widenFor(s);
    if (this.kinds[e] !== 0) throw new Error(`internal: entry ${this.adapter}#${e} is taken`);
    this.kinds[e] = KIND_CODE[s.kind];
    this.bases[e] = this.stored(s.kind, s.base);
    this.lengths[e] = this.stored(s.kind, s.length);
    this.slotOf[e] = s.kind === 'context' ? s.slot! : 0;
    this.ownerOf[e] = this.owners.acquire(s.allocation, this.adapter);
    if (s.heldBy) {
      this.held ??= new Map();
      this.held.set(e, s);
    }
    this.count++;
    if (e === this.lowest) {
      let next = e + 1;
      while (next < this.capacity && this.kinds[next] !== 0) next++;
      this.lowest = next;
    }
  }

  setLength(entry: number, length: number): void {
    const kind = KIND_OF[this.kinds[entry]!]!;
    this.widenFor({ kind, base: 0, length });
    this.lengths[entry] = this.stored(kind, length);
  }

  /** A held slice is committed: only its columns remain. */
  settle(entry: number): void {
    this.held?.delete(entry);
    if (this.held?.size === 0) this.held = undefined;
  }

  delete(entry: number): void {
    if (!this.has(entry)) return;
    this.owners.release(this.ownerOf[entry]!);
    this.kinds[entry] = 0;
    this.settle(entry);
    this.count--;
    if (entry < this.lowest) this.lowest = entry;
  }

  /** Gives back every owner number (the adapter's state is replaced by a new one). */
  dispose(): void {
    for (const e of this.entries()) this.owners.release(this.ownerOf[e]!);
    this.kinds.fill(0);
    this.count = 0;
    this.lowest = 0;
    this.held = undefined;
  }

  /** The lowest free entry below the table's size, or -1 when it is full. */
  lowestFree(): number {
    return this.lowest < this.limit ? this.lowest : -1;
  }

  /** Free entries, ascending. */
  freeEntries(): number[] {
    const out: number[] = [];
    for (let e = this.lowest; e < this.limit; e++) if (e >= this.capacity || this.kinds[e] === 0) out.push(e);
    return out;
  }

  /** Entries in use, ascending. */
  *entries(): IterableIterator<number> {
    for (let e = 0; e < this.capacity; e++) if (this.kinds[e] !== 0) yield e;
  }

  *values(): IterableIterator<LiveSlice> {
    for (const e of this.entries()) yield this.get(e)!;
  }
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
  readonly zone?: string;
  readonly model?: string;
  readonly firmware?: string;
  /** Position in id order: the tie-break of every ordered list (lower id first, as the seed walks). */
  rank = 0;
  memorySlackBytes = 0;
  freeCompute: Extent[];
  slots: SlotAvailability[];
  /** Free memory before alignment: coalescing on release needs the unaligned edges. */
  private readonly rawMemory: ExtentColumn;
  /** The slot table as an inventory lists it (SLOT_CONTEXTS_USED included), by slot index. */
  private readonly slotInventory: (SlotInventory | undefined)[];
  /** Context slices per slot: a slot is idle only when it has none. */
  private readonly contextSlices: number[];
  readonly slices: EntryTable;

  /**
   * `slices` must fit (validateInventory checked); their data is copied into columns, and held ones
   * (with `heldBy`) are kept as the index's own objects.
   */
  constructor(a: AdapterInventory, slices: readonly LiveSlice[], owners: Owners) {
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
    if (a.zone !== undefined) this.zone = a.zone;
    if (a.model !== undefined) this.model = a.model;
    if (a.firmware !== undefined) this.firmware = a.firmware;
    this.slices = new EntryTable(a.id, a.sliceEntries, owners, a.memoryAlignBytes);
    const of = (kind: string) => slices.filter((s) => s.kind === kind);
    this.rawMemory = new ExtentColumn(complement(of('memory'), a.memoryBytes));
    for (let i = 0; i < this.rawMemory.size; i++)
      this.memorySlackBytes += this.slackOf(this.rawMemory.baseAt(i), this.rawMemory.lengthAt(i));
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
    // Highest entry first: the columns grow once.
    for (const s of [...slices].sort((x, y) => y.entry - x.entry)) this.slices.set(s);
  }

  /** Free memory aligned to memoryAlignBytes (ra-spec §5.4), computed from the raw free extents. */
  get freeMemory(): Extent[] {
    const out: Extent[] = [];
    for (let i = 0; i < this.rawMemory.size; i++) {
      const aligned = alignedPart(
        { base: this.rawMemory.baseAt(i), length: this.rawMemory.lengthAt(i) },
        this.memoryAlignBytes,
      );
      if (aligned) out.push(aligned);
    }
    return out;
  }

  /** Free slice-table entries, ascending (computed; the planner reads `lowestFreeEntry`). */
  get freeEntries(): number[] {
    return this.slices.freeEntries();
  }

  /** Free slice-table entries, counted (the walks over every adapter read this, not the list). */
  get freeEntryCount(): number {
    return this.sliceEntries - this.slices.size;
  }

  /** The entry a new slice takes (the from-scratch planner's `freeEntries[0]`), or -1 when full. */
  get lowestFreeEntry(): number {
    return this.slices.lowestFree();
  }

  /** May receive a new slice from some request (degraded ones only when the policy allows). */
  get eligible(): boolean {
    return this.health !== 'unhealthy' && this.slices.size < this.sliceEntries && !heldByAnother(this);
  }

  /** The allocation holding this adapter whole (whole.ts); only a full adapter can be held so. */
  get wholeHolder(): string | undefined {
    if (this.memoryBytes > 0 && this.rawMemory.size !== 0) return undefined;
    if (this.computeUnits > 0 && this.freeCompute.length !== 0) return undefined;
    return wholeHolderOf(this, [...this.slices.values()]);
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

  /** Free bytes of a raw extent that no aligned slice can use. */
  private slackOf(base: number, length: number): number {
    return length - (alignedPart({ base, length }, this.memoryAlignBytes)?.length ?? 0);
  }

  /** Mirrors an edit of the raw free memory on the aligned extents (and the slack). */
  private editMemory(raw: ExtentChange): ExtentChange {
    const removed: Extent[] = [];
    const added: Extent[] = [];
    for (const e of raw.removed) {
      const aligned = alignedPart(e, this.memoryAlignBytes);
      this.memorySlackBytes -= e.length - (aligned?.length ?? 0);
      if (aligned) removed.push(aligned);
    }
    for (const e of raw.added) {
      const aligned = alignedPart(e, this.memoryAlignBytes);
      this.memorySlackBytes += e.length - (aligned?.length ?? 0);
      if (aligned) added.push(aligned);
    }
    return { removed, added };
  }

  private takeQuantity(kind: 'memory' | 'compute', base: number, length: number): StateChange {
    if (kind === 'memory')
      return { memory: this.editMemory(this.rawMemory.take(base, length)), slots: false };
    return { compute: takeRange(this.freeCompute, base, length), slots: false };
  }

  private giveQuantity(kind: 'memory' | 'compute', base: number, length: number): StateChange {
    if (kind === 'memory')
      return { memory: this.editMemory(this.rawMemory.give(base, length)), slots: false };
    return { compute: giveRange(this.freeCompute, base, length), slots: false };
  }

  /** Whether [base, base+length) of this kind (and slot) is free now. */
  isFree(kind: ExistingSlice['kind'], base: number, length: number, slot?: number): boolean {
    if (kind === 'memory') return this.rawMemory.contains(base, length);
    const list = kind === 'compute' ? this.freeCompute : this.slots[slot!]?.freeContexts;
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
    if (s.entry >= this.sliceEntries || this.slices.has(s.entry))
      throw new Error(`internal: entry ${this.id}#${s.entry} is not free`);
    this.slices.set(s);
    if (s.kind !== 'context') return this.takeQuantity(s.kind, s.base, s.length);
    const i = s.slot!;
    takeRange(this.slots[i]!.freeContexts, s.base, s.length);
    this.contextSlices[i]!++;
    const inv = this.slotInventory[i] ?? { index: i, contexts: 0, contextsUsed: 0 };
    this.slotInventory[i] = { ...inv, contextsUsed: inv.contextsUsed + s.length };
    this.refreshIdle(i);
    return { slots: true };
  }

  /**
   * Frees the slice at `s.entry` (the caller checked it is `s`): its entry and extent. A released engine
   * stays loaded (idle) for the next request.
   */
  removeSlice(s: LiveSlice): StateChange {
    if (!this.slices.has(s.entry)) throw new Error(`internal: ${this.id}#${s.entry} is not in use`);
    this.slices.delete(s.entry);
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
    this.slices.setLength(s.entry, toLength);
    return change;
  }

  /** Cuts a memory or compute slice to `toLength`; the tail becomes free. */
  shrink(s: LiveSlice, toLength: number): StateChange {
    const change = this.giveQuantity(s.kind as 'memory' | 'compute', s.base + toLength, s.length - toLength);
    s.length = toLength;
    this.slices.setLength(s.entry, toLength);
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
      ...(this.zone !== undefined ? { zone: this.zone } : {}),
      ...(this.model !== undefined ? { model: this.model } : {}),
      ...(this.firmware !== undefined ? { firmware: this.firmware } : {}),
    };
  }
}
