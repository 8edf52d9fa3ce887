// The function engines the adapter knows (ra-spec §12), by the names clients use. The datasheet's
// numeric ids for them are the driver's business (src/driver/functions.ts).
export const functionNames = ['aes-256-gcm', 'sha256', 'crc32c', 'pipeline', 'matmul-f32'] as const;

export type FunctionName = (typeof functionNames)[number];

export function isFunctionName(name: unknown): name is FunctionName {
  return typeof name === 'string' && (functionNames as readonly string[]).includes(name);
}

/**
 * Where each engine is (ra-spec §12): matmul-f32 on the hardened compute units (a compute slice runs
 * it), every other function in a programmable slot (a context slice of the slot runs it).
 */
export const slotFunctionNames = [
  'aes-256-gcm',
  'sha256',
  'crc32c',
  'pipeline',
] as const satisfies readonly FunctionName[];

export function isSlotFunction(fn: FunctionName): boolean {
  return (slotFunctionNames as readonly FunctionName[]).includes(fn);
}

/**
 * Functions a client asks for as kind "accelerator": the slot functions with a fixed contract. The
 * pipeline runs custom stages, so it comes with its bitstream (kind "logic"); matmul-f32 is kind
 * "compute".
 */
export const acceleratorFunctionNames = [
  'aes-256-gcm',
  'sha256',
  'crc32c',
] as const satisfies readonly FunctionName[];

export function isAcceleratorFunction(fn: unknown): boolean {
  return typeof fn === 'string' && (acceleratorFunctionNames as readonly string[]).includes(fn);
}
