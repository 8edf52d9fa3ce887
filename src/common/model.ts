// The data model every layer shares: what clients ask for and what they get back (HTTP API, CLI), and
// what the store keeps. Written once as JSON Schema in schema/model.ts; the types here are derived from
// it (schema/types.ts). It lives below the layers so that the store need not import the GRM (DESIGN.md:
// a layer calls only the layer below it).
export type {
  AccessGrant,
  AdapterView,
  AllocatedResource,
  Allocation,
  AllocationPolicy,
  AllocationRequest,
  AllocationState,
  ElasticPolicy,
  Intent,
  JobRequest,
  Placement,
  ResizeRequest,
  ResourceRequest,
  StoredAllocation,
} from './schema/types.js';
