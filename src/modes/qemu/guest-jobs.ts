// A job on an adapter inside a QEMU guest. The agent's own RunJob stages input and output through a
// host buffer (ra-spec §11), which the embedded backend keeps in files beside the model's socket; a
// guest has no such files. Here the agent stages them through the scratch memory slice itself,
// mapped from the adapter's CXL region (/dev/daxN.0: byte X of it is byte X of the adapter's memory),
// and the engine reads and writes that slice by DMA as it would after a host-buffer copy (§8, §12).

import { jobParams } from '../../agent/params.js';
import { AgentCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import type { Adapter } from '../../driver/adapter.js';
import type { DmaController } from '../../driver/dma.js';
import { keyBlockBytes, maxOutputBytes } from '../../driver/jobs.js';
import { addon } from '../../driver/native.js';
import { Slices } from '../../driver/slices.js';

/** devdax mappings must start and end on the device's alignment (2 MiB for a CXL region). */
export const DAX_ALIGN_BYTES = 2 * 1024 * 1024;
const align64 = (n: number) => Math.ceil(n / 64) * 64;

export interface GuestAdapter {
  adapter: Adapter;
  dma: DmaController;
  /** e.g. dax0.0: the adapter's whole memory in devdax mode, from device address `dpaOffsetBytes`. */
  dax: string;
  dpaOffsetBytes: number;
}

/**
 * The agent protocol's runJob (same parameters and result as src/agent/agent.ts) with the scratch
 * memory slice on the engine's own adapter, staged through its /dev/dax mapping.
 */
export async function runJobThroughDax(
  p: Record<string, unknown>,
  find: (id: string) => GuestAdapter | undefined,
): Promise<{ output: string }> {
  const id = String(p.adapter);
  const g = find(id);
  if (!g) throw new RaError(AgentCode.UNKNOWN_ADAPTER, `adapter ${id} is not in this guest`);
  if (p.memoryAdapter !== undefined && p.memoryAdapter !== id)
    throw new RaError(
      AgentCode.INVALID_PARAMS,
      `in a QEMU guest the job's scratch slice must be on the engine's adapter ${id}, not ${String(p.memoryAdapter)}`,
    );
  const { fn, input, key, params, ownerKey, engineEntry, memoryEntry } = jobParams(p);
  if (input.length === 0) throw new RaError(AgentCode.INVALID_PARAMS, 'input is empty');
  const keyBytes = key ? keyBlockBytes(fn) : 0;
  const stagedBytes = keyBytes + input.length;
  const outOffset = align64(stagedBytes);
  const outMax = maxOutputBytes(fn, input.length, params);
  // The slice as the adapter's registers show it: the adapter checks the owner key again (§8.7).
  const slice = new Slices(g.adapter).read(memoryEntry);
  if (slice.kind !== 'memory' || slice.state !== 'active' || slice.ownerKey !== ownerKey)
    throw new RaError(
      AgentCode.INVALID_PARAMS,
      `slice ${memoryEntry} of ${id} is not an active memory slice of this owner key`,
    );
  if (outOffset + outMax > slice.length)
    throw new RaError(
      AgentCode.INVALID_PARAMS,
      `input of ${input.length} bytes does not fit the ${slice.length}-byte memory slice with its output`,
    );
  const start = g.dpaOffsetBytes + slice.base;
  const mapStart = Math.floor(start / DAX_ALIGN_BYTES) * DAX_ALIGN_BYTES;
  const mapEnd = Math.ceil((start + outOffset + outMax) / DAX_ALIGN_BYTES) * DAX_ALIGN_BYTES;
  const map = new (addon().MemoryMapping)(`dax:///dev/${g.dax}`, mapStart, mapEnd - mapStart);
  try {
    const bytes = new Uint8Array(map.buffer, start - mapStart, outOffset + outMax);
    if (key) bytes.set(key, 0);
    bytes.set(input, keyBytes);
    const mem = { adapter: g.adapter.identity.fabricId, slice: memoryEntry };
    let outBytes: number;
    try {
      const done = await g.dma.submit({
        op: 'job',
        ownerKey,
        ctxSlice: engineEntry,
        src: mem,
        srcOffset: 0,
        bytes: stagedBytes,
        dst: mem,
        dstOffset: outOffset,
        ...(params ? { params } : {}),
        ...(keyBytes > 0 ? { inlineKey: true } : {}),
      });
      outBytes = done.outBytes;
    } finally {
      bytes.fill(0, 0, keyBytes); // the key stays in the slice only while the engine needs it
    }
    return { output: Buffer.from(bytes.subarray(outOffset, outOffset + outBytes)).toString('base64') };
  } finally {
    map.close();
  }
}
