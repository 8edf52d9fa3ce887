// The function engines the adapter knows (ra-spec §12), by the names clients use. The datasheet's
// numeric ids for them are the driver's business (src/driver/functions.ts).
export const functionNames = ['aes-256-gcm', 'sha256', 'crc32c', 'pipeline', 'matmul-f32'] as const;

export type FunctionName = (typeof functionNames)[number];

export function isFunctionName(name: unknown): name is FunctionName {
  return typeof name === 'string' && (functionNames as readonly string[]).includes(name);
}
