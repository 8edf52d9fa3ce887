// Function engines the adapter knows (ra-spec §12): names as clients use them <-> datasheet ids.
import { Fn } from './regs.js';

export const functionIds = {
  'aes-256-gcm': Fn.AES_256_GCM,
  sha256: Fn.SHA256,
  crc32c: Fn.CRC32C,
  pipeline: Fn.PIPELINE,
  'matmul-f32': Fn.MATMUL_F32,
} as const;

export type FunctionName = keyof typeof functionIds;

export const functionNames = Object.keys(functionIds) as FunctionName[];

export function functionName(id: number): FunctionName | undefined {
  return functionNames.find((name) => functionIds[name] === id);
}

export function isFunctionName(name: unknown): name is FunctionName {
  return typeof name === 'string' && Object.hasOwn(functionIds, name);
}

/** Functions hosted by programmable slots; matmul-f32 runs on the hardened compute units. */
export const slotFunctions: readonly FunctionName[] = ['aes-256-gcm', 'sha256', 'crc32c', 'pipeline'];
