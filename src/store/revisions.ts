// Revisions of the records one store instance holds (see WriteOptions in store.ts): which revision each
// allocation and intent has, and the compare-and-swap check against a caller's expected revision.
import { StoreCode, StoreError } from './errors.js';
import { commitsOf, type Operation } from './state.js';

export class Revisions {
  constructor(
    readonly allocations = new Map<string, number>(),
    readonly intents = new Map<string, number>(),
  ) {}

  of(id: string): number | undefined {
    return this.allocations.get(id) ?? this.intents.get(id);
  }

  /** Records that `operation` gave its record `revision` (or removed it). */
  apply(operation: Operation, revision: number): void {
    if (operation.op === 'commit-all') {
      for (const single of commitsOf(operation)) this.apply(single, revision);
      return;
    }
    const { id } = operation.data;
    switch (operation.op) {
      case 'intent':
        this.intents.set(id, revision);
        return;
      case 'commit':
        this.intents.delete(id);
        this.allocations.set(id, revision);
        return;
      case 'update':
        this.allocations.set(id, revision);
        return;
      case 'abort':
        this.intents.delete(id);
        return;
      case 'remove':
        this.allocations.delete(id);
        return;
    }
  }

  /** The compare-and-swap of `operation` against these revisions (update/remove/abort take one). */
  check(operation: Operation, expected: number | undefined): void {
    if (operation.op === 'commit-all') return; // commits compare nothing: the ids must be new
    const { id } = operation.data;
    if (operation.op === 'update' || operation.op === 'remove') {
      checkRevision('allocation', id, this.allocations.get(id), expected);
    } else if (operation.op === 'abort') checkRevision('intent', id, this.intents.get(id), expected);
  }

  clone(): Revisions {
    return new Revisions(new Map(this.allocations), new Map(this.intents));
  }
}

/** Throws STALE_REVISION when the caller expected another revision than the record has now. */
export function checkRevision(
  kind: 'allocation' | 'intent',
  id: string,
  current: number | undefined,
  expected: number | undefined,
): void {
  if (expected === undefined || expected === current) return;
  throw staleRevision(kind, id, expected, current);
}

export function staleRevision(
  kind: 'allocation' | 'intent',
  id: string,
  expected: number | undefined,
  current: number | undefined,
): StoreError {
  return new StoreError(
    StoreCode.STALE_REVISION,
    `${kind} ${id} was changed by another writer: it has revision ${current ?? '(none: removed)'}, the ` +
      `write expected ${expected ?? 'the one this replica last saw'}. Nothing changed: refresh() and decide again.`,
    { id, expectedRevision: expected ?? null, currentRevision: current ?? null },
  );
}

/** A caller's expected revision: undefined, or a positive safe integer (else INVALID_ARGUMENT). */
export function checkExpectedRevision(expected: unknown): number | undefined {
  if (expected === undefined) return undefined;
  if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 1) {
    throw new StoreError(
      StoreCode.INVALID_ARGUMENT,
      `expectedRevision must be an integer >= 1 from revisionOf() or refresh() (got ${String(expected)})`,
    );
  }
  return expected;
}
