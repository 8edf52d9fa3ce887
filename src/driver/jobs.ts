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

/** matmul-f32 dimensions as the descriptor carries them (ra-spec §12): u32 m, n, k little-endian. */
export function matmulParams(m: number, n: number, k: number): Buffer {
  const p = Buffer.alloc(12);
  p.writeUInt32LE(m, 0);
  p.writeUInt32LE(n, 4);
  p.writeUInt32LE(k, 8);
  return p;
}

/** Upper bound of the output an engine produces (ra-spec §12): matmul writes m*n f32 values. */
export function maxOutputBytes(fn: FunctionName, inputBytes: number, params?: Uint8Array): number {
  if (fn === 'matmul-f32' && params && params.length >= 12) {
    const dims = Buffer.from(params.buffer, params.byteOffset, 12);
    return dims.readUInt32LE(0) * dims.readUInt32LE(4) * 4;
  }
  return Math.max(inputBytes, 32) + 16;
}

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/** Bytes a job needs in its memory slice and host buffer: the input, then room for the output. */
export function jobBufferBytes(fn: FunctionName, inputBytes: number, params?: Uint8Array): number {
  return align64(inputBytes) + maxOutputBytes(fn, inputBytes, params);
}

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
  const outMax = maxOutputBytes(req.fn, req.input.length, req.params);
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
