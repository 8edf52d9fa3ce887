// An AllocationStore in memory, with the same checks and refusals as the journal store: for unit tests
// of the layers above (GRM, API), where durability is not what is under test.
import { StoreCode, StoreError } from './errors.js';
import { checkExpectedRevision, Revisions } from './revisions.js';
import {
  applyOperation,
  checkApplicable,
  cloneState,
  commitAllOf,
  emptyState,
  type MutableState,
  type Operation,
} from './state.js';
import type {
  AllocationStore,
  Intent,
  StoredAllocation,
  StoreHealth,
  StoreState,
  WriteOptions,
} from './store.js';
import { checkAllocation, checkId, checkIntent, normalized } from './validate.js';

export class MemoryStore implements AllocationStore {
  readonly singleWriter: boolean = true;
  private state: MutableState = emptyState();
  private closed = false;
  private revisions = new Revisions();
  /** The last revision handed out: each write takes the next. */
  private revision = 0;

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

  async commitAll(allocations: readonly StoredAllocation[]): Promise<void> {
    this.apply(() => commitAllOf(allocations));
  }

  async update(allocation: StoredAllocation, options: WriteOptions = {}): Promise<void> {
    this.apply(
      () => ({ op: 'update', data: normalized(allocation, checkAllocation, 'allocation') }),
      options,
    );
  }

  async abortIntent(id: string, options: WriteOptions = {}): Promise<void> {
    this.apply(() => ({ op: 'abort', data: { id: normalized(id, checkId, 'id') } }), options);
  }

  async remove(id: string, options: WriteOptions = {}): Promise<void> {
    this.apply(() => ({ op: 'remove', data: { id: normalized(id, checkId, 'id') } }), options);
  }

  revisionOf(id: string): number | undefined {
    return this.revisions.of(id);
  }

  async refresh(): Promise<StoreState> {
    return this.load();
  }

  health(): StoreHealth {
    return this.closed ? { writable: false, problem: 'the store is closed' } : { writable: true };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private apply(build: () => Operation, options: WriteOptions = {}): number {
    this.ensureOpen();
    const operation = build();
    const expected = checkExpectedRevision(options.expectedRevision);
    // The state machine's own checks first (NOT_FOUND says more than a stale revision of nothing).
    checkApplicable(this.state, operation);
    this.revisions.check(operation, expected);
    applyOperation(this.state, operation);
    this.revision += 1;
    this.revisions.apply(operation, this.revision);
    return this.revision;
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError(StoreCode.CLOSED, 'the store is closed; create a new one');
  }
}
