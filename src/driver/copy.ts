// Copies of any length: one OP_COPY descriptor carries at most the executing adapter's
// CAP_MAX_TRANSFER bytes (ra-spec §3, §8.7 check 3), so a longer copy is split into pieces of at
// most that length, posted as chains (§8.5: each chain is validated whole before it writes). A chain
// also carries at most COPY_CHAIN_MAX_BYTES, and each is waited for on its own: the DMA timeout then
// bounds a chain that makes no progress, not a 1 GiB migration that the adapter runs slowly on a
// busy machine, behind admin commands that go first (§8.8).
import type { CopyDescriptor, DmaController } from './dma.js';
import { DriverCode, RaError } from './errors.js';

/** Most bytes one chain of a copy carries (a piece is never longer either). */
export const COPY_CHAIN_MAX_BYTES = 64 * 1024 * 1024;

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

/** `pieces`, in order, grouped into chains of at most `chainLength` pieces and `maxBytes` bytes. */
export function chainsOf(
  pieces: readonly CopyDescriptor[],
  chainLength: number,
  maxBytes = COPY_CHAIN_MAX_BYTES,
): CopyDescriptor[][] {
  const chains: CopyDescriptor[][] = [];
  let chain: CopyDescriptor[] = [];
  let bytes = 0;
  for (const piece of pieces) {
    if (chain.length > 0 && (chain.length >= chainLength || bytes + piece.bytes > maxBytes)) {
      chains.push(chain);
      chain = [];
      bytes = 0;
    }
    chain.push(piece);
    bytes += piece.bytes;
  }
  if (chain.length > 0) chains.push(chain);
  return chains;
}

/**
 * Runs `copy` on `dma` (the adapter that executes it, whose CAP_MAX_TRANSFER is `maxTransferBytes`)
 * in chains of at most `chainLength` pieces and COPY_CHAIN_MAX_BYTES bytes. A failure stops at the
 * failing chain; the chains before it were written.
 */
export async function copyInPieces(
  dma: DmaController,
  maxTransferBytes: number,
  chainLength: number,
  copy: CopyDescriptor,
): Promise<void> {
  const pieces = splitCopy(copy, Math.min(maxTransferBytes, COPY_CHAIN_MAX_BYTES));
  for (const chain of chainsOf(pieces, chainLength)) await dma.submitChain(chain);
}
