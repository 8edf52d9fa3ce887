// The GRM's public data model: what clients ask for and what they get back (HTTP API, CLI, store).
// Sizes are bytes as JSON numbers (exact up to 2^53, far above any adapter pool).

export type ResourceRequest =
  | { kind: 'accelerator'; function: string }
  | { kind: 'memory'; bytes: number }
  | { kind: 'compute'; units: number }
  | { kind: 'logic'; bitstream: string };

export interface AllocationPolicy {
  /** Server the instance runs on: adapters there are preferred. */
  sameServer?: string;
  /** Most adapters the whole allocation may span. */
  maxAdapters?: number;
  /** Spread memory/compute over several adapters when no single one fits (default true). */
  allowSplit?: boolean;
  /** Lease: the allocation is released automatically this many ms after it was created. */
  leaseMs?: number;
  /**
   * When an adapter holding part of the allocation turns unhealthy: 'fail' (default) marks the
   * allocation lost; 'replace' programs the failed slices again on healthy adapters (the contents of
   * memory on the failed adapter cannot be read back, so they are lost).
   */
  onAdapterFailure?: 'fail' | 'replace';
  /** Reclaim the allocation's slices when idle for longer than this (absent: never). */
  idleReclaimMs?: number;
}

export interface AllocationRequest {
  resources: ResourceRequest[];
  policy?: AllocationPolicy;
}

export interface Placement {
  adapter: string;
  /** Slice-table entry on that adapter. */
  slice: number;
  offset?: number;
  bytes?: number;
  units?: number;
  slot?: number;
  /** context slices: first context and count */
  context?: number;
  contexts?: number;
}

export interface AllocatedResource {
  kind: ResourceRequest['kind'];
  function?: string;
  bitstream?: string;
  bytes?: number;
  units?: number;
  placements: Placement[];
}

export type AllocationState = 'active' | 'released' | 'lost';

export interface Allocation {
  id: string;
  tenant: string;
  state: AllocationState;
  resources: AllocatedResource[];
  policy: AllocationPolicy;
  createdAt: string;
  leaseExpiresAt?: string;
}

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

/** Error codes of the GRM (RaError.code), and the HTTP status each maps to (src/api). */
export const GrmCode = {
  INVALID_REQUEST: 'INVALID_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** Authenticated, but this tenant may not do that (operators only). */
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  RESOURCE_UNAVAILABLE: 'RESOURCE_UNAVAILABLE',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  ADAPTER_FAILURE: 'ADAPTER_FAILURE',
  /** The allocation lost an adapter: it answers GET and DELETE only. */
  ALLOCATION_LOST: 'ALLOCATION_LOST',
  /** A job's output would exceed MAX_JOB_OUTPUT_BYTES. */
  OUTPUT_TOO_LARGE: 'OUTPUT_TOO_LARGE',
  /** A tenant's bitstream count or bytes would exceed its limit. */
  BITSTREAM_QUOTA: 'BITSTREAM_QUOTA',
} as const;
