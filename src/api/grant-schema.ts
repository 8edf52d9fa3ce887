// JSON Schema of an access grant (src/common/grant.ts), referenced from Placement.
const count = { type: 'integer', minimum: 0 } as const;
const sliceRef = {
  type: 'object',
  required: ['port', 'slice'],
  properties: { port: count, slice: count },
} as const;

export const accessGrantSchema = {
  type: 'object',
  description: 'Direct access to the placement through a tenant window (docs/access.md, ra-spec §18)',
  required: ['adapter', 'port', 'window', 'windowIndex', 'queue', 'slice', 'reach'],
  properties: {
    adapter: { type: 'string' },
    port: count,
    window: { type: 'string', description: 'tenant window file; its random name is the capability' },
    windowIndex: count,
    queue: count,
    slice: count,
    memory: {
      type: 'object',
      required: ['path', 'base', 'bytes'],
      properties: { path: { type: 'string' }, base: count, bytes: count },
    },
    reach: { type: 'array', items: sliceRef },
  },
} as const;
