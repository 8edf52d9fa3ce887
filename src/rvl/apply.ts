// What the inventory looks like once a plan has been carried out (the GRM's working state between
// agent reports, and the property tests' model). Pure: every function returns a new inventory.
import type { AdapterInventory, ExistingSlice, Inventory, SlotInventory } from './inventory.js';
import type { Plan, SliceToProgram } from './plan.js';
import type { ResizePlan } from './resize.js';

function withSlot(
  a: AdapterInventory,
  index: number,
  change: (s: SlotInventory) => SlotInventory,
): AdapterInventory {
  const old = a.slots.find((s) => s.index === index) ?? { index, contexts: 0, contextsUsed: 0 };
  const slots = [...a.slots.filter((s) => s.index !== index), change(old)].sort((x, y) => x.index - y.index);
  return { ...a, slots };
}

function loaded(a: AdapterInventory, p: SliceToProgram): AdapterInventory {
  const load = p.loadBitstream!;
  // A load replaces the engine: the slot's previous function or bitstream is gone (ra-spec §5.4).
  return withSlot(a, p.slot!, (s) => ({
    index: s.index,
    ...load,
    contexts: a.contextsPerEngine,
    contextsUsed: 0,
  }));
}

function contextsUsed(a: AdapterInventory, slot: number, delta: number): AdapterInventory {
  return withSlot(a, slot, (s) => ({ ...s, contextsUsed: s.contextsUsed + delta }));
}

function mapAdapter(
  inv: Inventory,
  id: string,
  change: (a: AdapterInventory) => AdapterInventory,
): Inventory {
  return { ...inv, adapters: inv.adapters.map((a) => (a.id === id ? change(a) : a)) };
}

function addSlice(inv: Inventory, p: SliceToProgram, allocation: string): Inventory {
  const slice: ExistingSlice = {
    adapter: p.adapter,
    entry: p.entry,
    kind: p.kind,
    base: p.base,
    length: p.length,
    allocation,
  };
  let next = { ...inv, slices: [...inv.slices, slice] };
  if (p.kind === 'context') {
    slice.slot = p.slot!;
    if (p.loadBitstream) next = mapAdapter(next, p.adapter, (a) => loaded(a, p));
    next = mapAdapter(next, p.adapter, (a) => contextsUsed(a, p.slot!, p.length));
  }
  return next;
}

function removeSlice(inv: Inventory, slice: ExistingSlice): Inventory {
  const next = { ...inv, slices: inv.slices.filter((s) => s !== slice) };
  if (slice.kind !== 'context') return next;
  // The engine stays loaded (idle) for the next request of that function.
  return mapAdapter(next, slice.adapter, (a) => contextsUsed(a, slice.slot!, -slice.length));
}

function sliceAt(inv: Inventory, adapter: string, entry: number): ExistingSlice {
  const s = inv.slices.find((x) => x.adapter === adapter && x.entry === entry);
  if (!s) throw new Error(`no slice ${adapter}#${entry} in the inventory`);
  return s;
}

export function applyPlan(inventory: Inventory, plan: Plan, allocation: string): Inventory {
  return plan.placements.reduce((inv, p) => addSlice(inv, p, allocation), inventory);
}

export function releaseAllocation(inventory: Inventory, allocation: string): Inventory {
  return inventory.slices.filter((s) => s.allocation === allocation).reduce(removeSlice, inventory);
}

export function applyResize(inventory: Inventory, plan: ResizePlan): Inventory {
  if (plan.kind === 'migrate') {
    const old = sliceAt(inventory, plan.from.adapter, plan.from.entry);
    return removeSlice(addSlice(inventory, plan.to, old.allocation), old);
  }
  const old = sliceAt(inventory, plan.slice.adapter, plan.slice.entry);
  const slices = inventory.slices.map((s) => (s === old ? { ...s, length: plan.toLength } : s));
  return { ...inventory, slices };
}
