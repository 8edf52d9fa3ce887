// The TypeScript types of the data model, derived from the schemas by json-schema-to-ts: a field
// added to a schema appears in its type at once, so the compiler, not a reviewer, finds the code that
// must handle it. Defaulted fields stay optional (a client may leave them out; the GRM applies the
// default where it reads them).
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type {
  accessGrantSchema,
  adapterViewSchema,
  allocatedResourceSchema,
  allocationPolicySchema,
  allocationRequestSchema,
  allocationSchema,
  elasticPolicySchema,
  intentSchema,
  jobRequestSchema,
  placementPolicySchema,
  placementRequestSchema,
  placementResourceSchema,
  placementSchema,
  requestClassSchema,
  resizeRequestSchema,
  resourceRequestSchema,
  storedAllocationSchema,
} from './model.js';

type Model<S extends JSONSchema> = FromSchema<S, { keepDefaultedPropertiesOptional: true }>;

export type ResourceRequest = Model<typeof resourceRequestSchema>;
export type AllocationPolicy = Model<typeof allocationPolicySchema>;
export type ElasticPolicy = Model<typeof elasticPolicySchema>;
export type AllocationRequest = Model<typeof allocationRequestSchema>;
export type ResizeRequest = Model<typeof resizeRequestSchema>;
export type JobRequest = Model<typeof jobRequestSchema>;
export type Placement = Model<typeof placementSchema>;
export type AllocatedResource = Model<typeof allocatedResourceSchema>;
export type Allocation = Model<typeof allocationSchema>;
export type AllocationState = Allocation['state'];
export type StoredAllocation = Model<typeof storedAllocationSchema>;
export type Intent = Model<typeof intentSchema>;
export type PlacementResource = Model<typeof placementResourceSchema>;
export type PlacementPolicy = Model<typeof placementPolicySchema>;
export type PlacementRequest = Model<typeof placementRequestSchema>;
export type AdapterView = Model<typeof adapterViewSchema>;
export type AccessGrant = Model<typeof accessGrantSchema>;
export type RequestClass = Model<typeof requestClassSchema>;
