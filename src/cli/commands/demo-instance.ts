// The demo's instance: what a tenant's program does with its memory slices once the GRM granted them
// (DESIGN "Control plane and data plane"): it opens the adapters itself, claims a DMA queue of its
// own and moves bytes host -> slice, slice -> slice over the fabric (ra-spec §8.9) and slice -> host.
// Nothing here passes through the GRM or an agent.
import { Adapter } from '../../driver/adapter.js';
import { copyInPieces } from '../../driver/copy.js';
import { DmaController } from '../../driver/dma.js';
import { HostBuffer } from '../../driver/hostmem.js';
import type { Placement } from '../../grm/types.js';

/** One granted memory slice and how to reach its adapter. */
export interface GrantedSlice {
  placement: Placement;
  /** The adapter's socket (shm://...), on this machine. */
  uri: string;
  ownerKey: bigint;
}

/** Runs fn with `slice`'s adapter opened and one DMA queue claimed on it, then lets both go. */
async function onAdapter<T>(
  slice: GrantedSlice,
  fn: (a: Adapter, dma: DmaController) => Promise<T>,
): Promise<T> {
  const adapter = Adapter.open(slice.uri);
  try {
    const dma = new DmaController(adapter);
    try {
      return await fn(adapter, dma);
    } finally {
      dma.close();
    }
  } finally {
    adapter.close();
  }
}

const copyOn = (a: Adapter, dma: DmaController, copy: Parameters<typeof copyInPieces>[3]) =>
  copyInPieces(dma, a.identity.maxTransferBytes, a.identity.ringDepth, copy);

/** Writes `data` at the start of the slice (host buffer -> slice, by the adapter's DMA engine). */
export function writeSlice(slice: GrantedSlice, data: Buffer): Promise<void> {
  return onAdapter(slice, async (a, dma) => {
    const host = await HostBuffer.create(a, data.length);
    try {
      host.bytes.set(data);
      await copyOn(a, dma, {
        op: 'copy',
        ownerKey: slice.ownerKey,
        src: { host: host.handle },
        srcOffset: 0,
        dst: { adapter: a.identity.fabricId, slice: slice.placement.slice },
        dstOffset: 0,
        bytes: data.length,
      });
    } finally {
      await host.close();
    }
  });
}

/** Reads `bytes` from the start of the slice (slice -> host buffer). */
export function readSlice(slice: GrantedSlice, bytes: number): Promise<Buffer> {
  return onAdapter(slice, async (a, dma) => {
    const host = await HostBuffer.create(a, bytes);
    try {
      await copyOn(a, dma, {
        op: 'copy',
        ownerKey: slice.ownerKey,
        src: { adapter: a.identity.fabricId, slice: slice.placement.slice },
        srcOffset: 0,
        dst: { host: host.handle },
        dstOffset: 0,
        bytes,
      });
      return Buffer.from(host.bytes.subarray(0, bytes));
    } finally {
      await host.close();
    }
  });
}

/**
 * Copies `bytes` from the start of `src` to the start of `dst`, executed by src's adapter: the
 * destination is named by its fabric port, so it may be another server's adapter (ra-spec §8.9).
 * Returns the destination's port and the time the copy took.
 */
export function fabricCopy(
  src: GrantedSlice,
  dst: GrantedSlice & { fabricPort: number },
  bytes: number,
): Promise<{ ms: number }> {
  return onAdapter(src, async (a, dma) => {
    const t0 = performance.now();
    await copyOn(a, dma, {
      op: 'copy',
      ownerKey: src.ownerKey,
      src: { adapter: a.identity.fabricId, slice: src.placement.slice },
      srcOffset: 0,
      dst: { adapter: dst.fabricPort, slice: dst.placement.slice },
      dstOffset: 0,
      bytes,
    });
    return { ms: performance.now() - t0 };
  });
}
