// Where a context slice for an accelerator (shared function engine) or a logic request (a tenant's
// own bitstream, exclusive) could go on one adapter. Strategies choose among these options.
import type { AdapterAvailability, SlotAvailability } from './availability.js';
import type { Piece } from './plan.js';

export const SlotTier = {
  /** The function is already loaded and has free contexts: nothing to reconfigure. */
  REUSE: 0,
  /** An empty slot: load without disturbing anyone. */
  EMPTY: 1,
  /** A loaded slot nobody holds contexts on: its engine is replaced. */
  REPLACE_IDLE: 2,
} as const;

export interface SlotOption {
  adapter: AdapterAvailability;
  slot: SlotAvailability;
  tier: number;
  base: number;
  length: number;
  /** Contexts of the chosen free range (or engine) left over after this slice. */
  leftover: number;
  loadBitstream?: { function: string } | { bitstream: string };
}

/** Options for `contexts` contexts of `fn` on adapter `a`, in slot then base order. */
export function acceleratorOptions(a: AdapterAvailability, fn: string, contexts: number): SlotOption[] {
  const options: SlotOption[] = [];
  const loadable = a.functionsSupported.includes(fn) && contexts <= a.contextsPerEngine;
  for (const slot of a.slots) {
    if (!slot.empty && slot.function === fn) {
      for (const range of slot.freeContexts) {
        if (range.length < contexts) continue;
        const leftover = range.length - contexts;
        options.push({
          adapter: a,
          slot,
          tier: SlotTier.REUSE,
          base: range.base,
          length: contexts,
          leftover,
        });
      }
    } else if (loadable && (slot.empty || slot.idle)) {
      const tier = slot.empty ? SlotTier.EMPTY : SlotTier.REPLACE_IDLE;
      const leftover = a.contextsPerEngine - contexts;
      options.push({
        adapter: a,
        slot,
        tier,
        base: 0,
        length: contexts,
        leftover,
        loadBitstream: { function: fn },
      });
    }
  }
  return options;
}

/** Options for a tenant bitstream: a whole slot, its every context held so no one else shares it. */
export function logicOptions(a: AdapterAvailability, bitstream: string): SlotOption[] {
  return a.slots
    .filter((slot) => slot.empty || slot.idle)
    .map((slot) => ({
      adapter: a,
      slot,
      // Always (re)loaded: a tenant never inherits a previous tenant's engine state.
      tier: slot.empty ? SlotTier.EMPTY : SlotTier.REPLACE_IDLE,
      base: 0,
      length: a.contextsPerEngine,
      leftover: 0,
      loadBitstream: { bitstream },
    }));
}

export function slotPiece(o: SlotOption): Piece {
  const piece: Piece = {
    kind: 'context',
    adapter: o.adapter.id,
    base: o.base,
    length: o.length,
    slot: o.slot.index,
  };
  if (o.loadBitstream) piece.loadBitstream = o.loadBitstream;
  return piece;
}
