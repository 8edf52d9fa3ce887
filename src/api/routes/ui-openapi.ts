// The dashboard's part of the OpenAPI document (openapi.ts merges it): the page, the view, the event
// log and its live stream.
import { transportResponses } from '../openapi-responses.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const failure = (name: string) => ({ $ref: `#/components/responses/${name}` });
const common = {
  ...transportResponses,
  '400': failure('BadRequest'),
  '401': failure('Unauthorized'),
  '404': failure('NotFound'),
  '500': failure('Internal'),
  '503': failure('Unavailable'),
};
const page = (operationId: string, summary: string, type: string) => ({
  get: {
    operationId,
    summary,
    security: [],
    responses: {
      '200': { description: summary, content: { [type]: { schema: { type: 'string' } } } },
      ...transportResponses,
    },
  },
});

export const uiSchemas = {
  GrmEvent: {
    type: 'object',
    required: ['seq', 'at', 'kind', 'allocation', 'tenant', 'adapters', 'detail'],
    properties: {
      seq: { type: 'integer', minimum: 1, description: 'Order of recording' },
      at: { type: 'string', format: 'date-time' },
      kind: {
        type: 'string',
        enum: ['allocated', 'released', 'resized', 'migrated', 'reclaimed', 'lost', 'replaced'],
      },
      allocation: { type: 'string' },
      tenant: { type: 'string' },
      adapters: { type: 'array', items: { type: 'string' } },
      detail: { type: 'string' },
    },
  },
  DashboardSlice: {
    type: 'object',
    required: ['kind', 'base', 'length', 'owner'],
    description:
      "A placement: memory bytes, compute units or a slot's contexts from base, length long. owner is own/other (tenant view) or allocation/unattributed (operator view); other carries no allocation id or tenant.",
    properties: {
      kind: { type: 'string', enum: ['memory', 'compute', 'context'] },
      base: { type: 'integer', minimum: 0 },
      length: { type: 'integer', minimum: 0 },
      slot: { type: 'integer', minimum: 0 },
      owner: { type: 'string', enum: ['own', 'other', 'allocation', 'unattributed'] },
      allocation: { type: 'string' },
      tenant: { type: 'string' },
    },
  },
  DashboardAdapter: {
    type: 'object',
    required: [
      'id',
      'server',
      'health',
      'memoryBytes',
      'computeUnits',
      'slots',
      'slices',
      'utilizationPercent',
      'utilization',
    ],
    properties: {
      id: { type: 'string' },
      server: { type: 'string' },
      health: { type: 'string', enum: ['healthy', 'degraded', 'unhealthy'] },
      memoryBytes: { type: 'integer', minimum: 0 },
      computeUnits: { type: 'integer', minimum: 0 },
      slots: {
        type: 'array',
        items: {
          type: 'object',
          required: ['index', 'state', 'contexts', 'contextsUsed'],
          properties: {
            index: { type: 'integer' },
            state: { type: 'string' },
            function: { type: 'string' },
            contexts: { type: 'integer' },
            contextsUsed: { type: 'integer' },
          },
        },
      },
      slices: { type: 'array', items: ref('DashboardSlice') },
      utilizationPercent: {
        type: ['number', 'null'],
        description:
          'Share of the last interval the slices were busy (ra-spec §10 SLICE_BUSY_NS), capped at 100',
      },
      utilization: {
        type: 'array',
        description: 'Up to 5 minutes of points, one a second while a stream is open or on each GET',
        items: {
          type: 'object',
          required: ['atMs', 'percent'],
          properties: { atMs: { type: 'integer' }, percent: { type: 'number', minimum: 0, maximum: 100 } },
        },
      },
    },
  },
  DashboardView: {
    type: 'object',
    required: ['viewer', 'at', 'adapters', 'allocations', 'events'],
    properties: {
      viewer: {
        type: 'object',
        required: ['tenant', 'role'],
        properties: { tenant: { type: 'string' }, role: { type: 'string', enum: ['operator', 'tenant'] } },
      },
      at: { type: 'string', format: 'date-time' },
      adapters: { type: 'array', items: ref('DashboardAdapter') },
      allocations: { type: 'array', items: ref('Allocation') },
      events: { type: 'array', items: ref('GrmEvent') },
    },
  },
};

export const uiPaths = {
  '/ui': page(
    'getDashboardPage',
    'The dashboard page (no auth: it asks for the token and keeps it in the tab)',
    'text/html',
  ),
  '/ui/app.js': page('getDashboardScript', "The dashboard page's script", 'text/javascript'),
  '/ui/style.css': page('getDashboardStyle', "The dashboard page's style sheet", 'text/css'),
  '/v1/dashboard': {
    get: {
      operationId: 'getDashboard',
      summary: 'The pool as the caller may see it: adapters, placements, utilization, allocations, events',
      responses: {
        '200': { description: 'The view', content: { 'application/json': { schema: ref('DashboardView') } } },
        ...common,
      },
    },
  },
  '/v1/events': {
    get: {
      operationId: 'listEvents',
      summary: "Recent GRM events (the last 500) of the caller's allocations; an operator's: all",
      responses: {
        '200': {
          description: 'Events, oldest first',
          content: { 'application/json': { schema: { type: 'array', items: ref('GrmEvent') } } },
        },
        ...common,
      },
    },
  },
  '/v1/events/stream': {
    get: {
      operationId: 'streamEvents',
      summary:
        'Server-sent events: a "view" event (a DashboardView as JSON) at once, every second and after every GRM event; "problem" when the pool cannot be read. Send the bearer token in the Authorization header (read the stream with fetch; EventSource cannot set it).',
      responses: {
        '200': {
          description: 'text/event-stream; data lines are DashboardView JSON',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        ...common,
      },
    },
  },
};
