// JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the API's bodies. The data model (requests,
// allocations, placements, adapters) is src/common/schema/model.ts, the schemas the GRM validates
// requests against; here they become OpenAPI components (componentize below); the rest (errors,
// health, bitstreams) is the API's own.
import {
  accessGrantSchema,
  adapterViewSchema,
  allocatedResourceSchema,
  allocationPolicySchema,
  allocationRequestSchema,
  allocationSchema,
  elasticPolicySchema,
  jobRequestSchema,
  placementSchema,
  resizeRequestSchema,
  resourceRequestSchema,
} from '../common/schema/model.js';
import { allocationEventActions } from '../grm/elastic/events.js';
import { MAX_GANG_MEMBERS, MAX_GANG_SEARCH_STEPS } from '../grm/gang-validate.js';

const count = { type: 'integer', minimum: 0 } as const;
const base64 = { type: 'string', contentEncoding: 'base64' } as const;

type Json = Record<string, unknown>;

/**
 * The branches of a discriminated oneOf as components, named after their tag value ("memory" ->
 * MemoryRequest) unless `names` says otherwise: a branch another helper adds gets a name too.
 */
function branchComponents(
  schema: unknown,
  suffix: string,
  names: Record<string, string> = {},
): Record<string, unknown> {
  const { discriminator, oneOf } = schema as { discriminator: { propertyName: string }; oneOf: Json[] };
  return Object.fromEntries(
    oneOf.map((branch) => {
      const tag = (branch.properties as Record<string, Json>)[discriminator.propertyName]!;
      const first = String('const' in tag ? tag.const : (tag.enum as unknown[])[0]);
      const pascal = first.replace(/(^|[^A-Za-z0-9])([A-Za-z0-9])/g, (_m, _sep, c: string) =>
        c.toUpperCase(),
      );
      return [names[first] ?? `${pascal}${suffix}`, branch];
    }),
  );
}

/**
 * The data model's schemas under their component names. A schema nested in another (the policy of an
 * allocation, a branch of a oneOf) is found by identity and written as a $ref to its component, so
 * each is described once and generated clients get one named type for it.
 */
const modelComponents: Record<string, unknown> = {
  ...branchComponents(resourceRequestSchema, 'Request'),
  ResourceRequest: resourceRequestSchema,
  ElasticPolicy: elasticPolicySchema,
  AllocationPolicy: allocationPolicySchema,
  AllocationRequest: allocationRequestSchema,
  Placement: placementSchema,
  AccessGrant: accessGrantSchema,
  AllocatedResource: allocatedResourceSchema,
  Allocation: allocationSchema,
  ResizeRequest: resizeRequestSchema,
  ...branchComponents(jobRequestSchema, 'Job', {
    'aes-256-gcm': 'AesGcmJob',
    'matmul-f32': 'MatmulJob',
    sha256: 'StreamJob',
  }),
  JobRequest: jobRequestSchema,
  AdapterView: adapterViewSchema,
};

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const refTo = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * One model schema as an OpenAPI component (a copy; the model's objects are shared and frozen in
 * spirit):
 * - nested schemas that are components become $refs;
 * - a discriminator gets its mapping (tag value -> component), which OpenAPI tools need to pick a
 *   branch and which ajv, validating the same model in the GRM, does not accept;
 * - `default` becomes words in the description. In JSON Schema it only says what the server assumes
 *   when a field is absent, and the server never fills it in (a response's policy is the policy that
 *   was sent), but openapi-typescript and others read it as "always present" and make the field
 *   required in requests: a client sending `policy: {leaseMs: 1000}` would not compile.
 */
function componentize(schema: unknown, byIdentity: Map<unknown, string>, root: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => componentize(s, byIdentity, false));
  if (!isObject(schema)) return schema;
  const name = byIdentity.get(schema);
  if (name !== undefined && !root) return refTo(name);
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'default') continue;
    if (key === 'properties' || key === '$defs') {
      // A map of property name -> schema: the names are not keywords (a property may be called "default").
      out[key] = Object.fromEntries(
        Object.entries(value as Json).map(([k, v]) => [k, componentize(v, byIdentity, false)]),
      );
    } else if (key === 'discriminator') {
      out[key] = { ...(value as Json), mapping: mappingOf(schema, byIdentity) };
    } else if (key === 'const' || key === 'enum' || key === 'examples' || key.startsWith('x-')) {
      out[key] = value; // values, not schemas
    } else {
      out[key] = componentize(value, byIdentity, false);
    }
  }
  if ('default' in schema) {
    const absent = `Absent: ${JSON.stringify(schema.default)}.`;
    out.description = typeof out.description === 'string' ? `${out.description}. ${absent}` : absent;
  }
  return out;
}

/** tag value -> $ref of the branch that has it, for a discriminated oneOf of components. */
function mappingOf(schema: Json, byIdentity: Map<unknown, string>): Record<string, string> {
  const tag = (schema.discriminator as { propertyName: string }).propertyName;
  const mapping: Record<string, string> = {};
  for (const branch of schema.oneOf as Json[]) {
    const name = byIdentity.get(branch);
    if (name === undefined) throw new Error(`a branch of a discriminated oneOf on ${tag} is not a component`);
    const property = (branch.properties as Record<string, Json>)[tag]!;
    const values = 'const' in property ? [property.const] : (property.enum as unknown[]);
    for (const value of values) mapping[String(value)] = refTo(name).$ref;
  }
  return mapping;
}

const byIdentity = new Map<unknown, string>(
  Object.entries(modelComponents).map(([name, schema]) => [schema, name]),
);
const fromModel = Object.fromEntries(
  Object.entries(modelComponents).map(([name, schema]) => [name, componentize(schema, byIdentity, true)]),
);

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
  ...fromModel,
  JobResult: { type: 'object', required: ['output'], properties: { output: base64 } },
  AllocationEvent: {
    type: 'object',
    required: ['at', 'action', 'detail'],
    description: 'What reallocation did to an allocation (docs/realloc.md)',
    properties: {
      at: { type: 'string', format: 'date-time' },
      action: { enum: [...allocationEventActions] },
      detail: { type: 'string' },
      resource: { type: 'integer', minimum: 0 },
      from: { type: 'integer', minimum: 0 },
      to: { type: 'integer', minimum: 0 },
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
