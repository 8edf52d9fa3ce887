// How many bytes a job needs in its memory slice (ra-spec §12, §12.1): a pure datasheet rule. The GRM
// sizes the scratch slice it reserves with it and the driver lays the slice out with it, so the two
// cannot disagree. Encoding a job's parameter bytes is the driver's business (src/driver/jobs.ts).
import type { FunctionName } from './functions.js';

/** ra-spec §12.1 DESC_INLINE_KEY_BYTES: the aes-256-gcm key block in front of the input. */
export const JOB_KEY_BLOCK_BYTES = 32;

/** matmul-f32 dimensions (ra-spec §12): an m×k by k×n product, m×n f32 out. */
export interface MatmulDims {
  m: number;
  n: number;
  k: number;
}

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/** Bytes reserved in front of the input for the aes-256-gcm key block (ra-spec §12.1). */
export function keyBlockBytes(fn: FunctionName): number {
  return fn === 'aes-256-gcm' ? JOB_KEY_BLOCK_BYTES : 0;
}

/** Offset of the output in the job's slice: after the key block and input, 64-byte aligned. */
export function outputOffsetBytes(fn: FunctionName, inputBytes: number): number {
  return align64(keyBlockBytes(fn) + inputBytes);
}

/**
 * Upper bound of the output an engine writes (ra-spec §12): matmul writes m*n f32 values; the other
 * engines at most their input (or a 32-byte digest) plus a 16-byte tag.
 */
export function maxOutputBytes(fn: FunctionName, inputBytes: number, dims?: MatmulDims): number {
  if (fn === 'matmul-f32' && dims) return dims.m * dims.n * 4;
  return Math.max(inputBytes, 32) + 16;
}

/** Bytes a job needs in its memory slice and host buffer: key block and input, then the output. */
export function jobBufferBytes(fn: FunctionName, inputBytes: number, dims?: MatmulDims): number {
  return outputOffsetBytes(fn, inputBytes) + maxOutputBytes(fn, inputBytes, dims);
}
