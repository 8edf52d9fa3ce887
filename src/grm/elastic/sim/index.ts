// The workload simulator: seeded traces, a pool model and three policies, run in virtual time.
export {
  type ElasticSimOptions,
  elasticPolicy,
  releaseWhenIdlePolicy,
  type SimPolicy,
  staticPolicy,
} from './policies.js';
export { SimPool } from './pool.js';
export { comparePolicies, DEFAULT_SETTINGS, type SimResult, simulate } from './run.js';
export {
  DEFAULT_TRACE,
  makeTrace,
  type SimTenant,
  type Trace,
  type TraceOptions,
} from './trace.js';
