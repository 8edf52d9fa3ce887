// JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the API's bodies. The data model (requests,
// allocations, placements) is the schema the GRM validates requests against (src/common/schema/
// model.ts), used here as it is; the rest (errors, health, adapters, bitstreams) is the API's own.
import {
  allocatedResourceSchema,
  allocationPolicySchema,
  allocationRequestSchema,
  allocationSchema,
  jobRequestSchema,
  placementSchema,
  resizeRequestSchema,
  resourceRequestSchema,
} from '../common/schema/model.js';

const count = { type: 'integer', minimum: 0 } as const;
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
  ResourceRequest: resourceRequestSchema,
  AllocationPolicy: allocationPolicySchema,
  AllocationRequest: allocationRequestSchema,
  Placement: placementSchema,
  AllocatedResource: allocatedResourceSchema,
  Allocation: allocationSchema,
  ResizeRequest: resizeRequestSchema,
  JobRequest: jobRequestSchema,
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
