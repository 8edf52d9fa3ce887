// Whole adapters (DRA's unpartitioned device): a request takes every byte of memory and every compute
// unit of an adapter that nobody uses, one slice of each (ra-spec §10). The slice table is the only
// record, so "held whole" is read from it: one allocation's memory slice [0, memoryBytes) and compute
// slice [0, computeUnits) together. Such an adapter receives no other allocation's slice, contexts
// included, so its slots stay its holder's (the rule holds after a restart: it is in the registers).
import { type AdapterAvailability, type Availability, freeEntryCount } from './availability.js';
import { describeSkipped, eligibleAdapters } from './candidates.js';
import { noEligibleAdapter } from './failures.js';
import type { ExistingSlice } from './inventory.js';
import type { Piece, PieceResult, ResourceContext } from './plan.js';
import { quantityPiece } from './quantities.js';
import { pickBest } from './scoring.js';

/** Slices a whole adapter takes: one memory and one compute slice, each only if the adapter has some. */
export function wholeSliceCount(a: { memoryBytes: number; computeUnits: number }): number {
  return (a.memoryBytes > 0 ? 1 : 0) + (a.computeUnits > 0 ? 1 : 0);
}

/** The allocation holding the adapter whole, from its slices; undefined when nobody does. */
export function wholeHolderOf(
  a: { memoryBytes: number; computeUnits: number },
  slices: readonly Pick<ExistingSlice, 'kind' | 'base' | 'length' | 'allocation'>[],
): string | undefined {
  if (wholeSliceCount(a) === 0) return undefined;
  const whole = (kind: 'memory' | 'compute', size: number) =>
    slices.find((s) => s.kind === kind && s.base === 0 && s.length === size)?.allocation;
  const memory = a.memoryBytes > 0 ? whole('memory', a.memoryBytes) : undefined;
  const compute = a.computeUnits > 0 ? whole('compute', a.computeUnits) : undefined;
  if (a.memoryBytes > 0 && memory === undefined) return undefined;
  if (a.computeUnits > 0 && compute === undefined) return undefined;
  if (memory !== undefined && compute !== undefined && memory !== compute) return undefined;
  return memory ?? compute;
}

/** Held whole by another allocation than the one being planned ('' marks the request itself). */
export function heldByAnother(a: AdapterAvailability): boolean {
  return a.wholeHolder !== undefined && a.wholeHolder !== '';
}

/** Nothing on it: all memory and units free, every slot empty or idle, entries for the slices. */
export function entirelyFree(a: AdapterAvailability): boolean {
  // Cheapest first: the live index computes free memory when it is read.
  const compute = a.freeCompute;
  const computeFree =
    a.computeUnits === 0 ||
    (compute.length === 1 && compute[0]!.base === 0 && compute[0]!.length === a.computeUnits);
  if (!computeFree || wholeSliceCount(a) === 0 || freeEntryCount(a) < wholeSliceCount(a)) return false;
  if (!a.slots.every((s) => s.empty || s.idle)) return false;
  const memory = a.freeMemory;
  return (
    a.memoryBytes === 0 ||
    (memory.length === 1 && memory[0]!.base === 0 && memory[0]!.length === a.memoryBytes)
  );
}

/** The slices of adapter `a` taken whole. */
export function wholePieces(a: AdapterAvailability): Piece[] {
  const pieces: Piece[] = [];
  if (a.memoryBytes > 0) pieces.push(quantityPiece(a, 'memory', 0, a.memoryBytes, a.memoryBytes));
  if (a.computeUnits > 0) pieces.push(quantityPiece(a, 'compute', 0, a.computeUnits, a.computeUnits));
  return pieces;
}

/** One entirely free adapter: the lowest `score` (placement.ts: same server, healthy), then id. */
export function placeWhole(
  working: Availability,
  context: ResourceContext,
  score: (a: AdapterAvailability) => number[],
): PieceResult {
  const { adapters, skipped } = eligibleAdapters(working, context);
  if (adapters.length === 0) return noEligibleAdapter(skipped);
  const best = pickBest(adapters.filter(entirelyFree), score);
  if (best) return { ok: true, pieces: wholePieces(best) };
  const m =
    `a whole adapter requested, but none of the ${adapters.length} eligible is entirely free (slices or ` +
    'engines in use on each): release them, or ask for memory, compute or contexts instead';
  return { ok: false, why: 'NOT_ENOUGH_FREE', message: m + describeSkipped(skipped), skipped };
}
