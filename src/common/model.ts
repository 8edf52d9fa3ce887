// The data model every layer shares: what clients ask for and what they get back (HTTP API, CLI),
// and what the store keeps. Sizes are bytes as JSON numbers (exact up to 2^53, far above any adapter
// pool). It lives below the layers so that the store need not import the GRM (DESIGN.md: a layer calls
// only the layer below it); src/grm/types.ts re-exports it with the GRM's own request shapes.
import type { AccessGrant } from './grant.js';

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
  /** Direct access (issued on request, Grm.grants; revoked on release, resize and migration). */
  grant?: AccessGrant;
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
