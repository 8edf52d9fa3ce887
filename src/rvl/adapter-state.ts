// One adapter as the live index holds it: the same fields as a from-scratch AdapterAvailability (so
// every strategy helper reads it unchanged), plus its slices by entry, its raw (unaligned) free memory
// and its slot inventory, kept current by small in-place edits instead of being rebuilt. Each edit
// reports which aligned free extents left and joined, so the index can update its ordered lists.
// Compact (issue 11: 10,000 adapters of 256 entries): slices are columns of typed arrays, free memory
// is one Float64Array of raw (unaligned) extents; `freeMemory` and `freeEntries` are computed from them
// when read (the planner's hot path reads neither: it asks the catalog and `lowestFreeEntry`).

import type { AdapterAvailability, SlotAvailability } from './availability.js';
import { ExtentColumn, unitOf } from './extent-column.js';
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
/**
 * Low bits of an entry's first number: its kind (0: free); the slot is stored above them. In a 16-bit
 * row (level 0) the kind takes 2 bits, the slot 6 and the owner number's high 8 bits the rest.
 */
const KIND_BITS = 4;
const KIND_BITS_16 = 2;
const SLOT_BITS_16 = 6;
/** Where level 0 keeps the owner's high byte in the first number. */
const OWNER_HIGH_16 = 2 ** (KIND_BITS_16 + SLOT_BITS_16);
/**
 * Row layouts by level: the array type, numbers per entry, and the limits of base and length (in
 * units for memory), slot and owner number. Level 0 keeps the owner's low 16 bits in its own number
 * and the high 8 beside the kind and slot: 8 bytes an entry (issue 11: memory, 10,000 adapters x 256).
 */
const LEVELS = [
  { Row: Uint16Array, stride: 4, limit: 2 ** 16, slots: 2 ** SLOT_BITS_16, owners: 2 ** 24 },
  { Row: Uint32Array, stride: 4, limit: 2 ** 32, slots: 2 ** (32 - KIND_BITS), owners: 2 ** 32 },
  {
    Row: Float64Array,
    stride: 4,
    limit: Number.POSITIVE_INFINITY,
    slots: 2 ** (52 - KIND_BITS),
    owners: Number.POSITIVE_INFINITY,
  },
] as const;
const WIDE = 2;
const NO_ROWS = new Uint16Array(0);

type Rows = Uint16Array | Uint32Array | Float64Array;

/**
 * Slices by slice-table entry, in one typed array of rows (issue 11: 10,000 adapters x 256 entries
 * would otherwise be millions of slice objects, and five columns per adapter cost five typed-array
 * objects): per entry its kind and slot, base, length and owner (an allocation number, owners.ts).
 * Base and length take 16 bits while they fit (8 bytes an entry: kind, a slot below 64 and the
 * owner's high 8 bits share one number, its low 16 bits another), then 32 (16 bytes; also for a slot
 * past 63 or an owner number past 2^24) — memory counted in units of the alignment's power of two
 * (ra-spec §5.4 CAP_MEM_ALIGN), so an 8 GiB adapter aligned to 2 MiB counts 4,096 units — and
 * doubles (32 bytes, bytes as they are) once a value does not fit (an unaligned foreign slice, a huge
 * adapter, a slot past 2^28); a table only widens. The rows grow to the highest entry used. Slices held by a reservation also keep their
 * object (it carries the reservation and the engine it loads): few, and only until commit or
 * rollback. `get` builds a new object for a committed slice.
 */
export class EntryTable {
  private capacity = 0;
  /** Index in LEVELS. */
  private level = 0;
  private stride: number = LEVELS[0].stride;
  private readonly unit: number;
  private rows: Rows = NO_ROWS;
  private held: Map<number, LiveSlice> | undefined;
  private count = 0;
  /** The lowest free entry (capacity when every stored entry is taken). */
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

  private kindAt(e: number): number {
    return this.rows[e * this.stride]! % (this.level === 0 ? 1 << KIND_BITS_16 : 1 << KIND_BITS);
  }

  private slotAt(e: number): number {
    const first = this.rows[e * this.stride]!;
    if (this.level === 0) return Math.floor(first / (1 << KIND_BITS_16)) % (1 << SLOT_BITS_16);
    return Math.floor(first / (1 << KIND_BITS));
  }

  private ownerAt(e: number): number {
    const at = e * this.stride;
    if (this.level !== 0) return this.rows[at + 3]!;
    return this.rows[at + 3]! + Math.floor(this.rows[at]! / OWNER_HIGH_16) * 2 ** 16;
  }

  /** A number of this kind as stored (memory in units below WIDE). */
  private stored(kind: number, value: number): number {
    return kind === KIND_CODE.memory && this.level !== WIDE ? value / this.unit : value;
  }

  /** A stored number as bytes or units of its kind. */
  private loaded(kind: number, value: number): number {
    return kind === KIND_CODE.memory && this.level !== WIDE ? value * this.unit : value;
  }

  /** Writes one row (the table holds its numbers: widenFor ran). */
  private write(e: number, kind: number, slot: number, base: number, length: number, owner: number): void {
    const at = e * this.stride;
    this.rows[at + 1] = this.stored(kind, base);
    this.rows[at + 2] = this.stored(kind, length);
    if (kind === 0) this.rows[at] = 0;
    else if (this.level === 0) {
      const high = Math.floor(owner / 2 ** 16);
      this.rows[at] = kind + slot * (1 << KIND_BITS_16) + high * OWNER_HIGH_16;
      this.rows[at + 3] = owner - high * 2 ** 16;
    } else {
      this.rows[at] = kind + slot * (1 << KIND_BITS);
      this.rows[at + 3] = owner;
    }
  }

  /** New rows of `capacity` entries at `level`, holding the present ones. */
  private rebuild(capacity: number, level: number): void {
    const old: { kind: number; slot: number; base: number; length: number; owner: number }[] = [];
    for (let e = 0; e < this.capacity; e++) {
      const kind = this.kindAt(e);
      old.push({
        kind,
        slot: kind === 0 ? 0 : this.slotAt(e),
        base: kind === 0 ? 0 : this.baseOf(e),
        length: kind === 0 ? 0 : this.lengthOf(e),
        owner: kind === 0 ? 0 : this.ownerAt(e),
      });
    }
    const { Row, stride } = LEVELS[level]!;
    this.rows = new Row(capacity * stride);
    this.stride = stride;
    this.level = level;
    this.capacity = capacity;
    for (const [e, r] of old.entries())
      if (r.kind !== 0) this.write(e, r.kind, r.slot, r.base, r.length, r.owner);
  }

  /**
   * Room up to `entry`: exactly that when first filled from a report (highest entry first), else half
   * again as much, so entries taken one by one grow the rows O(log n) times; never past the table.
   */
  private grow(entry: number): void {
    const capacity = this.capacity === 0 ? entry + 1 : Math.max(entry + 1, Math.ceil(1.5 * this.capacity), 8);
    this.rebuild(Math.min(this.limit, capacity), this.level);
  }

  /** Whether the rows at `level` can store these numbers (and owner number `owner`). */
  private fits(
    s: { kind: LiveSlice['kind']; base: number; length: number; slot?: number | undefined },
    owner: number,
    level: number,
  ): boolean {
    const { limit, slots, owners } = LEVELS[level]!;
    if ((s.slot ?? 0) >= slots || owner >= owners) return false;
    if (level === WIDE) return true;
    const u = s.kind === 'memory' ? this.unit : 1;
    return s.base % u === 0 && s.length % u === 0 && s.base / u < limit && s.length / u < limit;
  }

  /** Widens the rows until they can store `s` (with owner number `owner`). */
  private widenFor(
    s: { kind: LiveSlice['kind']; base: number; length: number; slot?: number | undefined },
    owner: number,
  ) {
    let level = this.level;
    while (!this.fits(s, owner, level)) level++;
    if (level !== this.level) this.rebuild(this.capacity, level);
  }

  private baseOf(e: number): number {
    return this.loaded(this.kindAt(e), this.rows[e * this.stride + 1]!);
  }

  private lengthOf(e: number): number {
    return this.loaded(this.kindAt(e), this.rows[e * this.stride + 2]!);
  }

  has(entry: number): boolean {
    return entry < this.capacity && this.kindAt(entry) !== 0;
  }

  /** The slice at `entry`: the held object, or a new object for a committed slice. */
  get(entry: number): LiveSlice | undefined {
    if (!this.has(entry)) return undefined;
    const held = this.held?.get(entry);
    if (held) return held;
    const kind = KIND_OF[this.kindAt(entry)]!;
    const s: LiveSlice = {
      adapter: this.adapter,
      entry,
      kind,
      base: this.baseOf(entry),
      length: this.lengthOf(entry),
      allocation: this.owners.name(this.ownerAt(entry)),
    };
    if (kind === 'context') s.slot = this.slotAt(entry);
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
      KIND_OF[this.kindAt(e)] === s.kind &&
      this.baseOf(e) === s.base &&
      (s.kind !== 'context' || this.slotAt(e) === s.slot) &&
      this.owners.name(this.ownerAt(e)) === s.allocation
    );
  }

  /** Whether the slice at `entry` carries owner number `owner` and is committed (not held). */
  committedOf(entry: number, owner: number): boolean {
    return this.has(entry) && this.ownerAt(entry) === owner && !this.held?.has(entry);
  }

  /** Stores `s` at its entry, which must be free; a slice with `heldBy` keeps its object. */
  set(s: LiveSlice): void {
    const e = s.entry;
    if (e >= this.capacity) this.grow(e);
    if (this.kindAt(e) !== 0) throw new Error(`internal: entry ${this.adapter}#${e} is taken`);
    const owner = this.owners.acquire(s.allocation, this.adapter);
    this.widenFor(s, owner);
    this.write(e, KIND_CODE[s.kind], s.kind === 'context' ? s.slot! : 0, s.base, s.length, owner);
    if (s.heldBy) {
      this.held ??= new Map();
      this.held.set(e, s);
    }
    this.count++;
    if (e === this.lowest) {
      let next = e + 1;
      while (next < this.capacity && this.kindAt(next) !== 0) next++;
      this.lowest = next;
    }
  }

  setLength(entry: number, length: number): void {
    const kind = this.kindAt(entry);
    this.widenFor({ kind: KIND_OF[kind]!, base: 0, length }, this.ownerAt(entry));
    this.rows[entry * this.stride + 2] = this.stored(kind, length);
  }

  /** A held slice is committed: only its row remains. */
  settle(entry: number): void {
    this.held?.delete(entry);
    if (this.held?.size === 0) this.held = undefined;
  }

  delete(entry: number): void {
    if (!this.has(entry)) return;
    this.owners.release(this.ownerAt(entry));
    this.rows[entry * this.stride] = 0;
    this.settle(entry);
    this.count--;
    if (entry < this.lowest) this.lowest = entry;
  }

  /** Gives back every owner number (the adapter's state is replaced by a new one). */
  dispose(): void {
    for (const e of this.entries()) this.owners.release(this.ownerAt(e));
    this.rows.fill(0);
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
    for (let e = this.lowest; e < this.limit; e++)
      if (e >= this.capacity || this.kindAt(e) === 0) out.push(e);
    return out;
  }

  /** Entries in use, ascending. */
  *entries(): IterableIterator<number> {
    for (let e = 0; e < this.capacity; e++) if (this.kindAt(e) !== 0) yield e;
  }

  *values(): IterableIterator<LiveSlice> {
    for (const e of this.entries()) yield this.get(e)!;
  }
}

/** Empty slots by index, shared by every adapter (frozen: an empty slot takes no context slice). */
const EMPTY_SLOTS: SlotAvailability[] = [];
const SHARED_EMPTY_SLOTS = 64;

const isEmpty = (s: SlotAvailability) => s.empty;

/**
 * A copy of exactly its length: a splice or push that grows an array reserves half again and 16 more,
 * 128 bytes and up on lists of one or two extents (issue 11: memory, tens of thousands of them).
 */
function exact<T>(xs: T[]): T[] {
  return xs.slice();
}

/** The availability of an empty slot with no contexts (issue 11: most slots of an idle pool). */
function emptySlot(index: number): SlotAvailability {
  const make = (): SlotAvailability => ({ index, contexts: 0, empty: true, idle: false, freeContexts: [] });
  if (index >= SHARED_EMPTY_SLOTS) return make();
  if (!EMPTY_SLOTS[index]) {
    const slot = make();
    Object.freeze(slot.freeContexts);
    EMPTY_SLOTS[index] = Object.freeze(slot);
  }
  return EMPTY_SLOTS[index];
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
  /** slices.lowestFree(), mirrored after each edit (lowestFreeEntry). */
  private lowestFree = 0;
  /** The lowest empty slot, mirrored after each edit of a slot (firstEmptySlot). */
  private lowestEmpty = -1;

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
    this.rawMemory = new ExtentColumn(complement(of('memory'), a.memoryBytes), unitOf(a.memoryAlignBytes));
    for (let i = 0; i < this.rawMemory.size; i++)
      this.memorySlackBytes += this.slackOf(this.rawMemory.baseAt(i), this.rawMemory.lengthAt(i));
    this.freeCompute = exact(complement(of('compute'), a.computeUnits));
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
    for (const slot of this.slots) if (!Object.isFrozen(slot)) slot.freeContexts = exact(slot.freeContexts);
    for (const slot of this.slots) this.refreshIdle(slot.index);
    // Highest entry first: the columns grow once.
    for (const s of [...slices].sort((x, y) => y.entry - x.entry)) this.slices.set(s);
    this.lowestFree = this.slices.lowestFree();
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

  /**
   * The entry a new slice takes (the from-scratch planner's `freeEntries[0]`), or -1 when full: kept
   * here, beside `id`, after each edit of `slices` (issue 11: the planner reads both of the adapter it
   * chose; through the entry table that was one more cache miss per plan at 10,000 adapters).
   */
  get lowestFreeEntry(): number {
    return this.lowestFree;
  }

  /**
   * The lowest slot with no engine loaded, or -1 (`slots.findIndex((s) => s.empty)`): kept here after
   * each edit of a slot, so a load planned into an empty slot reads no slot object (issue 11: at
   * 10,000 adapters each is a cache miss of a plan).
   */
  get firstEmptySlot(): number {
    return this.lowestEmpty;
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
    if (empty && contexts === 0) return emptySlot(index);
    const freeContexts = contexts > 0 ? [{ base: 0, length: contexts }] : [];
    // Every property in the literal: one added later goes to an out-of-object property array (issue
    // 11: memory, 40,000 slots at 10,000 adapters).
    if (inv?.function !== undefined && inv.bitstream === undefined)
      return { index, function: inv.function, contexts, empty, idle: false, freeContexts };
    if (inv?.bitstream !== undefined && inv.function === undefined)
      return { index, bitstream: inv.bitstream, contexts, empty, idle: false, freeContexts };
    const slot: SlotAvailability = { index, contexts, empty, idle: false, freeContexts };
    if (inv?.function !== undefined) slot.function = inv.function;
    if (inv?.bitstream !== undefined) slot.bitstream = inv.bitstream;
    return slot;
  }

  private refreshIdle(index: number): void {
    const slot = this.slots[index]!;
    const idle =
      !slot.empty && this.contextSlices[index] === 0 && (this.slotInventory[index]?.contextsUsed ?? 0) === 0;
    if (slot.idle !== idle) slot.idle = idle; // an empty slot is never idle, and shared (emptySlot)
    this.lowestEmpty = this.slots.findIndex(isEmpty);
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
    const compute = takeRange(this.freeCompute, base, length);
    this.freeCompute = exact(this.freeCompute);
    return { compute, slots: false };
  }

  private giveQuantity(kind: 'memory' | 'compute', base: number, length: number): StateChange {
    if (kind === 'memory')
      return { memory: this.editMemory(this.rawMemory.give(base, length)), slots: false };
    const compute = giveRange(this.freeCompute, base, length);
    this.freeCompute = exact(this.freeCompute);
    return { compute, slots: false };
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
    this.lowestFree = this.slices.lowestFree();
    if (s.kind !== 'context') return this.takeQuantity(s.kind, s.base, s.length);
    const i = s.slot!;
    const slot = this.slots[i]!;
    takeRange(slot.freeContexts, s.base, s.length);
    slot.freeContexts = exact(slot.freeContexts);
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
    this.lowestFree = this.slices.lowestFree();
    if (s.kind !== 'context') return this.giveQuantity(s.kind, s.base, s.length);
    const i = s.slot!;
    const slot = this.slots[i]!;
    giveRange(slot.freeContexts, s.base, s.length);
    slot.freeContexts = exact(slot.freeContexts);
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
