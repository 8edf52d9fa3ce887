// Running one function job on slices the caller owns: input in by DMA, the engine, output back.
// A driver-level sequence (no policy): which slices to use is the caller's decision.
import type { DmaController } from './dma.js';
import { DriverCode, RaError } from './errors.js';
import type { FunctionName } from './functions.js';
import type { HostBuffer } from './hostmem.js';

export interface JobRequest {
  fn: FunctionName;
  /** Context slice (function engines) or compute slice (matmul-f32). */
  engineSlice: number;
  /** Memory slice on the same adapter used as the engine's input/output buffer. */
  memorySlice: number;
  memorySliceBytes: number;
  ownerKey: bigint;
  input: Uint8Array;
  /** aes-256-gcm: 12-byte IV; matmul-f32: m, n, k as u32 LE. */
  params?: Uint8Array;
}

/** Upper bound of the output an engine produces for `inputBytes` (ra-spec §12). */
export function maxOutputBytes(inputBytes: number): number {
  return Math.max(inputBytes, 32) + 16;
}

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/**
 * Stages `input` at offset 0 of the memory slice, runs the job, writes the output after the input
 * and copies it back through `host` (which must hold input + output). Returns the output bytes.
 */
export async function runJob(
  dma: DmaController,
  fabricPort: number,
  host: HostBuffer,
  req: JobRequest,
): Promise<Buffer> {
  const outOffset = align64(req.input.length);
  const outMax = maxOutputBytes(req.input.length);
  if (outOffset + outMax > req.memorySliceBytes) {
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `input of ${req.input.length} bytes does not fit the ${req.memorySliceBytes}-byte memory slice with its output`,
    );
  }
  if (outOffset + outMax > host.length) {
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `host buffer of ${host.length} bytes is too small for input and output`,
    );
  }
  if (req.input.length === 0) throw new RaError(DriverCode.INVALID_ARGUMENT, 'input is empty');
  const mem = { adapter: fabricPort, slice: req.memorySlice };
  const hostLoc = { host: host.handle };
  host.bytes.set(req.input, 0);
  await dma.submit({
    op: 'copy',
    ownerKey: req.ownerKey,
    src: hostLoc,
    srcOffset: 0,
    dst: mem,
    dstOffset: 0,
    bytes: req.input.length,
  });
  const done = await dma.submit({
    op: 'job',
    ownerKey: req.ownerKey,
    ctxSlice: req.engineSlice,
    src: mem,
    srcOffset: 0,
    bytes: req.input.length,
    dst: mem,
    dstOffset: outOffset,
    ...(req.params ? { params: req.params } : {}),
  });
  const outBytes = done.outBytes;
  await dma.submit({
    op: 'copy',
    ownerKey: req.ownerKey,
    src: mem,
    srcOffset: outOffset,
    dst: hostLoc,
    dstOffset: outOffset,
    bytes: outBytes,
  });
  return Buffer.from(host.bytes.subarray(outOffset, outOffset + outBytes));
}
