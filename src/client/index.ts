// rafabric/client: the instance's library (docs/access.md). Open the grants of an allocation, map
// its memory slices, submit copies and jobs on its own queues; the GRM stays off the data path.
export type { AccessGrant } from '../common/model.js';
export type { SliceRef, TenantDescriptor } from './descriptors.js';
export { ClientCode, RaError } from './errors.js';
export { fetchGrants, type GrmEndpoint } from './http.js';
export { type GrantedSlice, Instance } from './instance.js';
export { MappedSlice } from './memory.js';
export { type TenantCompletion, TenantWindow, type WindowGrantEntry, type WindowOptions } from './window.js';
