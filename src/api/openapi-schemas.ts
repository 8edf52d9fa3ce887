// JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the API's bodies, mirroring src/grm/types.ts. They
// document the contract; the GRM, not these schemas, validates requests (GrmApi validates its input).

import { accessGrantSchema } from './grant-schema.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const count = { type: 'integer', minimum: 0 } as const;
const positive = { type: 'integer', minimum: 1 } as const;
const base64 = { type: 'string', contentEncoding: 'base64' } as const;
const totalFree = {
  type: 'object',
  required: ['total', 'free'],
  properties: { total: count, free: count },
} as const;

export const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', description: 'Stable code, e.g. NOT_FOUND or BITSTREAM_UNSIGNED' },
          message: { type: 'string', description: 'What was wrong and what to do next' },
          details: { type: 'object', additionalProperties: true },
        },
      },
    },
  },
  Health: {
    type: 'object',
    required: ['ok', 'adapters', 'unhealthy'],
    properties: {
      ok: { type: 'boolean' },
      adapters: count,
      unhealthy: count,
      store: {
        type: 'object',
        required: ['writable'],
        properties: { writable: { type: 'boolean' }, problem: { type: 'string' } },
      },
    },
  },
  ResourceRequest: {
    oneOf: [
      {
        type: 'object',
        required: ['kind', 'function'],
        properties: { kind: { const: 'accelerator' }, function: { type: 'string', maxLength: 256 } },
      },
      {
        type: 'object',
        required: ['kind', 'bytes'],
        properties: { kind: { const: 'memory' }, bytes: positive },
      },
      {
        type: 'object',
        required: ['kind', 'units'],
        properties: { kind: { const: 'compute' }, units: positive },
      },
      {
        type: 'object',
        required: ['kind', 'bitstream'],
        properties: { kind: { const: 'logic' }, bitstream: { type: 'string', maxLength: 256 } },
      },
    ],
  },
  AllocationPolicy: {
    type: 'object',
    properties: {
      sameServer: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description: 'Prefer adapters on this server',
      },
      maxAdapters: positive,
      allowSplit: { type: 'boolean', default: true },
      leaseMs: { ...count, description: 'Released automatically this many ms after it was created' },
      onAdapterFailure: {
        enum: ['fail', 'replace'],
        default: 'fail',
        description:
          'When an adapter holding part of it fails: mark the allocation lost, or replace the failed slices on healthy adapters (their contents are lost)',
      },
      idleReclaimMs: { ...count, description: 'Reclaim slices idle for longer than this' },
    },
  },
  AllocationRequest: {
    type: 'object',
    required: ['resources'],
    properties: {
      resources: { type: 'array', minItems: 1, maxItems: 64, items: ref('ResourceRequest') },
      policy: ref('AllocationPolicy'),
    },
  },
  Placement: {
    type: 'object',
    required: ['adapter', 'slice'],
    properties: {
      adapter: { type: 'string' },
      slice: count,
      offset: count,
      bytes: count,
      units: count,
      slot: count,
      context: count,
      contexts: count,
      grant: ref('AccessGrant'),
    },
  },
  AccessGrant: accessGrantSchema,
  AllocatedResource: {
    type: 'object',
    required: ['kind', 'placements'],
    properties: {
      kind: { enum: ['accelerator', 'memory', 'compute', 'logic'] },
      function: { type: 'string' },
      bitstream: { type: 'string' },
      bytes: count,
      units: count,
      placements: { type: 'array', items: ref('Placement') },
    },
  },
  Allocation: {
    type: 'object',
    required: ['id', 'tenant', 'state', 'resources', 'policy', 'createdAt'],
    properties: {
      id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
      tenant: { type: 'string' },
      state: { enum: ['active', 'released', 'lost'] },
      resources: { type: 'array', items: ref('AllocatedResource') },
      policy: ref('AllocationPolicy'),
      createdAt: { type: 'string', format: 'date-time' },
      leaseExpiresAt: { type: 'string', format: 'date-time' },
    },
  },
  ResizeRequest: {
    type: 'object',
    required: ['resource'],
    description: 'Give bytes for a memory resource, units for a compute resource',
    properties: { resource: count, bytes: positive, units: positive },
  },
  JobRequest: {
    type: 'object',
    required: ['function', 'input'],
    properties: {
      function: { type: 'string' },
      params: {
        type: 'object',
        properties: { key: base64, iv: base64, m: positive, n: positive, k: positive },
      },
      input: base64,
    },
  },
  JobResult: { type: 'object', required: ['output'], properties: { output: base64 } },
  AdapterView: {
    type: 'object',
    required: ['id', 'server', 'health', 'memory', 'computeUnits', 'slots', 'slices'],
    properties: {
      id: { type: 'string' },
      server: { type: 'string' },
      health: { enum: ['healthy', 'degraded', 'unhealthy'] },
      memory: { ...totalFree, description: 'bytes' },
      computeUnits: totalFree,
      slots: totalFree,
      slices: {
        type: 'array',
        items: {
          type: 'object',
          required: ['entry', 'kind', 'state', 'base', 'length'],
          properties: {
            entry: count,
            kind: { type: 'string' },
            state: { type: 'string' },
            base: count,
            length: count,
            slot: count,
            allocation: { type: 'string', description: "Shown only for the caller's own allocations" },
          },
        },
      },
    },
  },
  BitstreamSummary: {
    type: 'object',
    required: ['id', 'function', 'version', 'signed'],
    properties: {
      id: { type: 'string' },
      function: { type: 'string' },
      version: { type: 'string' },
      signed: { type: 'boolean' },
    },
  },
  BitstreamRegistration: {
    type: 'object',
    required: ['descriptor', 'image'],
    description: 'A descriptor (docs/bitstreams.md) and its image file, base64',
    properties: { descriptor: { type: 'object' }, image: base64 },
  },
  BitstreamRegistered: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
} as const;
