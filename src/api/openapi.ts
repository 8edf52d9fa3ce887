// The OpenAPI 3.1 document served at /openapi.json. Tests check that every registered route is here
// and that every example request below is accepted by the server.
import { statusByCode } from './errors.js';
import { schemas } from './openapi-schemas.js';
import { uiPaths, uiSchemas } from './routes/ui-openapi.js';

const json = (schema: object, example?: unknown) => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, schema: object) => ({ description, content: json(schema) });
const failure = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** The error responses every authenticated operation can give. */
const common = {
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
const body = (name: string, example: unknown) => ({ required: true, content: json(ref(name), example) });

const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'rafabric GRM API',
    version: '1',
    description:
      'Allocate reconfigurable adapters (memory, compute units, accelerator functions, logic) pooled ' +
      'across servers, run jobs on them, and manage the bitstream catalog. Errors are always ' +
      '{"error":{"code","message","details"?}}; the status of each code is in x-status-by-code.',
  },
  'x-status-by-code': Object.fromEntries(statusByCode),
  security: [{ bearer: [] }],
  paths: {
    '/healthz': {
      get: {
        summary: 'GRM health (no auth)',
        security: [],
        responses: { '200': ok('Healthy', ref('Health')), '503': ok('Not healthy', ref('Health')) },
      },
    },
    '/openapi.json': {
      get: {
        summary: 'This document (no auth)',
        security: [],
        responses: { '200': ok('OpenAPI 3.1 document', { type: 'object' }) },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (no auth)',
        security: [],
        responses: {
          '200': {
            description: 'Prometheus text format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/v1/adapters': {
      get: {
        summary: 'The adapters in the pool',
        responses: { '200': ok('Adapters', { type: 'array', items: ref('AdapterView') }), ...common },
      },
    },
    '/v1/allocations': {
      get: {
        summary: "The caller's allocations",
        responses: { '200': ok('Allocations', { type: 'array', items: ref('Allocation') }), ...common },
      },
      post: {
        summary: 'Allocate resources',
        requestBody: body('AllocationRequest', {
          resources: [
            { kind: 'memory', bytes: 1073741824 },
            { kind: 'accelerator', function: 'aes-256-gcm' },
          ],
          policy: { allowSplit: true, leaseMs: 60000 },
        }),
        responses: {
          '201': ok('Allocated', ref('Allocation')),
          '404': failure('NotFound'),
          '409': failure('Conflict'),
          '502': failure('BadGateway'),
          ...withBody,
        },
      },
    },
    '/v1/allocations/{id}': {
      parameters: [idParameter],
      get: {
        summary: 'One allocation',
        responses: { '200': ok('Allocation', ref('Allocation')), '404': failure('NotFound'), ...common },
      },
      patch: {
        summary: 'Grow or shrink a memory or compute resource',
        requestBody: body('ResizeRequest', { resource: 0, bytes: 2147483648 }),
        responses: {
          '200': ok('Resized', ref('Allocation')),
          '404': failure('NotFound'),
          '409': failure('Conflict'),
          '502': failure('BadGateway'),
          ...withBody,
        },
      },
      delete: {
        summary: 'Release an allocation',
        responses: { '204': { description: 'Released' }, '404': failure('NotFound'), ...common },
      },
    },
    // issue 15
    '/v1/allocations/{id}/events': {
      parameters: [idParameter],
      get: {
        summary:
          'What reallocation did to the allocation (grew, shrank, preempted, reclaimed, lost), oldest first',
        responses: {
          '200': ok('Events', { type: 'array', items: ref('AllocationEvent') }),
          '404': failure('NotFound'),
          ...common,
        },
      },
    },
    // issue 13
    '/v1/allocations/{id}/grants': {
      parameters: [idParameter],
      get: {
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
        summary: "Run a job on the allocation's function engine",
        requestBody: body('JobRequest', { function: 'crc32c', input: 'aGVsbG8gd29ybGQ=' }),
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
        summary: 'The bitstream catalog',
        responses: { '200': ok('Bitstreams', { type: 'array', items: ref('BitstreamSummary') }), ...common },
      },
      post: {
        summary: 'Register a bitstream (verified against the trust store and signature policy)',
        requestBody: body('BitstreamRegistration', {
          descriptor: { id: 'my-crc', function: 'crc32c', version: '1.0.0' },
          image: 'UkFCSVQ=',
        }),
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
  },
  components: {
    schemas: { ...schemas, ...uiSchemas },
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A token given to your tenant (--tokens)' },
    },
    responses: {
      BadRequest: errorResponse(
        'Malformed JSON, a body that is not an object, a bad id or a field the GRM refused',
      ),
      Unauthorized: errorResponse('Missing or unknown bearer token'),
      Forbidden: errorResponse(
        'The bitstream is unsigned, or signed by an untrusted key, or its signature is bad; or the tenant is not an operator',
      ),
      NotFound: errorResponse(
        'No such allocation for this tenant, no such route, or no bitstream of that id this tenant may use',
      ),
      Conflict: errorResponse(
        'Not enough free resources, a state conflict, a lost allocation (ALLOCATION_LOST: only GET and DELETE), or a bitstream id or quota taken',
      ),
      PayloadTooLarge: errorResponse('The body is over the limit'),
      UnsupportedMediaType: errorResponse('The body is not application/json'),
      Internal: errorResponse('A server fault; details are in the log under details.requestId'),
      BadGateway: errorResponse('An adapter failed or refused the operation'),
      Unavailable: errorResponse('An adapter timed out, hung or went away; retry later'),
    },
  },
} as const;
