// Loading a function's shipped bitstream into a free slot, for `adapter run` when no slot has it.
import { loadFunctionIntoFreeSlot } from '../../bitstream/shipped.js';
import type { Adapter } from '../../driver/adapter.js';
import type { SlotInfo } from '../../driver/slots.js';

export async function loadShippedFunction(a: Adapter, fn: string): Promise<SlotInfo> {
  return (await loadFunctionIntoFreeSlot(a, fn)).slot;
}
