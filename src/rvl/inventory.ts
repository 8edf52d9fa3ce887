// What the RVL is told about the pool: adapters (from their identity, capabilities and slot table,
// ra-spec §3/§9) and the slices already placed on them (slice table, §10). Plain data, no I/O:
// the GRM reads it from the store or the agents and hands it in.
import { invalidInventory } from './errors.js';

/** Taints: `unhealthy` receives no new slices; `degraded` only when a request's policy allows it. */
export type AdapterHealth = 'healthy' | 'degraded' | 'unhealthy';

export type SliceKind = 'memory' | 'compute' | 'context';

export interface SlotInventory {
  index: number;
  /** Function engine loaded from a shipped bitstream (accelerator requests share it by contexts). */
  function?: string;
  /** Tenant bitstream loaded for a logic request (never shared). */
  bitstream?: string;
  /** Contexts the loaded engine provides (0 when empty). */
  contexts: number;
  /** SLOT_CONTEXTS_USED; the context slices below are the truth for which contexts are taken. */
  contextsUsed: number;
}

export interface AdapterInventory {
  id: string;
  server: string;
  health: AdapterHealth;
  memoryBytes: number;
  /** CAP_MEM_ALIGN: memory slices start and end on multiples of it. */
  memoryAlignBytes: number;
  computeUnits: number;
  /** Slots that are loaded (or known); a slot index < slotCount that is absent here is empty. */
  slots: SlotInventory[];
  slotCount: number;
  /** Contexts an engine provides once loaded into an empty slot. */
  contextsPerEngine: number;
  /** CAP_SLICES: size of the slice table; every placement needs one free entry. */
  sliceEntries: number;
  functionsSupported: string[];
  /** Fabric zone the agent publishes (absent: attributes.ts DEFAULT_ZONE). */
  zone?: string;
  /** Device model (ra-spec §3 DEVICE_ID, as the agent names it). */
  model?: string;
  /** Firmware: the register file's version (ra-spec §3 SPEC_VERSION). */
  firmware?: string;
}

export interface ExistingSlice {
  adapter: string;
  entry: number;
  kind: SliceKind;
  /** memory: byte offset; compute: first unit; context: first context of `slot`. */
  base: number;
  /** memory: bytes; compute: units; context: contexts. */
  length: number;
  slot?: number;
  allocation: string;
}

export interface Inventory {
  adapters: AdapterInventory[];
  slices: ExistingSlice[];
}

function count(value: unknown, what: string, minimum = 0): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw invalidInventory(`${what} must be an integer >= ${minimum}, got ${String(value)}`, { what });
  }
}

function checkAdapter(a: AdapterInventory): void {
  if (typeof a.id !== 'string' || a.id === '') throw invalidInventory('an adapter has no id');
  const at = `adapter ${a.id}`;
  if (!['healthy', 'degraded', 'unhealthy'].includes(a.health)) {
    throw invalidInventory(`${at}: unknown health ${String(a.health)}`, { adapter: a.id });
  }
  count(a.memoryBytes, `${at} memoryBytes`);
  count(a.memoryAlignBytes, `${at} memoryAlignBytes`, 1);
  count(a.computeUnits, `${at} computeUnits`);
  count(a.slotCount, `${at} slotCount`);
  count(a.contextsPerEngine, `${at} contextsPerEngine`, 1);
  count(a.sliceEntries, `${at} sliceEntries`);
  for (const field of ['zone', 'model', 'firmware'] as const)
    if (a[field] !== undefined && typeof a[field] !== 'string')
      throw invalidInventory(`${at}: ${field} must be a string`, { adapter: a.id });
  const seen = new Set<number>();
  for (const s of a.slots) {
    count(s.index, `${at} slot index`);
    if (s.index >= a.slotCount || seen.has(s.index)) {
      throw invalidInventory(`${at}: slot ${s.index} is out of range or listed twice`, { adapter: a.id });
    }
    seen.add(s.index);
    count(s.contexts, `${at} slot ${s.index} contexts`);
    count(s.contextsUsed, `${at} slot ${s.index} contextsUsed`);
    if (s.contextsUsed > s.contexts) {
      throw invalidInventory(`${at}: slot ${s.index} uses more contexts than it has`, { adapter: a.id });
    }
  }
}

/** Where a slice may lie on its adapter: [0, limit). */
function sliceLimit(a: AdapterInventory, s: ExistingSlice): number {
  if (s.kind === 'memory') return a.memoryBytes;
  if (s.kind === 'compute') return a.computeUnits;
  const slot = a.slots.find((x) => x.index === s.slot);
  if (!slot)
    throw invalidInventory(`context slice ${s.adapter}#${s.entry} names slot ${s.slot}, which is empty`);
  return slot.contexts;
}

function checkSlice(a: AdapterInventory | undefined, s: ExistingSlice, entries: Set<string>): void {
  const at = `slice ${s.adapter}#${s.entry}`;
  if (!a) throw invalidInventory(`${at} names an unknown adapter`, { adapter: s.adapter });
  count(s.entry, `${at} entry`);
  if (s.entry >= a.sliceEntries)
    throw invalidInventory(`${at}: entry beyond the slice table (${a.sliceEntries})`);
  if (entries.has(`${s.adapter}#${s.entry}`)) throw invalidInventory(`${at}: entry used twice`);
  entries.add(`${s.adapter}#${s.entry}`);
  count(s.base, `${at} base`);
  count(s.length, `${at} length`, 1);
  if (!['memory', 'compute', 'context'].includes(s.kind))
    throw invalidInventory(`${at}: unknown kind ${s.kind}`);
  if (s.base + s.length > sliceLimit(a, s))
    throw invalidInventory(`${at}: lies beyond the adapter's ${s.kind}`);
}

/** Throws INVALID_INVENTORY on anything a placement could not be trusted on. Overlaps are found when
 * availability subtracts the slices (availability.ts). */
export function checkInventory(inventory: Inventory): Map<string, AdapterInventory> {
  const byId = new Map<string, AdapterInventory>();
  for (const a of inventory.adapters) {
    checkAdapter(a);
    if (byId.has(a.id)) throw invalidInventory(`adapter ${a.id} is listed twice`, { adapter: a.id });
    byId.set(a.id, a);
  }
  const entries = new Set<string>();
  for (const s of inventory.slices) checkSlice(byId.get(s.adapter), s, entries);
  return byId;
}
