// Each operation of the AllocationStore interface, its happy path and its refusals, run against every
// store (the in-memory one and the journal one) so both keep the same contract.
import { describe, expect, it } from 'vitest';
import {
  type AllocationStore,
  JournalStore,
  MemoryStore,
  StoreCode,
  StoreError,
} from '../../src/store/index.js';
import { allocation, intent, plain, tempDir } from './helpers.js';

const stores: [string, () => AllocationStore][] = [
  ['MemoryStore', () => new MemoryStore()],
  ['JournalStore', () => JournalStore.open(tempDir())],
];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return (err as StoreError).code;
  }
  return undefined;
}

describe.each(stores)('%s', (_name, make) => {
  it('starts empty, with clean diagnostics', () => {
    const store = make();
    const state = store.load();
    expect(state.allocations.size).toBe(0);
    expect(state.intents.size).toBe(0);
    expect(state.diagnostics).toEqual({ repairedTail: false, ignoredBytes: 0, warnings: [] });
    store.close();
  });

  it('records an intent, commits it (the intent goes), updates and removes the allocation', () => {
    const store = make();
    store.recordIntent(intent('a1'));
    expect([...store.load().intents.keys()]).toEqual(['a1']);
    store.commit(allocation('a1'));
    expect(store.load().intents.size).toBe(0);
    expect(store.load().allocations.get('a1')).toEqual(allocation('a1'));
    const renewed = allocation('a1', {
      policy: { leaseMs: 30_000 },
      leaseExpiresAt: '2025-06-01T12:00:30.000Z',
    });
    store.update(renewed);
    expect(store.load().allocations.get('a1')).toEqual(renewed);
    store.remove('a1');
    expect(store.load().allocations.size).toBe(0);
    store.close();
  });

  it('aborts an intent after a rollback', () => {
    const store = make();
    store.recordIntent(intent('a1'));
    store.abortIntent('a1');
    expect(plain(store.load())).toEqual({ allocations: {}, intents: {} });
    store.close();
  });

  it('commits without a prior intent (nothing to remove)', () => {
    const store = make();
    store.commit(allocation('a1'));
    expect(store.load().allocations.has('a1')).toBe(true);
    store.close();
  });

  it('refuses an id recorded twice, committed twice, or an intent for a committed id (CONFLICT)', () => {
    const store = make();
    store.recordIntent(intent('a1'));
    expect(codeOf(() => store.recordIntent(intent('a1')))).toBe(StoreCode.CONFLICT);
    store.commit(allocation('a1'));
    expect(codeOf(() => store.commit(allocation('a1')))).toBe(StoreCode.CONFLICT);
    expect(codeOf(() => store.recordIntent(intent('a1')))).toBe(StoreCode.CONFLICT);
    store.close();
  });

  it("refuses a commit that contradicts its intent's tenant or owner key, and a tenant change by update", () => {
    const store = make();
    store.recordIntent(intent('a1'));
    expect(codeOf(() => store.commit(allocation('a1', { tenant: 'tenant-b' })))).toBe(StoreCode.CONFLICT);
    expect(codeOf(() => store.commit(allocation('a1', { ownerKey: 'ffffffffffffffff' })))).toBe(
      StoreCode.CONFLICT,
    );
    store.commit(allocation('a1'));
    expect(codeOf(() => store.update(allocation('a1', { tenant: 'tenant-b' })))).toBe(StoreCode.CONFLICT);
    store.close();
  });

  it('refuses update/remove/abortIntent of an unknown id (NOT_FOUND) and changes nothing', () => {
    const store = make();
    store.commit(allocation('a1'));
    const before = plain(store.load());
    expect(codeOf(() => store.update(allocation('zz')))).toBe(StoreCode.NOT_FOUND);
    expect(codeOf(() => store.remove('zz'))).toBe(StoreCode.NOT_FOUND);
    expect(codeOf(() => store.abortIntent('a1'))).toBe(StoreCode.NOT_FOUND);
    expect(plain(store.load())).toEqual(before);
    store.close();
  });

  it.each([
    [
      'an owner key that is not 16 hex digits',
      allocation('a1', { ownerKey: 'xyz' }),
      /ownerKey must be 16 hex/,
    ],
    [
      'an unknown state',
      allocation('a1', { state: 'gone' as never }),
      /state must be active \| released \| lost/,
    ],
    [
      'a negative slice',
      allocation('a1', { resources: [{ kind: 'memory', placements: [{ adapter: 'ra0', slice: -1 }] }] }),
      /resources\[0\]\.placements\[0\]\.slice must be an integer >= 0/,
    ],
    ['a bad date', allocation('a1', { createdAt: 'yesterday' }), /createdAt must be a date-time/],
    ['an unknown field', { ...allocation('a1'), extra: 1 }, /allocation\.extra is not a known field/],
    [
      'a fractional byte count',
      allocation('a1', { resources: [{ kind: 'memory', bytes: 1.5, placements: [] }] }),
      /bytes must be an integer/,
    ],
    [
      'maxAdapters 0',
      allocation('a1', { policy: { maxAdapters: 0 } }),
      /policy\.maxAdapters must be an integer >= 1/,
    ],
  ])('refuses an allocation with %s (INVALID_ARGUMENT, naming the field)', (_what, bad, message) => {
    const store = make();
    expect(() => store.commit(bad as never)).toThrow(message);
    expect(codeOf(() => store.commit(bad as never))).toBe(StoreCode.INVALID_ARGUMENT);
    expect(store.load().allocations.size).toBe(0);
    store.close();
  });

  it('refuses malformed intents and ids', () => {
    const store = make();
    expect(codeOf(() => store.recordIntent({ ...intent('a1'), placements: 'ra0' } as never))).toBe(
      StoreCode.INVALID_ARGUMENT,
    );
    expect(codeOf(() => store.recordIntent(intent('')))).toBe(StoreCode.INVALID_ARGUMENT);
    expect(codeOf(() => store.remove(42 as never))).toBe(StoreCode.INVALID_ARGUMENT);
    expect(codeOf(() => store.commit({ ...allocation('a1'), bytes: 10n } as never))).toBe(
      StoreCode.INVALID_ARGUMENT,
    );
    store.close();
  });

  it('keeps its own copies: mutating an input or a loaded state changes nothing stored', () => {
    const store = make();
    const a = allocation('a1');
    store.commit(a);
    a.tenant = 'mutated';
    const loaded = store.load();
    loaded.allocations.get('a1')!.resources[0]!.bytes = 1;
    loaded.allocations.delete('a1');
    expect(store.load().allocations.get('a1')).toEqual(allocation('a1'));
    store.close();
  });

  it('drops undefined optional fields, as a replay from JSON would', () => {
    const store = make();
    store.commit({ ...allocation('a1'), leaseExpiresAt: undefined });
    expect('leaseExpiresAt' in store.load().allocations.get('a1')!).toBe(false);
    store.close();
  });

  it('refuses every call after close (CLOSED); close twice is harmless', () => {
    const store = make();
    store.close();
    store.close();
    expect(codeOf(() => store.load())).toBe(StoreCode.CLOSED);
    expect(codeOf(() => store.commit(allocation('a1')))).toBe(StoreCode.CLOSED);
    expect(codeOf(() => store.remove('a1'))).toBe(StoreCode.CLOSED);
  });
});

describe('JournalStore options', () => {
  it('refuses a compaction interval that is not a positive integer', () => {
    expect(() => JournalStore.open(tempDir(), { compactEveryRecords: 0 })).toThrow(/compactEveryRecords/);
  });

  it('keeps the state across close and reopen', () => {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    store.recordIntent(intent('i1'));
    store.commit(allocation('a1'));
    const before = plain(store.load());
    store.close();
    const again = JournalStore.open(dir);
    expect(plain(again.load())).toEqual(before);
    expect(again.lastSeq).toBe(2);
    again.close();
  });
});
