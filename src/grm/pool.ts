// The pool as the agents read it from the registers, turned into what the index plans against and what
// the API shows. Slices are attributed to allocations by owner key: the registers are the truth for
// devices, the store for allocations (DESIGN "Boundaries").
import type { AgentAdapter } from '../agent/agent.js';
import type { AdapterInventory, ExistingSlice, SlotInventory } from '../rvl/index.js';
import type { SliceSample } from '../rvl/reclaim.js';
import { engineLabel } from './engines.js';
import type { AdapterView } from './types.js';

/** owner key (hex) -> allocation id; unknown keys are attributed to "orphan:<key>". */
export type KeyIndex = ReadonlyMap<string, string>;

/** Who holds an owner key, as the index labels its slices. */
export type LabelOf = (ownerKey: string) => string;

export const orphanLabel = (ownerKey: string): string => `orphan:${ownerKey}`;

/** The label of a job's scratch slice of allocation `id` (jobs.ts): programmed with the allocation's key. */
export const scratchLabel = (id: string, n: number): string => `${id}/job-${n}`;

/**
 * Whether a slice the index holds under `label` is held by `holder`, the label its owner key gives it
 * in the registers: the same label, or a job's scratch slice of that allocation.
 */
export const sameHolder = (label: string, holder: string): boolean =>
  label === holder || label.startsWith(`${holder}/job-`);

/**
 * A function engine is named by function and image (engines.ts); a tenant's logic bitstream by its
 * image name, never shared.
 */
function engineOf(s: AgentAdapter['slots'][number]): Pick<SlotInventory, 'function' | 'bitstream'> {
  if (s.function === 'pipeline') return { bitstream: s.image ?? '' };
  if (!s.function) return {};
  return { function: engineLabel(s.function, s.imageHash ?? '') };
}

/**
 * One adapter as the index holds it. `labels` gives, per function, the labels of every image of it
 * the catalog knows: the adapter supports each of them (it can load any image of a function it runs).
 */
export function toIndexAdapter(
  a: AgentAdapter,
  labels: ReadonlyMap<string, readonly string[]>,
): AdapterInventory {
  return {
    id: a.id,
    server: a.server,
    health: a.health,
    memoryBytes: a.memoryBytes,
    memoryAlignBytes: a.memoryAlignBytes,
    computeUnits: a.computeUnits,
    slots: a.slots
      .filter((s) => s.state === 'ready' || s.state === 'busy')
      .map((s) => ({ index: s.index, ...engineOf(s), contexts: s.contexts, contextsUsed: s.contextsUsed })),
    slotCount: a.slotCount,
    contextsPerEngine: a.contextsPerEngine,
    sliceEntries: a.sliceEntries,
    functionsSupported: a.functionsSupported.flatMap((fn) => labels.get(fn) ?? []),
    // Attributes selectors read (src/rvl/attributes.ts); an older agent may not send them.
    ...(a.zone ? { zone: a.zone } : {}),
    ...(a.model ? { model: a.model } : {}),
    ...(a.firmware ? { firmware: a.firmware } : {}),
  };
}

/** The adapter's slices as the index holds them, each labelled with whoever holds its owner key. */
export function slicesOf(a: AgentAdapter, labelOf: LabelOf): ExistingSlice[] {
  const out: ExistingSlice[] = [];
  for (const s of a.slices) {
    if (s.kind !== 'memory' && s.kind !== 'compute' && s.kind !== 'context') continue;
    out.push({
      adapter: a.id,
      entry: s.entry,
      kind: s.kind,
      base: s.base,
      length: s.length,
      ...(s.slot !== undefined ? { slot: s.slot } : {}),
      allocation: labelOf(s.ownerKey),
    });
  }
  return out;
}

/** Every slice's utilization counters (ra-spec §10), stamped with its adapter's clock (REG_CLOCK_NS). */
export function samplesOf(a: AgentAdapter, labelOf: LabelOf): SliceSample[] {
  return a.slices.map((s) => ({
    adapter: a.id,
    entry: s.entry,
    allocation: labelOf(s.ownerKey),
    sampledAtNs: a.clockNs,
    lastActiveNs: s.lastActiveNs,
    busyNs: s.busyNs,
    bytesMoved: s.bytesMoved,
    jobs: s.jobs,
  }));
}

export function toAdapterViews(adapters: readonly AgentAdapter[], keys: KeyIndex): AdapterView[] {
  return adapters.map((a) => {
    const used = (kind: string) => a.slices.filter((s) => s.kind === kind).reduce((n, s) => n + s.length, 0);
    const usedSlots = a.slots.filter((s) => s.state !== 'empty').length;
    return {
      id: a.id,
      server: a.server,
      // The attributes selectors read (docs/grm.md "Selectors").
      ...(a.zone ? { zone: a.zone } : {}),
      ...(a.model ? { model: a.model } : {}),
      ...(a.firmware ? { firmware: a.firmware } : {}),
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
