// The OpenAPI 3.1 document served at /openapi.json. Tests check that every registered route is here
// and that every example request below is accepted by the server.
import { statusByCode } from './errors.js';
import { transportResponses } from './openapi-responses.js';
import { schemas } from './openapi-schemas.js';
import {
  ALLOCATION_BODY_LIMIT_BYTES,
  BITSTREAM_BODY_LIMIT_BYTES,
  GANG_BODY_LIMIT_BYTES,
} from './routes/limits.js';
import { tenantPaths, tenantSchemas } from './routes/tenants-openapi.js';
import { uiPaths, uiSchemas } from './routes/ui-openapi.js';

const json = (schema: object, example?: unknown) => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, schema: object) => ({ description, content: json(schema) });
const failure = (name: string) => ({ $ref: `#/components/responses/${name}` });

const transport = transportResponses;

/** The error responses every authenticated operation can give. */
const common = {
  ...transport,
  '400': failure('BadRequest'),
  '401': failure('Unauthorized'),
  '500': failure('Internal'),
  '503': failure('Unavailable'),
};
const withBody = { ...common, '413': failure('PayloadTooLarge'), '415': failure('UnsupportedMediaType') };
const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Allocation id',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  example: 'a1b2c3',
};
/** A JSON request body and the most bytes the route reads (more is 413 before parsing: routes/limits.ts). */
const body = (name: string, example: unknown, limit: string) => ({
  required: true,
  description: `At most ${limit}; a larger body is 413 PAYLOAD_TOO_LARGE`,
  content: json(ref(name), example),
});
const JOB_BODY_LIMIT = 'the server body limit (64 MiB by default)';

const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'rafabric GRM API',
    version: '1',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    description:
      'Allocate reconfigurable adapters (memory, compute units, accelerator functions, logic) pooled ' +
      'across servers, run jobs on them, and manage the bitstream catalog. Errors are always ' +
      '{"error":{"code","message","details"?}}; the status of each code is in x-status-by-code. ' +
      'Request bodies are JSON objects whose unknown fields are refused (400 INVALID_REQUEST naming ' +
      'them), never ignored. A method a path does not list is refused with 405 METHOD_NOT_ALLOWED and ' +
      'an Allow header naming the methods it takes; a path not listed here is 404 NOT_FOUND.',
  },
  servers: [{ url: 'http://127.0.0.1:7470', description: '`rafabric serve` on its default address' }],
  'x-status-by-code': Object.fromEntries(statusByCode),
  security: [{ bearer: [] }],
  paths: {
    '/healthz': {
      get: {
        operationId: 'getHealth',
        summary: 'GRM health (no auth)',
        security: [],
        responses: {
          '200': ok('Healthy', ref('Health')),
          ...transport,
          '503': ok('Not healthy', ref('Health')),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This document (no auth)',
        security: [],
        responses: { '200': ok('OpenAPI 3.1 document', { type: 'object' }), ...transport },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        summary:
          'Prometheus metrics: no auth by default; with serve --metrics-token, that token or an operator token',
        security: [{}, { bearer: [] }],
        responses: {
          '200': {
            description: 'Prometheus text format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...transport,
          '401': failure('Unauthorized'),
        },
      },
    },
    '/v1/adapters': {
      get: {
        operationId: 'listAdapters',
        summary:
          'The adapters in the pool: capacity for everyone; in the slice tables a tenant sees its own slices only, an operator every slice',
        responses: { '200': ok('Adapters', { type: 'array', items: ref('AdapterView') }), ...common },
      },
    },
    '/v1/allocations': {
      get: {
        operationId: 'listAllocations',
        summary: "The caller's allocations (an operator's: every tenant's)",
        responses: { '200': ok('Allocations', { type: 'array', items: ref('Allocation') }), ...common },
      },
      post: {
        operationId: 'createAllocation',
        summary: 'Allocate resources',
        requestBody: body(
          'AllocationRequest',
          {
            resources: [
              { kind: 'memory', bytes: 1073741824 },
              { kind: 'accelerator', function: 'aes-256-gcm' },
            ],
            policy: { allowSplit: true, leaseMs: 60000 },
          },
          `${ALLOCATION_BODY_LIMIT_BYTES} bytes`,
        ),
        responses: {
          '201': ok('Allocated', ref('Allocation')),
          '404': failure('NotFound'),
          '409': failure('Conflict'),
          '429': failure('QuotaExceeded'),
          '502': failure('BadGateway'),
          ...withBody,
        },
      },
    },
    '/v1/allocations/{id}': {
      parameters: [idParameter],
      get: {
        operationId: 'getAllocation',
        summary: "One allocation (an operator: any tenant's)",
        responses: { '200': ok('Allocation', ref('Allocation')), '404': failure('NotFound'), ...common },
      },
      patch: {
        operationId: 'resizeAllocation',
        summary: 'Grow or shrink a memory or compute resource',
        requestBody: body(
          'ResizeRequest',
          { resource: 0, bytes: 2147483648 },
          `${ALLOCATION_BODY_LIMIT_BYTES} bytes`,
        ),
        responses: {
          '200': ok('Resized', ref('Allocation')),
          '404': failure('NotFound'),
          '409': failure('Conflict'),
          '429': failure('QuotaExceeded'),
          '502': failure('BadGateway'),
          ...withBody,
        },
      },
      delete: {
        operationId: 'releaseAllocation',
        summary: "Release an allocation (an operator: any tenant's)",
        responses: { '204': { description: 'Released' }, '404': failure('NotFound'), ...common },
      },
    },
    // issue 15
    '/v1/allocations/{id}/events': {
      parameters: [idParameter],
      get: {
        operationId: 'listAllocationEvents',
        summary:
          'What reallocation did to the allocation (grew, shrank, preempted, reclaimed, lost), oldest first',
        responses: {
          '200': ok('Events', { type: 'array', items: ref('AllocationEvent') }),
          '404': failure('NotFound'),
          ...common,
        },
      },
    },
    // issue 15
    '/v1/gangs': {
      post: {
        operationId: 'createGang',
        summary: 'Allocate several allocations all or nothing (409 with nothing allocated)',
        requestBody: body(
          'GangRequest',
          {
            members: [
              { resources: [{ kind: 'compute', units: 2 }] },
              { resources: [{ kind: 'compute', units: 2 }] },
            ],
            searchSteps: 2000,
          },
          `${GANG_BODY_LIMIT_BYTES} bytes`,
        ),
        responses: {
          '201': ok('Allocated', ref('Gang')),
          '404': failure('NotFound'),
          '409': failure('Conflict'),
          '502': failure('BadGateway'),
          ...withBody,
        },
      },
    },
    '/v1/gangs/{id}': {
      parameters: [{ ...idParameter, description: 'Gang id', example: 'g-a1b2c3' }],
      get: {
        operationId: 'getGang',
        summary: 'The members of a gang still held',
        responses: { '200': ok('Gang', ref('Gang')), '404': failure('NotFound'), ...common },
      },
      delete: {
        operationId: 'releaseGang',
        summary: 'Release every member of a gang',
        responses: { '204': { description: 'Released' }, '404': failure('NotFound'), ...common },
      },
    },
    // issue 13
    '/v1/allocations/{id}/grants': {
      parameters: [idParameter],
      get: {
        operationId: 'getAllocationGrants',
        summary:
          "The allocation with an access grant on each placement (tenant window, queue, slice, memory range): the instance's direct path (docs/access.md). Windows are opened on first request; only the owning tenant gets them",
        responses: {
          '200': ok('Allocation with grants', ref('Allocation')),
          '404': failure('NotFound'),
          '409': failure('Conflict'),
          '502': failure('BadGateway'),
          ...common,
        },
      },
    },
    '/v1/allocations/{id}/jobs': {
      parameters: [idParameter],
      post: {
        operationId: 'runJob',
        summary: "Run a job on the allocation's function engine",
        requestBody: body('JobRequest', { function: 'crc32c', input: 'aGVsbG8gd29ybGQ=' }, JOB_BODY_LIMIT),
        responses: {
          '200': ok('Job output', ref('JobResult')),
          '404': failure('NotFound'),
          '409': failure('Conflict'),
          '502': failure('BadGateway'),
          ...withBody,
        },
      },
    },
    '/v1/bitstreams': {
      get: {
        operationId: 'listBitstreams',
        summary: 'The bitstream catalog',
        responses: { '200': ok('Bitstreams', { type: 'array', items: ref('BitstreamSummary') }), ...common },
      },
      post: {
        operationId: 'registerBitstream',
        summary: 'Register a bitstream (verified against the trust store and signature policy)',
        requestBody: body(
          'BitstreamRegistration',
          { descriptor: { id: 'my-crc', function: 'crc32c', version: '1.0.0' }, image: 'UkFCSVQ=' },
          `${BITSTREAM_BODY_LIMIT_BYTES} bytes (the staging window's image as base64, plus the descriptor)`,
        ),
        responses: {
          '201': ok('Registered', ref('BitstreamRegistered')),
          '403': failure('Forbidden'),
          '404': failure('NotFound'),
          '409': failure('Conflict'),
          ...withBody,
        },
      },
    },
    '/v1/bitstreams/{id}/publish': {
      parameters: [
        {
          name: 'id',
          in: 'path',
          required: true,
          description: 'A bitstream id',
          schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{0,62}$' },
        },
      ],
      post: {
        operationId: 'publishBitstream',
        summary: "Operators only: make a tenant's bitstream usable by every tenant",
        responses: {
          '200': ok('Published', ref('BitstreamRegistered')),
          '403': failure('Forbidden'),
          '404': failure('NotFound'),
          ...common,
        },
      },
    },
    ...uiPaths,
    ...tenantPaths,
  },
  components: {
    schemas: { ...schemas, ...uiSchemas, ...tenantSchemas },
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A token given to your tenant (--tokens)' },
    },
    responses: {
      BadRequest: errorResponse(
        'Malformed JSON, a body that is not an object, a bad id or a field the GRM refused',
      ),
      Unauthorized: errorResponse('Missing or unknown bearer token'),
      Forbidden: errorResponse(
        'The bitstream is unsigned, or signed by an untrusted key, or its signature is bad; or the tenant is not an operator (operators only: publish, GET /v1/tenants, PUT quota)',
      ),
      NotFound: errorResponse(
        'No such allocation for this tenant, no such route, or no bitstream of that id this tenant may use',
      ),
      Conflict: errorResponse(
        'Not enough free resources, a state conflict, a lost allocation (ALLOCATION_LOST: only GET and DELETE), or a bitstream id or quota taken',
      ),
      PayloadTooLarge: errorResponse('The body is over the limit'),
      QuotaExceeded: errorResponse(
        "QUOTA_EXCEEDED: the tenant's quota (bytes, units, contexts, slice entries or allocations) would be passed; nothing changed. details: field, quota, used, asked",
      ),
      UnsupportedMediaType: errorResponse('The body is not application/json'),
      Internal: errorResponse('A server fault; details are in the log under details.requestId'),
      BadGateway: errorResponse('An adapter failed or refused the operation'),
      Unavailable: errorResponse('An adapter timed out, hung or went away; retry later'),
    },
  },
} as const;
