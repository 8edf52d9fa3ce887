// The pool as the agents read it from the registers, turned into what the RVL plans against and what
// the API shows. Slices are attributed to allocations by owner key: the registers are the truth for
// devices, the store for allocations (DESIGN "Boundaries").
import type { AgentAdapter } from '../agent/agent.js';
import type { ExistingSlice, Inventory, SlotInventory } from '../rvl/index.js';
import type { AdapterView } from './types.js';

export interface PoolSnapshot {
  adapters: AgentAdapter[];
}

/** owner key (hex) -> allocation id; unknown keys are attributed to "orphan:<key>". */
export type KeyIndex = ReadonlyMap<string, string>;

/** The payload sha256 a tenant's accelerator of function `fn` must run on (undefined: none). */
export type ImageChoice = (fn: string) => string | undefined;

/**
 * A function engine is offered for sharing only when its image (SLOT_IMAGE_HASH, ra-spec §9) is the
 * one chosen for the requesting tenant; any other engine, another tenant's for instance, is shown as
 * a bitstream of its own, which no accelerator request shares.
 */
function engineOf(s: AgentAdapter['slots'][number], choose: ImageChoice | undefined) {
  if (s.function === 'pipeline') return { bitstream: s.image ?? '' };
  if (!s.function) return {};
  if (choose && s.imageHash !== choose(s.function)) return { bitstream: `image:${s.imageHash ?? ''}` };
  return { function: s.function };
}

function slotsOf(a: AgentAdapter, choose: ImageChoice | undefined): SlotInventory[] {
  return a.slots
    .filter((s) => s.state === 'ready' || s.state === 'busy')
    .map((s) => ({
      index: s.index,
      ...engineOf(s, choose),
      contexts: s.contexts,
      contextsUsed: s.contextsUsed,
    }));
}

export function toInventory(pool: PoolSnapshot, keys: KeyIndex, choose?: ImageChoice): Inventory {
  const slices: ExistingSlice[] = [];
  for (const a of pool.adapters) {
    for (const s of a.slices) {
      if (s.kind !== 'memory' && s.kind !== 'compute' && s.kind !== 'context') continue;
      slices.push({
        adapter: a.id,
        entry: s.entry,
        kind: s.kind,
        base: s.base,
        length: s.length,
        ...(s.slot !== undefined ? { slot: s.slot } : {}),
        allocation: keys.get(s.ownerKey) ?? `orphan:${s.ownerKey}`,
      });
    }
  }
  return {
    adapters: pool.adapters.map((a) => ({
      id: a.id,
      server: a.server,
      health: a.health,
      memoryBytes: a.memoryBytes,
      memoryAlignBytes: a.memoryAlignBytes,
      computeUnits: a.computeUnits,
      slots: slotsOf(a, choose),
      slotCount: a.slotCount,
      contextsPerEngine: a.contextsPerEngine,
      sliceEntries: a.sliceEntries,
      functionsSupported: a.functionsSupported,
    })),
    slices,
  };
}

export function toAdapterViews(pool: PoolSnapshot, keys: KeyIndex): AdapterView[] {
  return pool.adapters.map((a) => {
    const used = (kind: string) => a.slices.filter((s) => s.kind === kind).reduce((n, s) => n + s.length, 0);
    const usedSlots = a.slots.filter((s) => s.state !== 'empty').length;
    return {
      id: a.id,
      server: a.server,
      health: a.health,
      memory: { total: a.memoryBytes, free: a.memoryBytes - used('memory') },
      computeUnits: { total: a.computeUnits, free: a.computeUnits - used('compute') },
      slots: { total: a.slotCount, free: a.slotCount - usedSlots },
      slices: a.slices.map((s) => ({
        entry: s.entry,
        kind: s.kind,
        state: s.state,
        base: s.base,
        length: s.length,
        ...(s.slot !== undefined ? { slot: s.slot } : {}),
        ...(keys.has(s.ownerKey) ? { allocation: keys.get(s.ownerKey)! } : {}),
      })),
    };
  });
}
