// Function engines the adapter knows (ra-spec §12): names as clients use them (src/common/functions.ts)
// <-> datasheet ids.
import { type FunctionName, functionNames, isFunctionName } from '../common/functions.js';
import { Fn } from './regs.js';

export { type FunctionName, functionNames, isFunctionName };

export const functionIds: Record<FunctionName, number> = {
  'aes-256-gcm': Fn.AES_256_GCM,
  sha256: Fn.SHA256,
  crc32c: Fn.CRC32C,
  pipeline: Fn.PIPELINE,
  'matmul-f32': Fn.MATMUL_F32,
};

export function functionName(id: number): FunctionName | undefined {
  return functionNames.find((name) => functionIds[name] === id);
}
