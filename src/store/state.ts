// The store's state machine, shared by every store and by journal replay: one operation at a time,
// checked against the state before it is made durable, then applied. Replaying a journal applies the
// same operations in the same order, so the replayed state is the state the writer had.
import { StoreCode, StoreError } from './errors.js';
import type { Intent, StoredAllocation } from './store.js';
import { checkAllocation, checkId, checkIntent, fields, normalized, ShapeError } from './validate.js';

/** An operation on one record (one allocation or intent id). */
export type SingleOperation =
  | { op: 'intent'; data: Intent }
  | { op: 'commit'; data: StoredAllocation }
  | { op: 'update'; data: StoredAllocation }
  | { op: 'abort'; data: { id: string } }
  | { op: 'remove'; data: { id: string } };

/**
 * Several commits made durable as one record (a gang, issue 15: all or nothing): after a crash the
 * journal holds the whole record or, torn, none of it.
 */
export type CommitAllOperation = { op: 'commit-all'; data: { allocations: StoredAllocation[] } };

export type Operation = SingleOperation | CommitAllOperation;

export type OperationName = Operation['op'];
export const operationNames: readonly OperationName[] = [
  'intent',
  'commit',
  'update',
  'abort',
  'remove',
  'commit-all',
];

/** The commit-all of `allocations`, each checked as commit() checks one (INVALID_ARGUMENT otherwise). */
export function commitAllOf(allocations: readonly StoredAllocation[]): CommitAllOperation {
  if (!Array.isArray(allocations) || allocations.length === 0)
    throw new StoreError(StoreCode.INVALID_ARGUMENT, 'commitAll() needs at least one allocation');
  return {
    op: 'commit-all',
    data: { allocations: allocations.map((a, i) => normalized(a, checkAllocation, `allocations[${i}]`)) },
  };
}

/** The single-record commits a commit-all stands for (what replay and the revisions apply). */
export function commitsOf(operation: CommitAllOperation): SingleOperation[] {
  return operation.data.allocations.map((data) => ({ op: 'commit', data }));
}

export interface MutableState {
  allocations: Map<string, StoredAllocation>;
  intents: Map<string, Intent>;
}

export function emptyState(): MutableState {
  return { allocations: new Map(), intents: new Map() };
}

export function cloneState(state: MutableState): MutableState {
  return { allocations: structuredClone(state.allocations), intents: structuredClone(state.intents) };
}

/** Checks the payload read back from disk for `op` (throws ShapeError). */
export function checkOperation(op: OperationName, data: unknown): Operation {
  switch (op) {
    case 'intent':
      return { op, data: checkIntent(data, 'data') };
    case 'commit':
    case 'update':
      return { op, data: checkAllocation(data, 'data') };
    case 'abort':
    case 'remove':
      return { op, data: { id: checkId(fields(data, 'data', ['id']).id, 'data.id') } };
    case 'commit-all': {
      const list = fields(data, 'data', ['allocations']).allocations;
      if (!Array.isArray(list) || list.length === 0)
        throw new ShapeError('data.allocations must be a non-empty array');
      return { op, data: { allocations: list.map((a, i) => checkAllocation(a, `data.allocations[${i}]`)) } };
    }
  }
}

/** Throws CONFLICT or NOT_FOUND when `operation` does not apply to `state`; changes nothing. */
export function checkApplicable(state: MutableState, operation: Operation): void {
  if (operation.op === 'commit-all') {
    const ids = new Set<string>();
    for (const single of commitsOf(operation)) {
      if (ids.has(single.data.id)) conflict(`allocation ${single.data.id} appears twice in one commit-all`);
      ids.add(single.data.id);
      checkApplicable(state, single);
    }
    return;
  }
  const { op, data } = operation;
  switch (op) {
    case 'intent':
      if (state.intents.has(data.id)) conflict(`an intent for ${data.id} is already recorded`);
      if (state.allocations.has(data.id)) conflict(`allocation ${data.id} is already committed`);
      return;
    case 'commit': {
      if (state.allocations.has(data.id)) {
        conflict(`allocation ${data.id} is already committed; use update() to change it`);
      }
      const intent = state.intents.get(data.id);
      if (intent && (intent.tenant !== data.tenant || intent.ownerKey !== data.ownerKey)) {
        conflict(`allocation ${data.id} does not match its intent's tenant and owner key`);
      }
      return;
    }
    case 'update': {
      const current = state.allocations.get(data.id);
      if (!current) notFound(`allocation ${data.id} is not in the store; commit() it first`);
      if (current.tenant !== data.tenant) {
        conflict(
          `update() cannot move allocation ${data.id} from tenant ${current.tenant} to ${data.tenant}`,
        );
      }
      return;
    }
    case 'abort':
      if (!state.intents.has(data.id)) notFound(`no intent ${data.id} is recorded`);
      return;
    case 'remove':
      if (!state.allocations.has(data.id)) notFound(`allocation ${data.id} is not in the store`);
      return;
  }
}

/** Applies an operation that checkApplicable accepted. */
export function applyOperation(state: MutableState, operation: Operation): void {
  checkApplicable(state, operation);
  if (operation.op === 'commit-all') {
    for (const single of commitsOf(operation)) applyOperation(state, single);
    return;
  }
  const { op, data } = operation;
  switch (op) {
    case 'intent':
      state.intents.set(data.id, data);
      return;
    case 'commit':
      state.intents.delete(data.id);
      state.allocations.set(data.id, data);
      return;
    case 'update':
      state.allocations.set(data.id, data);
      return;
    case 'abort':
      state.intents.delete(data.id);
      return;
    case 'remove':
      state.allocations.delete(data.id);
      return;
  }
}

function conflict(message: string): never {
  throw new StoreError(StoreCode.CONFLICT, message);
}

function notFound(message: string): never {
  throw new StoreError(StoreCode.NOT_FOUND, message);
}
