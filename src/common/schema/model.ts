// The data model, written once as JSON Schema (2020-12, the dialect of OpenAPI 3.1): what clients ask
// for (allocation, resize and job requests), what they get back (allocations and their placements) and
// what the store keeps (the same allocation with its owner key, and intents). Everything else derives
// from these objects: the GRM's and the RVL's request validation (ajv, validator.ts), the store's record
// checks (src/store/validate.ts), the OpenAPI components (src/api/openapi-schemas.ts) and the TypeScript
// types (types.ts, json-schema-to-ts). A new field is one edit here.
//
// Conventions: every object lists its properties with additionalProperties false (a typo is refused,
// not ignored); sizes are bytes as JSON numbers, exact below 2^53; `x-rule` is the refusal in words
// where the schema alone would only print a regular expression; `description` documents a field in
// the OpenAPI document. What a schema cannot say (cross-field limits, a job's input size) is checked
// after it by small named functions in the layer that owns the rule.
import { acceleratorFunctionNames } from '../functions.js';

/** Largest integer a JSON number carries exactly (2^53 - 1). */
export const MAX_EXACT_INTEGER = Number.MAX_SAFE_INTEGER;
/** Longest name (server, function, bitstream, adapter id) a request may carry. */
export const MAX_NAME_LENGTH = 256;
/** Most resources one allocation may ask for. */
export const MAX_RESOURCES = 64;
/** Longest lease or idle time a policy may give: one year. */
export const MAX_POLICY_MS = 365 * 24 * 3600 * 1000;
/** Largest matmul dimension a job may give (the compute units' limit). */
export const MAX_MATMUL_DIMENSION = 4096;

/** Allocation ids: what the GRM makes (`a-` and 12 hex digits) and what a URL path may carry. */
export const ALLOCATION_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

const positiveInteger = { type: 'integer', minimum: 1, maximum: MAX_EXACT_INTEGER } as const;
const count = { type: 'integer', minimum: 0, maximum: MAX_EXACT_INTEGER } as const;
const name = { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH } as const;
const nonEmpty = { type: 'string', minLength: 1 } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;
const milliseconds = { type: 'integer', minimum: 1, maximum: MAX_POLICY_MS } as const;

// ---- requests -------------------------------------------------------------------------------------

/** Longest selector expression (docs/grm.md "Request language"); its parse also bounds its nodes. */
export const MAX_SELECTOR_LENGTH = 1024;
/** Most alternatives one firstAvailable resource may list (each may be planned once). */
export const MAX_ALTERNATIVES = 8;
/** Most hard constraints one request may carry. */
export const MAX_CONSTRAINTS = 8;
/** Most whole adapters one resource may ask for by count. */
export const MAX_WHOLE_ADAPTERS = 64;
/** Adapter attributes a constraint may match across resources (src/rvl/attributes.ts publishes them). */
/** Fabric zone of an adapter whose agent names none: one fabric, one zone. */
export const DEFAULT_ZONE = 'default';
export const MATCHABLE_ATTRIBUTES = ['server', 'zone', 'model', 'firmware'] as const;

/**
 * Where a resource may go, on top of what it needs: a selector over the adapters' attributes and
 * capacity (src/rvl/selector.ts), and an operator-defined request class whose selector is added to it.
 */
const selection = {
  selector: {
    type: 'string',
    minLength: 1,
    maxLength: MAX_SELECTOR_LENGTH,
    description:
      'Only adapters for which this expression is true (a subset of CEL, docs/grm.md "Selectors"), ' +
      'e.g. `zone == "z1" && freeMemoryBytes >= 4294967296`',
  },
  class: {
    ...name,
    description: 'Operator-defined request class (serve --request-classes): its selector applies too',
  },
} as const;

const acceleratorRequest = {
  type: 'object',
  required: ['kind', 'function'],
  additionalProperties: false,
  properties: {
    ...selection,
    kind: { const: 'accelerator' },
    function: {
      enum: acceleratorFunctionNames,
      'x-rule': `must be one of ${acceleratorFunctionNames.join(', ')} (matmul is kind "compute"; custom logic is kind "logic")`,
    },
  },
} as const;

export const memoryRequestSchema = {
  type: 'object',
  required: ['kind', 'bytes'],
  additionalProperties: false,
  properties: { ...selection, kind: { const: 'memory' }, bytes: positiveInteger },
} as const;

export const computeRequestSchema = {
  type: 'object',
  required: ['kind', 'units'],
  additionalProperties: false,
  properties: {
    ...selection,
    kind: { const: 'compute' },
    units: { ...positiveInteger, description: 'Compute units' },
  },
} as const;

export const logicRequestSchema = {
  type: 'object',
  required: ['kind', 'bitstream'],
  additionalProperties: false,
  properties: {
    ...selection,
    kind: { const: 'logic' },
    bitstream: { ...name, description: 'Catalog id of the bitstream to load into a slot' },
  },
} as const;

/**
 * Whole adapters (DRA allocation modes ExactCount and All): every byte of memory and every compute
 * unit of each, in one slice per kind; no other allocation's contexts enter their slots. With
 * adminAccess (operators only) the adapters are watched, not taken: no capacity, in use or not.
 */
export const adapterRequestSchema = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  properties: {
    ...selection,
    kind: { const: 'adapter' },
    allocationMode: {
      enum: ['exactCount', 'all'],
      description: 'exactCount (absent): `count` adapters; all: every adapter the selector matches',
    },
    count: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_WHOLE_ADAPTERS,
      description: 'Adapters to take with allocationMode exactCount (absent: 1)',
    },
    adminAccess: {
      type: 'boolean',
      description: 'Monitoring access to adapters already in use, taking no capacity (operator tokens only)',
    },
  },
} as const;

const plainResources = [
  acceleratorRequest,
  memoryRequestSchema,
  computeRequestSchema,
  logicRequestSchema,
  adapterRequestSchema,
] as const;

/** Prioritized alternatives (DRA firstAvailable): the first that fits is granted. */
const firstAvailableRequest = {
  type: 'object',
  required: ['kind', 'alternatives'],
  additionalProperties: false,
  properties: {
    kind: { const: 'firstAvailable' },
    alternatives: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_ALTERNATIVES,
      description: 'In order of preference; the allocation says which one it holds (`alternative`)',
      items: { type: 'object', discriminator: { propertyName: 'kind' }, oneOf: plainResources },
    },
  },
} as const;

/** One resource a client asks for: what it needs, never where (DESIGN.md "Requests"). */
export const resourceRequestSchema = {
  type: 'object',
  discriminator: { propertyName: 'kind' },
  oneOf: [...plainResources, firstAvailableRequest],
} as const;

/** Hard constraints across resources (DRA matchAttribute): a plan that breaks one is no plan. */
export const constraintsSchema = {
  type: 'array',
  maxItems: MAX_CONSTRAINTS,
  description: 'Hard constraints across the resources of this request (docs/grm.md "Constraints")',
  items: {
    type: 'object',
    required: ['matchAttribute'],
    additionalProperties: false,
    properties: {
      matchAttribute: {
        enum: MATCHABLE_ATTRIBUTES,
        description: 'Every slice of the named resources lies on adapters with one value of it',
      },
      resources: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_RESOURCES,
        uniqueItems: true,
        items: { type: 'integer', minimum: 0, maximum: MAX_RESOURCES - 1 },
        description: 'Indices into resources (absent: every resource)',
      },
    },
  },
} as const;

/** The policy fields the placement planner (src/rvl) reads; the allocation policy adds the GRM's. */
export const placementPolicyProperties = {
  sameServer: { ...name, description: 'Server the instance runs on: adapters there are preferred' },
  maxAdapters: { ...positiveInteger, description: 'Most adapters the whole allocation may span' },
  allowSplit: {
    type: 'boolean',
    default: true,
    description: 'Spread memory/compute over several adapters when no single one fits',
  },
} as const;

/** Highest allocation priority (policy.priority). */
export const MAX_PRIORITY = 1000;
/** Highest utilization an elastic policy may steer toward: a saturated slice must read above the band. */
export const MAX_TARGET_UTILIZATION = 0.95;
/** Longest elastic cooldown: one day. */
export const MAX_COOLDOWN_MS = 24 * 3600 * 1000;

/** An elastic resource's bounds and steering, in its unit (src/grm/elastic/policy.ts decides with them). */
export const elasticPolicySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['min', 'max', 'targetUtilization', 'cooldownMs'],
  properties: {
    min: { ...positiveInteger, description: 'Never fewer than this, by the policy or by preemption' },
    max: { ...positiveInteger, description: 'Never more than this' },
    targetUtilization: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: MAX_TARGET_UTILIZATION,
      description: 'Busy share the policy steers toward (ra-spec §10 SLICE_BUSY_NS over a window)',
    },
    cooldownMs: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_COOLDOWN_MS,
      description: 'Least time between a change and a shrink, or between a shrink and a grow',
    },
  },
} as const;

export const allocationPolicySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...placementPolicyProperties,
    leaseMs: {
      ...milliseconds,
      description: 'Lease: the allocation is released automatically this many ms after it was created',
    },
    onAdapterFailure: {
      enum: ['fail', 'replace'],
      default: 'fail',
      description:
        'When an adapter holding part of the allocation turns unhealthy: mark the allocation lost, or ' +
        'program the failed slices again on healthy adapters (the memory contents there are lost)',
    },
    idleReclaimMs: {
      ...milliseconds,
      description: "Reclaim the allocation's slices when idle for longer than this (absent: never)",
    },
    elastic: {
      type: 'object',
      additionalProperties: false,
      description:
        'Resize resources of a kind with their utilization instead of releasing them when idle ' +
        '(docs/realloc.md): compute units and accelerator contexts; memory is never elastic (its contents matter)',
      properties: { compute: elasticPolicySchema, accelerator: elasticPolicySchema },
    },
    priority: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_PRIORITY,
      default: 0,
      description: 'Higher goes first: may shrink or reclaim preemptible allocations of lower priority',
    },
    preemptible: {
      type: 'boolean',
      default: false,
      description: 'May be shrunk to its elastic min or reclaimed for an allocation of higher priority',
    },
    movable: {
      type: 'boolean',
      default: true,
      description:
        'May the GRM move its memory slices to defragment the pool for a request that finds no extent large ' +
        'enough (docs/realloc.md): contents copied by DMA, grants revoked (request them again); false pins them',
    },
  },
} as const;

export const allocationRequestSchema = {
  type: 'object',
  required: ['resources'],
  additionalProperties: false,
  properties: {
    resources: { type: 'array', minItems: 1, maxItems: MAX_RESOURCES, items: resourceRequestSchema },
    constraints: constraintsSchema,
    policy: allocationPolicySchema,
  },
} as const;

export const resizeRequestSchema = {
  type: 'object',
  required: ['resource'],
  additionalProperties: false,
  description: 'Give bytes for a memory resource, units for a compute resource (exactly one)',
  properties: {
    resource: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_RESOURCES - 1,
      description: "Index into the allocation's resources",
      'x-rule': 'must be the index of a memory or compute resource',
    },
    bytes: positiveInteger,
    units: positiveInteger,
  },
} as const;

/** Largest job input, bytes (src/grm/validate.ts checks the decoded length). */
export const MAX_JOB_INPUT_BYTES = 32 * 1024 * 1024;
const jobInput = {
  type: 'string',
  contentEncoding: 'base64',
  minLength: 1,
  maxLength: Math.ceil(MAX_JOB_INPUT_BYTES / 3) * 4,
  description: `The input, base64 (standard alphabet): 1 to ${MAX_JOB_INPUT_BYTES} bytes`,
  'x-rule': `must be base64 of 1 to ${MAX_JOB_INPUT_BYTES} bytes`,
} as const;
const dimension = { type: 'integer', minimum: 1, maximum: MAX_MATMUL_DIMENSION } as const;

/** Job parameters of each function; a function without parameters takes none. */
const aesJob = {
  type: 'object',
  required: ['function', 'input'],
  additionalProperties: false,
  properties: {
    function: { const: 'aes-256-gcm' },
    params: {
      type: 'object',
      required: ['key', 'iv'],
      additionalProperties: false,
      properties: {
        key: {
          type: 'string',
          pattern: '^[0-9a-fA-F]{64}$',
          description: 'The 32-byte key as 64 hex digits (as `openssl rand -hex 32` prints), not base64',
          'x-rule': 'must be 64 hex digits (aes-256)',
        },
        iv: {
          type: 'string',
          pattern: '^[0-9a-fA-F]{24}$',
          description: 'The 12-byte IV as 24 hex digits, not base64',
          'x-rule': 'must be 24 hex digits (12 bytes)',
        },
      },
    },
    input: jobInput,
  },
} as const;

const matmulJob = {
  type: 'object',
  required: ['function', 'input'],
  additionalProperties: false,
  properties: {
    function: { const: 'matmul-f32' },
    params: {
      type: 'object',
      required: ['m', 'n', 'k'],
      additionalProperties: false,
      description: 'C (m x n) = A (m x k) * B (k x n); the input is A then B, f32 little-endian',
      properties: { m: dimension, n: dimension, k: dimension },
    },
    input: jobInput,
  },
} as const;

const streamJob = {
  type: 'object',
  required: ['function', 'input'],
  additionalProperties: false,
  properties: {
    function: { enum: ['sha256', 'crc32c', 'pipeline'] },
    params: { type: 'object', additionalProperties: false, properties: {} },
    input: jobInput,
  },
} as const;

export const jobRequestSchema = {
  type: 'object',
  discriminator: { propertyName: 'function' },
  oneOf: [aesJob, matmulJob, streamJob],
} as const;

// ---- what the GRM asks the placement planner (src/rvl) -------------------------------------------

/** Most adapters a placement policy may list. */
export const MAX_ADAPTERS_LISTED = 64;

/**
 * A resource as the planner places it: a client's resource, except that an accelerator names its
 * engine by label (`<function>@<image hash>`, src/grm/engines.ts) and may ask for several contexts.
 */
const placementAccelerator = {
  type: 'object',
  required: ['kind', 'function'],
  additionalProperties: false,
  properties: {
    selector: selection.selector,
    kind: { const: 'accelerator' },
    function: name,
    contexts: { ...positiveInteger, description: 'Contexts of the engine (default 1)' },
  },
} as const;

/** The planner's resources carry selectors only: the GRM turns a class into its selector first. */
const withoutClass = <T extends { properties: { class: unknown } }>(schema: T) => {
  const { class: _class, ...properties } = schema.properties;
  return { ...schema, properties } as Omit<T, 'properties'> & { properties: Omit<T['properties'], 'class'> };
};
const placementPlain = [
  placementAccelerator,
  withoutClass(memoryRequestSchema),
  withoutClass(computeRequestSchema),
  withoutClass(logicRequestSchema),
  withoutClass(adapterRequestSchema),
] as const;

export const placementResourceSchema = {
  type: 'object',
  discriminator: { propertyName: 'kind' },
  oneOf: [
    ...placementPlain,
    {
      ...firstAvailableRequest,
      properties: {
        ...firstAvailableRequest.properties,
        alternatives: {
          ...firstAvailableRequest.properties.alternatives,
          items: { type: 'object', discriminator: { propertyName: 'kind' }, oneOf: placementPlain },
        },
      },
    },
  ],
} as const;

export const placementPolicySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...placementPolicyProperties,
    allowDegraded: { type: 'boolean', default: false, description: 'May degraded adapters receive slices?' },
    adaptersInUse: {
      type: 'array',
      maxItems: MAX_ADAPTERS_LISTED,
      items: name,
      description:
        'Adapters the allocation already holds slices on (growing it): preferred, and counted by maxAdapters',
    },
  },
} as const;

export const placementRequestSchema = {
  type: 'object',
  required: ['resources'],
  additionalProperties: false,
  properties: {
    resources: { type: 'array', minItems: 1, items: placementResourceSchema },
    constraints: constraintsSchema,
    policy: placementPolicySchema,
  },
} as const;

// ---- what clients get back, and what the store keeps ---------------------------------------------

/** Where one piece of a resource is: an adapter and a slice-table index there (ra-spec §5). */
/** A slice another slice's window may name in a descriptor: fabric port and slice-table index. */
const sliceReference = {
  type: 'object',
  required: ['port', 'slice'],
  additionalProperties: false,
  properties: { port: count, slice: count },
} as const;

/**
 * Direct access to one placement through a tenant window (ra-spec §18, docs/access.md): what the
 * allocation's instance needs to reach its slice without the GRM on the data path. Issued on request,
 * revoked before any release, resize or migration; part of the allocation's public view only.
 */
export const accessGrantSchema = {
  type: 'object',
  required: ['adapter', 'port', 'window', 'windowIndex', 'queue', 'slice', 'reach'],
  additionalProperties: false,
  description: 'Direct access to the placement through a tenant window (docs/access.md, ra-spec §18)',
  properties: {
    adapter: { ...nonEmpty, description: 'The adapter holding the window: <server>/ra<fabric port>' },
    port: { ...count, description: "That adapter's fabric port (the port of slice references)" },
    window: {
      ...nonEmpty,
      description: 'Tenant window file (embedded mode); its random 128-bit name is the capability',
    },
    windowIndex: { ...count, description: 'Window index on the adapter' },
    queue: { ...count, description: 'The adapter queue the window feeds' },
    slice: { ...count, description: "The placement's slice on the adapter" },
    memory: {
      type: 'object',
      required: ['path', 'base', 'bytes'],
      additionalProperties: false,
      description:
        "Memory slices: map [base, base + bytes) of the slice's grant file (embedded mode; base is 0, " +
        'the file is truncated when the grant is revoked, ra-spec §18.7)',
      properties: { path: nonEmpty, base: count, bytes: count },
    },
    reach: {
      type: 'array',
      items: sliceReference,
      description:
        "Every slice the window may name: this allocation's slices on the adapter and its memory " +
        'slices on other adapters (fabric copies, ra-spec §8.9)',
    },
  },
} as const;

export const placementSchema = {
  type: 'object',
  required: ['adapter', 'slice'],
  additionalProperties: false,
  properties: {
    adapter: { ...nonEmpty, description: 'Adapter id: <server>/ra<fabric port>' },
    slice: { ...count, description: 'Slice-table index on that adapter' },
    offset: { ...count, description: 'memory: offset in the adapter memory, bytes' },
    bytes: {
      ...count,
      description:
        "memory: the slice's length on the adapter, bytes: what it holds, rounded up to the adapter's " +
        "alignment (ra-spec §5.4), so it may exceed what was asked for (the resource's bytes)",
    },
    units: { ...count, description: "compute: the slice's compute units on the adapter" },
    slot: { ...count, description: 'accelerator/logic: the slot' },
    context: { ...count, description: 'accelerator/logic: first context of the slice' },
    contexts: {
      ...count,
      description:
        "accelerator/logic: the slice's contexts on the adapter (a logic slice holds every context its bitstream provides)",
    },
    grant: accessGrantSchema,
  },
} as const;

export const allocatedResourceSchema = {
  type: 'object',
  required: ['kind', 'placements'],
  additionalProperties: false,
  properties: {
    kind: { enum: ['accelerator', 'memory', 'compute', 'logic', 'adapter'] },
    function: nonEmpty,
    bitstream: nonEmpty,
    bytes: {
      ...count,
      description: 'memory: what was asked for (or resized to), bytes; adapter: what its memory slice holds',
    },
    units: {
      ...count,
      description:
        'compute: what was asked for (or resized to), units; adapter: what its compute slice holds',
    },
    alternative: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_ALTERNATIVES - 1,
      description: 'firstAvailable: index of the alternative granted (its kind and fields are above)',
    },
    placements: {
      type: 'array',
      items: placementSchema,
      description: 'The slices that hold the resource, as the adapters hold them',
    },
    monitors: {
      type: 'array',
      items: nonEmpty,
      description: 'adapter with adminAccess: the adapters watched (no slices, no capacity taken)',
    },
  },
} as const;

export const allocationSchema = {
  type: 'object',
  description: 'An allocation; its policy is the policy as requested (absent fields are not filled in)',
  required: ['id', 'tenant', 'state', 'resources', 'policy', 'createdAt'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: ALLOCATION_ID_PATTERN, 'x-rule': 'must be 1 to 64 of A-Z a-z 0-9 _ -' },
    tenant: nonEmpty,
    state: { enum: ['active', 'released', 'lost'] },
    resources: { type: 'array', items: allocatedResourceSchema },
    policy: allocationPolicySchema,
    createdAt: timestamp,
    leaseExpiresAt: timestamp,
    gang: {
      type: 'string',
      pattern: ALLOCATION_ID_PATTERN,
      description: 'The gang it was granted with, all or nothing (POST /v1/gangs, docs/realloc.md)',
    },
  },
} as const;

/** The key written into every slice-table entry of an allocation (ra-spec §5): 64 bits as hex. */
const ownerKey = { type: 'string', pattern: '^[0-9a-fA-F]{16}$', 'x-rule': 'must be 16 hex digits' } as const;

/**
 * A tenant window the GRM opened for an allocation's grants (docs/access.md, "Grants in the store"):
 * which window of which adapter, its queue and what it may reach. Not its file: the file's name is the
 * capability, and a GRM asks the adapter's agent for it (ListWindows) with the allocation's key.
 */
export const storedWindowSchema = {
  type: 'object',
  required: ['adapter', 'window', 'queue', 'reach'],
  additionalProperties: false,
  properties: {
    adapter: nonEmpty,
    window: count,
    queue: count,
    reach: { type: 'array', items: sliceReference },
  },
} as const;

/** An allocation as the store keeps it: with its owner key and its grants' windows, which clients never see. */
export const storedAllocationSchema = {
  ...allocationSchema,
  required: [...allocationSchema.required, 'ownerKey'],
  properties: {
    ...allocationSchema.properties,
    ownerKey,
    windows: {
      type: 'array',
      items: storedWindowSchema,
      description: 'The tenant windows of its grants, one per adapter (absent: no grant issued)',
    },
  },
} as const;

/** An allocation being configured: written before any adapter is touched, so a restart can roll it back. */
export const intentSchema = {
  type: 'object',
  required: ['id', 'tenant', 'ownerKey', 'placements', 'createdAt'],
  additionalProperties: false,
  properties: {
    id: allocationSchema.properties.id,
    tenant: nonEmpty,
    ownerKey,
    placements: { type: 'array', items: placementSchema, description: 'Slices about to be programmed' },
    createdAt: timestamp,
  },
} as const;

// ---- the pool as a client sees it -----------------------------------------------------------------

const totalFree = {
  type: 'object',
  required: ['total', 'free'],
  additionalProperties: false,
  properties: { total: count, free: count },
} as const;

/** One adapter of the pool (GET /v1/adapters): capacity, health and its slice table. */
export const adapterViewSchema = {
  type: 'object',
  required: ['id', 'server', 'health', 'memory', 'computeUnits', 'slots', 'slices'],
  additionalProperties: false,
  properties: {
    id: { ...nonEmpty, description: 'Adapter id: <server>/ra<fabric port>' },
    server: nonEmpty,
    zone: { type: 'string', description: 'Fabric zone (selectors: `zone`)' },
    model: { type: 'string', description: 'Device model (selectors: `model`)' },
    firmware: { type: 'string', description: 'Firmware, the register file version (selectors: `firmware`)' },
    health: { enum: ['healthy', 'degraded', 'unhealthy'] },
    memory: { ...totalFree, description: 'bytes' },
    computeUnits: totalFree,
    slots: totalFree,
    slices: {
      type: 'array',
      items: {
        type: 'object',
        required: ['entry', 'kind', 'state', 'base', 'length'],
        additionalProperties: false,
        properties: {
          entry: { ...count, description: 'Slice-table index' },
          kind: { type: 'string' },
          state: { type: 'string' },
          base: count,
          length: count,
          slot: count,
          allocation: {
            type: 'string',
            description: 'The holder; a tenant is shown its own slices only, an operator every slice',
          },
        },
      },
    },
  },
} as const;

// ---- quotas per tenant (issue 16) -----------------------------------------------------------------

/** What one tenant holds, or may hold: the fields a quota limits, in the units the API reports them. */
const quotaProperties = {
  bytes: { ...count, description: "Memory bytes over the tenant's memory placements (as they report them)" },
  units: { ...count, description: 'Compute units' },
  contexts: { ...count, description: 'Accelerator and logic contexts' },
  sliceEntries: { ...count, description: 'Slice-table entries over every adapter: one per placement' },
  allocations: { ...count, description: 'Allocations held at once (active or lost)' },
} as const;

/** A tenant's limits, set by an operator (serve --quotas, PUT /v1/tenants/{tenant}/quota). */
export const quotaSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Limits of one tenant; a field left out is not limited, 0 allows none',
  properties: quotaProperties,
} as const;

export const TENANT_NAME_PATTERN = '^[a-z0-9_-]{1,64}$';

/** The --quotas file: limits per tenant, and the default for every tenant the file does not name. */
export const quotaTableSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    default: quotaSchema,
    tenants: {
      type: 'object',
      propertyNames: { pattern: TENANT_NAME_PATTERN },
      additionalProperties: quotaSchema,
    },
  },
} as const;

// ---- operator-defined request classes (serve --request-classes) ---------------------------------

/** Most request classes an operator may define. */
export const MAX_REQUEST_CLASSES = 256;

/**
 * A request class (DRA DeviceClass): a name tenants ask for and what it stands for, defined by the
 * operator in a file that `serve --request-classes` reads and checks at start (docs/grm.md "Classes").
 */
export const requestClassSchema = {
  type: 'object',
  required: ['name', 'selector'],
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      pattern: '^[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?$',
      'x-rule': 'must be 1 to 64 of a-z 0-9 . - (DNS label style)',
    },
    description: { type: 'string', maxLength: 1024 },
    selector: {
      ...selection.selector,
      description: 'Every resource of this class goes only where this is true',
    },
  },
} as const;

/** What a tenant holds now and its limits (GET /v1/tenants/me/usage, GET /v1/tenants). */
export const tenantUsageSchema = {
  type: 'object',
  required: ['tenant', 'usage', 'quota'],
  additionalProperties: false,
  properties: {
    tenant: { type: 'string', pattern: TENANT_NAME_PATTERN },
    usage: {
      type: 'object',
      required: ['bytes', 'units', 'contexts', 'sliceEntries', 'allocations'],
      additionalProperties: false,
      description: 'Held now: committed allocations and those being configured (reserved, not committed)',
      properties: quotaProperties,
    },
    quota: quotaSchema,
  },
} as const;

export const requestClassesFileSchema = {
  type: 'object',
  required: ['classes'],
  additionalProperties: false,
  properties: {
    classes: { type: 'array', maxItems: MAX_REQUEST_CLASSES, items: requestClassSchema },
  },
} as const;
