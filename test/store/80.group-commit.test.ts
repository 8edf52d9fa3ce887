// Group commit (issue 11 item 4): concurrent writes share one fsync, and each write's promise resolves
// only once its own record is on disk (the kill test in 70.kill.test.ts checks the same across SIGKILL
// with concurrent writers).
import * as fs from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { JournalStore } from '../../src/store/index.js';
import { encodeRecord } from '../../src/store/journal.js';
import { allocation, intent, plain, tempDir } from './helpers.js';

describe('group commit', () => {
  it('64 concurrent commits: fewer fsyncs than commits, all durable on reopen', async () => {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    const ids = Array.from({ length: 64 }, (_, i) => `g${i}`);
    await Promise.all(ids.map((id) => store.commit(allocation(id))));
    expect(store.lastSeq).toBe(64);
    expect(store.journalFsyncs).toBeGreaterThanOrEqual(1);
    expect(store.journalFsyncs).toBeLessThan(64);
    await store.close();
    const again = JournalStore.open(dir);
    expect(Object.keys(plain(again.load()).allocations).sort()).toEqual([...ids].sort());
    await again.close();
  });

  it('one writer at a time: sequential commits cost one fsync each', async () => {
    const store = JournalStore.open(tempDir());
    for (let i = 0; i < 5; i++) await store.commit(allocation(`s${i}`));
    expect(store.journalFsyncs).toBe(5);
    await store.close();
  });

  it("each promise resolves only after its record is in the fsync'd journal", async () => {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    const checks = Array.from({ length: 32 }, (_, i) => {
      const fsyncsWhenQueued = store.journalFsyncs;
      return store.commit(allocation(`c${i}`)).then(() => {
        const journal = fs.readFileSync(join(dir, 'journal.jsonl'), 'utf8');
        return journal.includes(`"id":"c${i}"`) && store.journalFsyncs > fsyncsWhenQueued;
      });
    });
    expect(await Promise.all(checks)).toEqual(checks.map(() => true));
    await store.close();
  });

  it('a refused write in a batch fails alone; load() shows only durable state while writes are queued', async () => {
    const store = JournalStore.open(tempDir());
    await store.recordIntent(intent('i1'));
    const ok = store.commit(allocation('i1'));
    const dup = store.commit(allocation('i1')); // checked against the queued commit: CONFLICT at once
    const other = store.commit(allocation('o1'));
    expect(store.load().allocations.size, 'nothing is visible before it is durable').toBe(0);
    await expect(dup).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
    await Promise.all([ok, other]);
    expect([...store.load().allocations.keys()].sort()).toEqual(['i1', 'o1']);
    await store.close();
  });

  it('close() waits for the writes in flight', async () => {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    const writes = Array.from({ length: 16 }, (_, i) => store.commit(allocation(`w${i}`)));
    await store.close();
    await Promise.all(writes);
    const again = JournalStore.open(dir);
    expect(again.load().allocations.size).toBe(16);
    await again.close();
  });
});

describe('the journal line', () => {
  // encodeRecord puts the line together from the one serialization of the data the checksum needs; it
  // must stay JSON.stringify({seq, op, data, crc}) byte for byte (replay recomputes the crc from it).
  it('is JSON.stringify of {seq, op, data, crc} with crc the CRC-32 of seq|op|JSON(data)', () => {
    const records = [
      [1, 'commit', allocation('x1')],
      [42, 'intent', intent('x2')],
      [7, 'remove', { id: 'x"3\\é\u2028' }],
    ] as const;
    for (const [seq, op, data] of records) {
      const crc = zlib.crc32(`${seq}|${op}|${JSON.stringify(data)}`);
      expect(encodeRecord(seq, op, data)).toBe(`${JSON.stringify({ seq, op, data, crc })}\n`);
    }
  });

  // recordIntent() and commit() reuse the JSON text their input was validated from (validate.ts,
  // normalizedWithJson) instead of serializing the kept copy again: the file must not tell the difference.
  it('written by recordIntent and commit from a caller object with undefined fields, is that of the kept copy', async () => {
    const dir = tempDir();
    const store = JournalStore.open(dir);
    const a = { ...allocation('j1'), leaseExpiresAt: undefined };
    const i = { ...intent('j1'), tenant: a.tenant, ownerKey: a.ownerKey, note: undefined };
    await store.recordIntent(i as never);
    await store.commit(a as never);
    await store.close();
    const lines = fs.readFileSync(join(dir, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean);
    const expected = [
      [1, 'intent', JSON.parse(JSON.stringify(i))],
      [2, 'commit', JSON.parse(JSON.stringify(a))],
    ] as const;
    expect(lines).toEqual(
      expected.map(([seq, op, data]) => {
        const crc = zlib.crc32(`${seq}|${op}|${JSON.stringify(data)}`);
        return JSON.stringify({ seq, op, data, crc });
      }),
    );
    const again = JournalStore.open(dir);
    expect(again.load().allocations.get('j1')).toEqual(JSON.parse(JSON.stringify(a)));
    await again.close();
  });
});
