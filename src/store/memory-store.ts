// An AllocationStore in memory, with the same checks and refusals as the journal store: for unit tests
// of the layers above (GRM, API), where durability is not what is under test.
import { StoreCode, StoreError } from './errors.js';
import { applyOperation, cloneState, emptyState, type MutableState, type Operation } from './state.js';
import type { AllocationStore, Intent, StoredAllocation, StoreHealth, StoreState } from './store.js';
import { checkAllocation, checkId, checkIntent, normalized } from './validate.js';

export class MemoryStore implements AllocationStore {
  private state: MutableState = emptyState();
  private closed = false;

  load(): StoreState {
    this.ensureOpen();
    return { ...cloneState(this.state), diagnostics: { repairedTail: false, ignoredBytes: 0, warnings: [] } };
  }

  async recordIntent(intent: Intent): Promise<void> {
    this.apply(() => ({ op: 'intent', data: normalized(intent, checkIntent, 'intent') }));
  }

  async commit(allocation: StoredAllocation): Promise<void> {
    this.apply(() => ({ op: 'commit', data: normalized(allocation, checkAllocation, 'allocation') }));
  }

  async update(allocation: StoredAllocation): Promise<void> {
    this.apply(() => ({ op: 'update', data: normalized(allocation, checkAllocation, 'allocation') }));
  }

  async abortIntent(id: string): Promise<void> {
    this.apply(() => ({ op: 'abort', data: { id: normalized(id, checkId, 'id') } }));
  }

  async remove(id: string): Promise<void> {
    this.apply(() => ({ op: 'remove', data: { id: normalized(id, checkId, 'id') } }));
  }

  health(): StoreHealth {
    return this.closed ? { writable: false, problem: 'the store is closed' } : { writable: true };
  }

  async close(): Promise<void> {
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
