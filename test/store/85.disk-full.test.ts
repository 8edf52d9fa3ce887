// A real full filesystem under the store: a 1 MiB tmpfs mounted for the test (needs root; skipped with a
// loud message otherwise). Appends fail with STORE_UNAVAILABLE and change nothing (the journal is cut
// back to its last durable length), health() says the disk is full, and once space is freed the store
// takes writes again; a reopen holds exactly the acknowledged records.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JournalStore } from '../../src/store/index.js';
import { allocation } from './helpers.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('SKIPPED test/store/85.disk-full: mounting a tmpfs needs root');

describe.skipIf(!isRoot)('a full disk under the store (tmpfs)', () => {
  let mount = '';
  beforeAll(() => {
    mount = fs.mkdtempSync(join(tmpdir(), 'rafabric-tmpfs-')); // not tempDir(): removed after unmounting
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
  });
  afterAll(() => {
    if (!mount) return;
    execFileSync('umount', [mount]);
    fs.rmSync(mount, { recursive: true });
  });

  it('refuses writes while full (nothing half-written), resumes when space is freed', async () => {
    const dir = join(mount, 'store');
    const store = JournalStore.open(dir, { compactEveryRecords: 1_000_000 });
    await store.commit(allocation('before-full'));
    // Fill the filesystem.
    const filler = join(mount, 'filler');
    const fd = fs.openSync(filler, 'w');
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(64 * 1024));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(512));
    } catch {
      // the last partial block is used too
    }
    fs.closeSync(fd);
    // Appends use up the journal's last page, then fail.
    const acknowledged = ['before-full'];
    let refusal: unknown;
    for (let i = 0; i < 200 && !refusal; i++) {
      try {
        await store.commit(allocation(`f${i}`));
        acknowledged.push(`f${i}`);
      } catch (err) {
        refusal = err;
      }
    }
    expect(refusal, 'a full tmpfs must refuse an append').toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect((refusal as Error).message).toMatch(/ENOSPC.*disk is full/s);
    const journal = fs.readFileSync(join(dir, 'journal.jsonl'), 'utf8');
    expect(journal.endsWith('\n'), 'the failed append was cut back').toBe(true);
    expect(journal.split('\n').length - 1).toBe(store.lastSeq);
    expect(store.health()).toMatchObject({ writable: false, problem: expect.stringMatching(/full/) });
    await expect(store.commit(allocation('still-full'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });

    fs.rmSync(filler);
    expect(store.health()).toEqual({ writable: true });
    await store.commit(allocation('after-space'));
    acknowledged.push('after-space');
    await store.close();
    const again = JournalStore.open(dir);
    expect([...again.load().allocations.keys()].sort()).toEqual([...acknowledged].sort());
    await again.close();
  });
});
