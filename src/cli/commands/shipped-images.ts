// Loading a function's shipped bitstream into a free slot, for `adapter run` when no slot has it.
import type { Adapter } from '../../driver/adapter.js';
import { RaError } from '../../driver/errors.js';
import type { SlotInfo } from '../../driver/slots.js';

export async function loadShippedFunction(a: Adapter, fn: string): Promise<SlotInfo> {
  throw new RaError('NO_RESOURCE', `${a.uri}: no slot holds ${fn}; load it with \`rafabric bitstream load\``);
}
