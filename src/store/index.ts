// Allocation state: the interface every store implements, the embedded journal store, the in-memory store.
export { StoreCode, type StoreCodeName, StoreError } from './errors.js';
export { type CompactionStep, JournalStore, type JournalStoreOptions } from './journal-store.js';
export { MemoryStore } from './memory-store.js';
export type { AllocationStore, Intent, StoreDiagnostics, StoredAllocation, StoreState } from './store.js';
