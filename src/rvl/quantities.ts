// Memory and compute are both "a quantity out of free extents": bytes rounded to the adapter's
// alignment, or units (alignment 1). This file is the only place that tells the two apart.
import type { AdapterAvailability } from './availability.js';
import type { Extent } from './extents.js';
import type { Piece } from './plan.js';

export type QuantityKind = 'memory' | 'compute';

export function freeExtents(a: AdapterAvailability, kind: QuantityKind): Extent[] {
  return kind === 'memory' ? a.freeMemory : a.freeCompute;
}

/** Slices start and end on multiples of this (ra-spec §5.4: memory on CAP_MEM_ALIGN). */
export function alignment(a: AdapterAvailability, kind: QuantityKind): number {
  return kind === 'memory' ? a.memoryAlignBytes : 1;
}

/** A slice [base, base+length) carrying `carried` bytes or units of the request. */
export function quantityPiece(
  a: AdapterAvailability,
  kind: QuantityKind,
  base: number,
  length: number,
  carried: number,
): Piece {
  const piece: Piece = { kind, adapter: a.id, base, length };
  if (kind === 'memory') piece.bytes = carried;
  else piece.units = carried;
  return piece;
}

/** Human form for messages: GiB/MiB for memory, units for compute. */
export function describeAmount(kind: QuantityKind, amount: number): string {
  if (kind === 'compute') return `${amount} unit${amount === 1 ? '' : 's'}`;
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (amount >= size) return `${Number((amount / size).toFixed(2))} ${unit}`;
  }
  return `${amount} bytes`;
}
