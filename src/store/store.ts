// The allocation store's interface: the embedded journal store (journal-store.ts), the in-memory store
// for unit tests of other layers (memory-store.ts) and, later, the cluster (etcd) store implement it.
// The store is the truth for allocations (DESIGN.md, "Boundaries that matter"): the GRM records an
// intent before it touches any adapter, and answers 201 only after commit()'s promise has resolved.
// Writes are promises so a store can group concurrent commits under one fsync (journal-store.ts): each
// resolves only once its own record is durable, and rejects when it is not (then nothing changed).
import type { Allocation, Placement } from '../grm/types.js';

export interface StoredAllocation extends Allocation {
  /** The key written into every slice-table entry of the allocation: 16 hex digits. */
  ownerKey: string;
}

/** An allocation being configured: written before any adapter is touched, so a restart can roll it back. */
export interface Intent {
  id: string;
  tenant: string;
  ownerKey: string;
  /** Adapter + slice entries about to be programmed. */
  placements: Placement[];
  createdAt: string;
}

/** What opening the store found and repaired (an in-memory store never repairs anything). */
export interface StoreDiagnostics {
  /** A torn or corrupt last journal record (a crash mid-append) was cut away on open. */
  repairedTail: boolean;
  /** Bytes cut away from the end of the journal. */
  ignoredBytes: number;
  /** Human-readable notes: repairs, interrupted compactions finished, stale locks taken over. */
  warnings: string[];
}

export interface StoreState {
  allocations: Map<string, StoredAllocation>;
  intents: Map<string, Intent>;
  diagnostics: StoreDiagnostics;
}

/** Whether the store can take writes now (GET /healthz reports it). */
export interface StoreHealth {
  writable: boolean;
  /** Why not, and what to do. */
  problem?: string;
}

export interface AllocationStore {
  /** State as of the last durable write (a copy: mutating it changes nothing in the store). */
  load(): StoreState;
  /** Durable on resolve; written BEFORE any adapter is touched. Refuses an id already in use. */
  recordIntent(intent: Intent): Promise<void>;
  /** Durable on resolve; removes the intent with the same id. The GRM answers 201 only after this. */
  commit(allocation: StoredAllocation): Promise<void>;
  /** Resize, migration, state changes (durable). The allocation must exist and keep its tenant. */
  update(allocation: StoredAllocation): Promise<void>;
  /** Rollback finished: the intent is forgotten (durable). */
  abortIntent(id: string): Promise<void>;
  /** Released (durable). */
  remove(id: string): Promise<void>;
  health(): StoreHealth;
  /** Waits for writes in flight, then closes. */
  close(): Promise<void>;
}
