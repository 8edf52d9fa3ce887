// JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the API's bodies. The data model (requests,
// allocations, placements, adapters) is src/common/schema/model.ts, the schemas the GRM validates
// requests against, used here as they are; the rest (errors, health, bitstreams) is the API's own.
import {
  accessGrantSchema,
  adapterViewSchema,
  allocatedResourceSchema,
  allocationPolicySchema,
  allocationRequestSchema,
  allocationSchema,
  jobRequestSchema,
  placementSchema,
  resizeRequestSchema,
  resourceRequestSchema,
} from '../common/schema/model.js';
import { MAX_GANG_MEMBERS, MAX_GANG_SEARCH_STEPS } from '../grm/gang-validate.js';

const count = { type: 'integer', minimum: 0 } as const;
const base64 = { type: 'string', contentEncoding: 'base64' } as const;

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
  AccessGrant: accessGrantSchema,
  AllocatedResource: allocatedResourceSchema,
  Allocation: allocationSchema,
  ResizeRequest: resizeRequestSchema,
  JobRequest: jobRequestSchema,
  JobResult: { type: 'object', required: ['output'], properties: { output: base64 } },
  AllocationEvent: {
    type: 'object',
    required: ['at', 'action', 'detail'],
    description: 'What reallocation did to an allocation (docs/realloc.md)',
    properties: {
      at: { type: 'string', format: 'date-time' },
      action: {
        enum: [
          'grew',
          'shrank',
          'preempted-shrink',
          'preempted-reclaim',
          'lease-expired',
          'idle-reclaimed',
          'adapter-lost',
          'replaced',
        ],
      },
      detail: { type: 'string' },
      resource: { type: 'integer', minimum: 0 },
      from: { type: 'integer', minimum: 0 },
      to: { type: 'integer', minimum: 0 },
    },
  },
  AdapterView: adapterViewSchema,
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
  // issue 15: gangs
  GangRequest: {
    type: 'object',
    required: ['members'],
    additionalProperties: false,
    description: 'Allocation requests granted all or nothing (docs/realloc.md)',
    properties: {
      members: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_GANG_MEMBERS,
        items: { $ref: '#/components/schemas/AllocationRequest' },
      },
      searchSteps: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_GANG_SEARCH_STEPS,
        description: 'Bound on the placements the backtracking search tries (default 2000)',
      },
    },
  },
  Gang: {
    type: 'object',
    required: ['id', 'allocations'],
    properties: {
      id: { type: 'string' },
      allocations: { type: 'array', items: { $ref: '#/components/schemas/Allocation' } },
    },
  },
} as const;
