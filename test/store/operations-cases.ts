// The AllocationStore contract, case by case: each operation's happy path and its refusals, plus revisions
// and compare-and-swap. Run against every store (10.operations: memory and journal; 90.etcd: etcd), so
// all keep the same contract.
import { describe, expect, it } from 'vitest';
import { type AllocationStore, StoreError } from '../../src/store/index.js';
import { allocation, intent, plain } from './helpers.js';

export async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return (err as StoreError).code;
  }
  return undefined;
}

export function describeOperations(
  name: string,
  make: () => AllocationStore | Promise<AllocationStore>,
): void {
  describe(name, () => {
    it('starts empty, with clean diagnostics', async () => {
      const store = await make();
      const state = store.load();
      expect(state.allocations.size).toBe(0);
      expect(state.intents.size).toBe(0);
      expect(state.diagnostics).toEqual({ repairedTail: false, ignoredBytes: 0, warnings: [] });
      await store.close();
    });

    it('records an intent, commits it (the intent goes), updates and removes the allocation', async () => {
      const store = await make();
      await store.recordIntent(intent('a1'));
      expect([...store.load().intents.keys()]).toEqual(['a1']);
      await store.commit(allocation('a1'));
      expect(store.load().intents.size).toBe(0);
      expect(store.load().allocations.get('a1')).toEqual(allocation('a1'));
      const renewed = allocation('a1', {
        policy: { leaseMs: 30_000 },
        leaseExpiresAt: '2025-06-01T12:00:30.000Z',
      });
      await store.update(renewed);
      expect(store.load().allocations.get('a1')).toEqual(renewed);
      await store.remove('a1');
      expect(store.load().allocations.size).toBe(0);
      await store.close();
    });

    it('aborts an intent after a rollback', async () => {
      const store = await make();
      await store.recordIntent(intent('a1'));
      await store.abortIntent('a1');
      expect(plain(store.load())).toEqual({ allocations: {}, intents: {} });
      await store.close();
    });

    it('commits without a prior intent (nothing to remove)', async () => {
      const store = await make();
      await store.commit(allocation('a1'));
      expect(store.load().allocations.has('a1')).toBe(true);
      await store.close();
    });

    it('refuses an id recorded twice, committed twice, or an intent for a committed id (CONFLICT)', async () => {
      const store = await make();
      await store.recordIntent(intent('a1'));
      expect(await codeOf(() => store.recordIntent(intent('a1')))).toBe('STORE_CONFLICT');
      await store.commit(allocation('a1'));
      expect(await codeOf(() => store.commit(allocation('a1')))).toBe('STORE_CONFLICT');
      expect(await codeOf(() => store.recordIntent(intent('a1')))).toBe('STORE_CONFLICT');
      await store.close();
    });

    it("refuses a commit that contradicts its intent's tenant or owner key, and a tenant change by update", async () => {
      const store = await make();
      await store.recordIntent(intent('a1'));
      expect(await codeOf(() => store.commit(allocation('a1', { tenant: 'tenant-b' })))).toBe(
        'STORE_CONFLICT',
      );
      expect(await codeOf(() => store.commit(allocation('a1', { ownerKey: 'ffffffffffffffff' })))).toBe(
        'STORE_CONFLICT',
      );
      await store.commit(allocation('a1'));
      expect(await codeOf(() => store.update(allocation('a1', { tenant: 'tenant-b' })))).toBe(
        'STORE_CONFLICT',
      );
      await store.close();
    });

    it('refuses update/remove/abortIntent of an unknown id (NOT_FOUND) and changes nothing', async () => {
      const store = await make();
      await store.commit(allocation('a1'));
      const before = plain(store.load());
      expect(await codeOf(() => store.update(allocation('zz')))).toBe('STORE_NOT_FOUND');
      expect(await codeOf(() => store.remove('zz'))).toBe('STORE_NOT_FOUND');
      expect(await codeOf(() => store.abortIntent('a1'))).toBe('STORE_NOT_FOUND');
      expect(plain(store.load())).toEqual(before);
      await store.close();
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
    ])('refuses an allocation with %s (INVALID_ARGUMENT, naming the field)', async (_what, bad, message) => {
      const store = await make();
      await expect(store.commit(bad as never)).rejects.toThrow(message);
      expect(await codeOf(() => store.commit(bad as never))).toBe('STORE_INVALID_ARGUMENT');
      expect(store.load().allocations.size).toBe(0);
      await store.close();
    });

    it('refuses malformed intents and ids', async () => {
      const store = await make();
      expect(await codeOf(() => store.recordIntent({ ...intent('a1'), placements: 'ra0' } as never))).toBe(
        'STORE_INVALID_ARGUMENT',
      );
      expect(await codeOf(() => store.recordIntent(intent('')))).toBe('STORE_INVALID_ARGUMENT');
      expect(await codeOf(() => store.remove(42 as never))).toBe('STORE_INVALID_ARGUMENT');
      expect(await codeOf(() => store.commit({ ...allocation('a1'), bytes: 10n } as never))).toBe(
        'STORE_INVALID_ARGUMENT',
      );
      await store.close();
    });

    it('keeps its own copies: mutating an input or a loaded state changes nothing stored', async () => {
      const store = await make();
      const a = allocation('a1');
      await store.commit(a);
      a.tenant = 'mutated';
      const loaded = store.load();
      loaded.allocations.get('a1')!.resources[0]!.bytes = 1;
      loaded.allocations.delete('a1');
      expect(store.load().allocations.get('a1')).toEqual(allocation('a1'));
      await store.close();
    });

    it('drops undefined optional fields, as a replay from JSON would', async () => {
      const store = await make();
      await store.commit({ ...allocation('a1'), leaseExpiresAt: undefined });
      expect('leaseExpiresAt' in store.load().allocations.get('a1')!).toBe(false);
      await store.close();
    });

    it('gives every write a new revision; a write with the revision last seen succeeds', async () => {
      const store = await make();
      expect(store.revisionOf('a1')).toBeUndefined();
      await store.recordIntent(intent('a1'));
      const intentRevision = store.revisionOf('a1');
      expect(intentRevision).toBeGreaterThan(0);
      await store.commit(allocation('a1'));
      const committed = store.revisionOf('a1')!;
      expect(committed).toBeGreaterThan(intentRevision!);
      await store.update(allocation('a1', { state: 'lost' }), { expectedRevision: committed });
      const updated = store.revisionOf('a1')!;
      expect(updated).toBeGreaterThan(committed);
      await store.remove('a1', { expectedRevision: updated });
      expect(store.revisionOf('a1')).toBeUndefined();
      expect(plain(await store.refresh())).toEqual({ allocations: {}, intents: {} });
      await store.close();
    });

    it('refuses update/remove/abortIntent at a revision that is no longer current (STALE_REVISION), changing nothing', async () => {
      const store = await make();
      await store.commit(allocation('a1'));
      const old = store.revisionOf('a1')!;
      await store.update(allocation('a1', { state: 'lost' }));
      const before = plain(store.load());
      const current = store.revisionOf('a1');
      expect(await codeOf(() => store.update(allocation('a1'), { expectedRevision: old }))).toBe(
        'STALE_REVISION',
      );
      expect(await codeOf(() => store.remove('a1', { expectedRevision: old }))).toBe('STALE_REVISION');
      await store.recordIntent(intent('i1'));
      const intentRevision = store.revisionOf('i1')!;
      expect(await codeOf(() => store.abortIntent('i1', { expectedRevision: intentRevision + 1000 }))).toBe(
        'STALE_REVISION',
      );
      expect(plain(store.load())).toEqual({ ...before, intents: { i1: intent('i1') } });
      expect(store.revisionOf('a1')).toBe(current);
      await store.close();
    });

    it('refuses an expected revision that is not a positive integer (INVALID_ARGUMENT)', async () => {
      const store = await make();
      await store.commit(allocation('a1'));
      expect(await codeOf(() => store.update(allocation('a1'), { expectedRevision: 0 }))).toBe(
        'STORE_INVALID_ARGUMENT',
      );
      expect(await codeOf(() => store.remove('a1', { expectedRevision: '3' as never }))).toBe(
        'STORE_INVALID_ARGUMENT',
      );
      expect(store.load().allocations.has('a1')).toBe(true);
      await store.close();
    });

    it('orders concurrent writes of one instance to one id (no self-conflict)', async () => {
      const store = await make();
      await store.commit(allocation('a1'));
      const writes = ['lost', 'active', 'released', 'active'].map((state) =>
        store.update(allocation('a1', { state: state as never })),
      );
      await Promise.all(writes);
      expect(store.load().allocations.get('a1')!.state).toBe('active');
      await store.close();
    });

    it('refuses every call after close (CLOSED); close twice is harmless', async () => {
      const store = await make();
      await store.close();
      await store.close();
      expect(await codeOf(() => store.load())).toBe('STORE_CLOSED');
      expect(await codeOf(() => store.commit(allocation('a1')))).toBe('STORE_CLOSED');
      expect(await codeOf(() => store.remove('a1'))).toBe('STORE_CLOSED');
    });
  });
}
