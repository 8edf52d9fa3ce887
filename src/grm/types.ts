// The GRM's public interface. Its data model (requests, allocations, placements) is the schema in
// src/common/schema/model.ts, with types derived from it (src/common/model.ts, re-exported here).

export type {
  AdapterView,
  AllocatedResource,
  Allocation,
  AllocationPolicy,
  AllocationRequest,
  AllocationState,
  JobRequest,
  Placement,
  ResizeRequest,
  ResourceRequest,
} from '../common/model.js';

import type { AdapterView, Allocation } from '../common/model.js';
import type { AllocationEvent } from './elastic/events.js';
import type { TenantUsage } from './quotas.js';

/** Allocations granted together, all or nothing (POST /v1/gangs, issue 15). */
export interface Gang {
  id: string;
  /** In the order of the request's members. */
  allocations: Allocation[];
}

/** What the HTTP API and the CLI need from the GRM. Every method validates its input. */
export interface GrmApi {
  listAdapters(): Promise<AdapterView[]>;
  allocate(tenant: string, request: unknown): Promise<Allocation>;
  get(tenant: string, id: string): Allocation;
  list(tenant: string): Allocation[];
  resize(tenant: string, id: string, request: unknown): Promise<Allocation>;
  /** `operator`: an operator releases `tenant`'s allocation (named in the event). */
  release(tenant: string, id: string, operator?: string): Promise<void>;
  /** Several allocations, all or nothing (issue 15): RESOURCE_UNAVAILABLE with nothing allocated. */
  allocateGang(tenant: string, request: unknown): Promise<Gang>;
  getGang(tenant: string, id: string): Gang;
  /** Releases every member still held. */
  releaseGang(tenant: string, id: string): Promise<void>;
  runJob(tenant: string, id: string, job: unknown): Promise<{ output: string }>;
  /** What reallocation did to the allocation (grew, shrank, preempted, ...), oldest first (issue 15). */
  allocationEvents(tenant: string, id: string): AllocationEvent[];
  /** The allocation with an access grant on each placement (issue 13, docs/access.md). */
  grants(tenant: string, id: string): Promise<Allocation>;
  /** The bitstreams `tenant` may use (every one when absent). */
  listBitstreams(tenant?: string): { id: string; function: string; version: string; signed: boolean }[];
  /** Registers a bitstream as the tenant's own (published at once when the tenant is an operator). */
  registerBitstream(tenant: string, body: unknown): Promise<{ id: string }>;
  /** Operators only: every tenant may use the bitstream from now on. */
  publishBitstream(tenant: string, id: string): Promise<{ id: string }>;
  // ---- roles and quotas (issue 16); optional: a GRM without them (test fakes) answers 404 there ----
  /** Whether the tenant's tokens are operator tokens (GrmOptions.operators). */
  isOperator?(tenant: string): boolean;
  /** Every tenant's allocations (operators). */
  listAll?(): Allocation[];
  /** The tenant holding allocation `id` (undefined: none), for an operator acting as its owner. */
  ownerOf?(id: string): string | undefined;
  /** What the tenant holds now (configuring included) and its quota. */
  usage?(tenant: string): TenantUsage;
  /** usage() of every tenant holding something or having a quota, and of the tenants in `also`. */
  usageAll?(also?: Iterable<string>): TenantUsage[];
  /** Sets one tenant's quota (kept durably first); INVALID_REQUEST changes nothing. */
  setQuota?(tenant: string, quota: unknown): TenantUsage;
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
