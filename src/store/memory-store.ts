// An AllocationStore in memory, with the same checks and refusals as the journal store: for unit tests
// of the layers above (GRM, API), where durability is not what is under test.
import { StoreCode, StoreError } from './errors.js';
import { applyOperation, cloneState, emptyState, type MutableState, type Operation } from './state.js';
import type { AllocationStore, Intent, StoredAllocation, StoreState } from './store.js';
import { checkAllocation, checkId, checkIntent, normalized } from './validate.js';

export class MemoryStore implements AllocationStore {
  private state: MutableState = emptyState();
  private closed = false;

  load(): StoreState {
    this.ensureOpen();
    return { ...cloneState(this.state), diagnostics: { repairedTail: false, ignoredBytes: 0, warnings: [] } };
  }

  recordIntent(intent: Intent): void {
    this.apply(() => ({ op: 'intent', data: normalized(intent, checkIntent, 'intent') }));
  }

  commit(allocation: StoredAllocation): void {
    this.apply(() => ({ op: 'commit', data: normalized(allocation, checkAllocation, 'allocation') }));
  }

  update(allocation: StoredAllocation): void {
    this.apply(() => ({ op: 'update', data: normalized(allocation, checkAllocation, 'allocation') }));
  }

  abortIntent(id: string): void {
    this.apply(() => ({ op: 'abort', data: { id: normalized(id, checkId, 'id') } }));
  }

  remove(id: string): void {
    this.apply(() => ({ op: 'remove', data: { id: normalized(id, checkId, 'id') } }));
  }

  close(): void {
    this.closed = true;
  }

  private apply(operation: () => Operation): void {
    this.ensureOpen();
    applyOperation(this.state, operation());
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError(StoreCode.CLOSED, 'the store is closed; create a new one');
  }
}
