// Running one function job on slices the caller owns: input in by DMA, the engine, output back.
// A driver-level sequence (no policy): which slices to use is the caller's decision.

import type { MatmulDims } from '../common/job-scratch.js';
import * as jobLayout from '../common/job-scratch.js';
import type { DmaController } from './dma.js';
import { DriverCode, RaError } from './errors.js';
import type { FunctionName } from './functions.js';
import type { HostBuffer } from './hostmem.js';
import { Desc } from './regs.js';

export interface JobRequest {
  fn: FunctionName;
  /** Context slice (function engines) or compute slice (matmul-f32). */
  engineEntry: number;
  /** Memory slice on the same adapter used as the engine's input/output buffer. */
  memoryEntry: number;
  memorySliceBytes: number;
  ownerKey: bigint;
  input: Uint8Array;
  /** aes-256-gcm: 12-byte IV; matmul-f32: m, n, k as u32 LE. */
  params?: Uint8Array;
  /**
   * aes-256-gcm: the job's 32-byte key. It travels in the job's own memory slice, in front of the
   * input (DESC_F_INLINE_KEY, ra-spec §12.1): concurrent jobs on one context cannot swap keys.
   * Without it the engine uses the context's CMD_SLICE_SET_KEY key, which is only safe while one
   * job at a time uses the context.
   */
  key?: Uint8Array;
}

/** Bytes reserved in front of the input for the aes-256-gcm key block (ra-spec §12.1). */
export function keyBlockBytes(fn: FunctionName): number {
  return jobLayout.keyBlockBytes(fn);
}

/** matmul-f32 dimensions as the descriptor carries them (ra-spec §12): u32 m, n, k little-endian. */
export function matmulParams(m: number, n: number, k: number): Buffer {
  const p = Buffer.alloc(12);
  p.writeUInt32LE(m, 0);
  p.writeUInt32LE(n, 4);
  p.writeUInt32LE(k, 8);
  return p;
}

/** The matmul dimensions `params` carries (ra-spec §12), if it is matmul's 12-byte block. */
function dimsOf(fn: FunctionName, params?: Uint8Array): MatmulDims | undefined {
  if (fn !== 'matmul-f32' || !params || params.length < 12) return undefined;
  const b = Buffer.from(params.buffer, params.byteOffset, 12);
  return { m: b.readUInt32LE(0), n: b.readUInt32LE(4), k: b.readUInt32LE(8) };
}

/** Upper bound of the output an engine produces (ra-spec §12): matmul writes m*n f32 values. */
export function maxOutputBytes(fn: FunctionName, inputBytes: number, params?: Uint8Array): number {
  return jobLayout.maxOutputBytes(fn, inputBytes, dimsOf(fn, params));
}

/** Bytes a job needs in its memory slice and host buffer: key block and input, then the output. */
export function jobBufferBytes(fn: FunctionName, inputBytes: number, params?: Uint8Array): number {
  return jobLayout.jobBufferBytes(fn, inputBytes, dimsOf(fn, params));
}

/**
 * Stages the key block (aes-256-gcm) and `input` at offset 0 of the memory slice, runs the job,
 * writes the output after them and copies it back through `host` (which must hold
 * `jobBufferBytes`). Returns the output bytes.
 */
export async function runJob(
  dma: DmaController,
  fabricPort: number,
  host: HostBuffer,
  req: JobRequest,
): Promise<Buffer> {
  const keyBytes = req.key ? keyBlockBytes(req.fn) : 0;
  if (req.key && (keyBytes === 0 || req.key.length !== keyBytes))
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `key: only aes-256-gcm takes one, of ${Desc.INLINE_KEY_BYTES} bytes; got ${req.key.length} bytes for ${req.fn}`,
    );
  const stagedBytes = keyBytes + req.input.length;
  const outOffset = Math.ceil(stagedBytes / 64) * 64; // 64-byte aligned, as jobBufferBytes counts it
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
  const mem = { adapter: fabricPort, slice: req.memoryEntry };
  const hostLoc = { host: host.handle };
  if (req.key) host.bytes.set(req.key, 0);
  host.bytes.set(req.input, keyBytes);
  try {
    await dma.submit({
      op: 'copy',
      ownerKey: req.ownerKey,
      src: hostLoc,
      srcOffset: 0,
      dst: mem,
      dstOffset: 0,
      bytes: stagedBytes,
    });
  } finally {
    host.bytes.fill(0, 0, keyBytes); // the key stays only in the tenant's own slice
  }
  const done = await dma.submit({
    op: 'job',
    ownerKey: req.ownerKey,
    ctxSlice: req.engineEntry,
    src: mem,
    srcOffset: 0,
    bytes: stagedBytes,
    dst: mem,
    dstOffset: outOffset,
    ...(req.params ? { params: req.params } : {}),
    ...(keyBytes > 0 ? { inlineKey: true } : {}),
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
