// The allocation store's interface: the embedded journal store (journal-store.ts), the in-memory store
// for unit tests of other layers (memory-store.ts) and the cluster store on etcd (etcd-store.ts).
// The store is the truth for allocations (DESIGN.md, "Boundaries that matter"): the GRM records an
// intent before it touches any adapter, and answers 201 only after commit()'s promise has resolved.
// Writes are promises so a store can group concurrent commits under one fsync (journal-store.ts): each
// resolves only once its own record is durable, and rejects when it is not (then nothing changed).
// The records it keeps (StoredAllocation: an allocation with its owner key; Intent: an allocation being
// configured) are the data model's (src/common/schema/model.ts), checked against it on every write and
// read (validate.ts).
import type { Intent, StoredAllocation } from '../common/model.js';

export type { Intent, StoredAllocation };

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

/**
 * Compare-and-swap for a write. Every allocation and intent has a revision that changes with each write to
 * it (etcd: the key's mod revision; journal: the record's seq; memory: a counter). Several GRM replicas
 * share one etcd store: a replica that last saw an older revision than the store holds must not overwrite
 * the newer state (STALE_REVISION, nothing changes).
 */
export interface WriteOptions {
  /**
   * The revision the caller last saw (revisionOf() or refresh()): the write happens only if the record
   * still has it. Omitted: the write applies on top of this store instance's own latest write to that id
   * (one instance's writes to one id are ordered), and fails only when another writer changed it since
   * this instance last saw it — never, for the single-writer journal and memory stores.
   */
  expectedRevision?: number;
}

export interface AllocationStore {
  /** State as of the last durable write (a copy: mutating it changes nothing in the store). */
  load(): StoreState;
  /**
   * Whether this store is the only writer of its records (journal, memory) or one of several replicas'
   * (etcd). With one writer the GRM may configure adapters while an intent's write is in flight (see
   * recordIntent); with replicas an intent must be durable first.
   */
  readonly singleWriter: boolean;
  /**
   * Durable on resolve. Refuses an id already in use. With replicas (etcd) the GRM awaits it before any
   * adapter is touched: another replica's reconciliation must see whose slices it finds. With one
   * writer it is queued before the adapters are touched and awaited before the commit (which follows it
   * in the same journal): a crash that loses it leaves slices with a key no record holds, which
   * reconciliation releases as orphans, as it would have released them as a rolled-back intent's.
   */
  recordIntent(intent: Intent): Promise<void>;
  /**
   * Durable on resolve; removes the intent with the same id (atomically). The GRM answers 201 only after
   * this. revisionOf(id) then gives the allocation's revision.
   */
  commit(allocation: StoredAllocation): Promise<void>;
  /**
   * Commits several allocations as one durable write (a gang, issue 15): on resolve all are committed
   * (their intents removed); on reject, or after a crash before it resolved, none is. Each must be
   * committable as commit() would take it; one that is not refuses them all.
   */
  commitAll(allocations: readonly StoredAllocation[]): Promise<void>;
  /** Resize, migration, state changes (durable). The allocation must exist and keep its tenant. */
  update(allocation: StoredAllocation, options?: WriteOptions): Promise<void>;
  /** Rollback finished: the intent is forgotten (durable). */
  abortIntent(id: string, options?: WriteOptions): Promise<void>;
  /** Released (durable). */
  remove(id: string, options?: WriteOptions): Promise<void>;
  /** The revision of the allocation (else the intent) `id` as this instance last saw it; undefined: none. */
  revisionOf(id: string): number | undefined;
  /**
   * Reads the store again (another replica's writes) and returns it as load() would then. The journal and
   * memory stores have one writer, so this is load(); the etcd store fails with STORE_UNAVAILABLE while
   * etcd is out of reach (load() still answers with what this instance last saw).
   */
  refresh(): Promise<StoreState>;
  health(): StoreHealth;
  /** Waits for writes in flight, then closes. */
  close(): Promise<void>;
}
