// Each operation of the AllocationStore interface, its happy path and its refusals (operations-cases.ts),
// run against the in-memory store and the journal store so both keep the same contract (90.etcd runs the
// same cases against the etcd store).
import { describe, expect, it } from 'vitest';
import { JournalStore, MemoryStore } from '../../src/store/index.js';
import { allocation, intent, plain, tempDir } from './helpers.js';
import { describeOperations } from './operations-cases.js';

describeOperations('MemoryStore', () => new MemoryStore());
describeOperations('JournalStore', () => JournalStore.open(tempDir()));

describe('JournalStore options', () => {
  it('refuses a compaction interval that is not a positive integer', async () => {
    expect(() => JournalStore.open(tempDir(), { compactEveryRecords: 0 })).toThrow(/compactEveryRecords/);
  });

  it('keeps the state across close and reopen', async () => {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    await store.recordIntent(intent('i1'));
    await store.commit(allocation('a1'));
    const before = plain(store.load());
    await store.close();
    const again = JournalStore.open(dir);
    expect(plain(again.load())).toEqual(before);
    expect(again.lastSeq).toBe(2);
    await again.close();
  });
});
