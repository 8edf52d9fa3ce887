// The GRM's public data model: what clients ask for and what they get back (HTTP API, CLI). The
// shapes the store keeps too are in src/common/model.ts (re-exported here).

export type {
  AllocatedResource,
  Allocation,
  AllocationPolicy,
  AllocationRequest,
  AllocationState,
  Placement,
  ResourceRequest,
} from '../common/model.js';

import type { Allocation } from '../common/model.js';
import type { AllocationEvent } from './elastic/events.js';

export interface ResizeRequest {
  /** Index into resources; the resource must be memory or compute. */
  resource: number;
  bytes?: number;
  units?: number;
}

export interface JobRequest {
  function: string;
  params?: { key?: string; iv?: string; m?: number; n?: number; k?: number };
  /** base64 */
  input: string;
}

export interface AdapterView {
  id: string;
  server: string;
  health: 'healthy' | 'degraded' | 'unhealthy';
  memory: { total: number; free: number };
  computeUnits: { total: number; free: number };
  slots: { total: number; free: number };
  slices: {
    entry: number;
    kind: string;
    state: string;
    base: number;
    length: number;
    slot?: number;
    allocation?: string;
  }[];
}

/** What the HTTP API and the CLI need from the GRM. Every method validates its input. */
export interface GrmApi {
  listAdapters(): Promise<AdapterView[]>;
  allocate(tenant: string, request: unknown): Promise<Allocation>;
  get(tenant: string, id: string): Allocation;
  list(tenant: string): Allocation[];
  resize(tenant: string, id: string, request: unknown): Promise<Allocation>;
  release(tenant: string, id: string): Promise<void>;
  runJob(tenant: string, id: string, job: unknown): Promise<{ output: string }>;
  /** What reallocation did to the allocation (grew, shrank, preempted, ...), oldest first (issue 15). */
  allocationEvents(tenant: string, id: string): AllocationEvent[];
  /** The bitstreams `tenant` may use (every one when absent). */
  listBitstreams(tenant?: string): { id: string; function: string; version: string; signed: boolean }[];
  /** Registers a bitstream as the tenant's own (published at once when the tenant is an operator). */
  registerBitstream(tenant: string, body: unknown): Promise<{ id: string }>;
  /** Operators only: every tenant may use the bitstream from now on. */
  publishBitstream(tenant: string, id: string): Promise<{ id: string }>;
  /** `store` is absent for a GRM without a durable store (fakes in tests). */
  health(): {
    ok: boolean;
    adapters: number;
    unhealthy: number;
    store?: { writable: boolean; problem?: string };
  };
}

/** Error codes of the GRM (RaError.code), with every other layer's in src/common/codes.ts. */
export { GrmCode } from '../common/codes.js';
