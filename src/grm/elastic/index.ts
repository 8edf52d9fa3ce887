// Elastic allocations, priorities and preemption as pure decisions (no clock, no I/O): the reallocator
// acts on them against the adapters, the workload simulator (sim/) in virtual time.
export {
  DEFAULT_BAND_FRACTION,
  decide,
  ELASTIC_KINDS,
  type ElasticAction,
  type ElasticKind,
  type ElasticPolicy,
  type ElasticState,
  initialState,
  policyProblem,
  recommendedSize,
} from './policy.js';
export { type Holder, type PreemptAction, type PreemptionPlan, planPreemption } from './preemption.js';
export { byEntry, resourceUtilization } from './utilization.js';
