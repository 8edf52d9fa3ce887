// Copies of any length: one OP_COPY descriptor carries at most the executing adapter's
// CAP_MAX_TRANSFER bytes (ra-spec §3, §8.7 check 3), so a longer copy is split into pieces of at
// most that length, posted as chains (§8.5: each chain is validated whole before it writes).
import type { CopyDescriptor, DmaController } from './dma.js';
import { DriverCode, RaError } from './errors.js';

/** The pieces of `copy`, in order, none longer than `maxTransferBytes`. */
export function splitCopy(copy: CopyDescriptor, maxTransferBytes: number): CopyDescriptor[] {
  if (!Number.isSafeInteger(maxTransferBytes) || maxTransferBytes <= 0)
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `CAP_MAX_TRANSFER must be a positive byte count, got ${maxTransferBytes}`,
    );
  if (!Number.isSafeInteger(copy.bytes) || copy.bytes <= 0)
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `copy bytes must be a positive integer, got ${copy.bytes}`,
    );
  const pieces: CopyDescriptor[] = [];
  for (let done = 0; done < copy.bytes; done += maxTransferBytes) {
    pieces.push({
      ...copy,
      srcOffset: copy.srcOffset + done,
      dstOffset: copy.dstOffset + done,
      bytes: Math.min(maxTransferBytes, copy.bytes - done),
    });
  }
  return pieces;
}

/**
 * Runs `copy` on `dma` (the adapter that executes it, whose CAP_MAX_TRANSFER is `maxTransferBytes`)
 * in chains of at most `chainLength` pieces. A failure stops at the failing chain; the chains
 * before it were written.
 */
export async function copyInPieces(
  dma: DmaController,
  maxTransferBytes: number,
  chainLength: number,
  copy: CopyDescriptor,
): Promise<void> {
  const pieces = splitCopy(copy, maxTransferBytes);
  for (let i = 0; i < pieces.length; i += chainLength)
    await dma.submitChain(pieces.slice(i, i + chainLength));
}
