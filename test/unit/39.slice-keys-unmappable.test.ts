// The slice key book maps its file (src/driver/slice-keys.ts); a file system that refuses a shared
// writable mapping (9p without a page cache: the share that holds a QEMU guest's book) must still
// keep every key, through pread/pwrite on the same file. The addon's HostMapping is made to refuse
// here; everything else is the real file.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Adapter } from '../../src/driver/adapter.js';

vi.mock('../../src/driver/native.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/driver/native.js')>();
  return {
    ...real,
    addon: () => ({
      ...real.addon(),
      HostMapping: class {
        constructor(file: string) {
          throw new Error(`mmap ${file}: Invalid argument`);
        }
      },
    }),
  };
});

const { SliceKeyBook } = await import('../../src/driver/slice-keys.js');

describe('slice key book on a file system that cannot map it', () => {
  it('keeps, reads and wipes keys with one pread/pwrite each, in the same file format', () => {
    const bdf = `00${randomBytes(1).toString('hex')}:00:06.0`;
    const adapter = { uri: `pci://${bdf}` } as Adapter;
    const file = path.join(os.tmpdir(), 'rafabric-keys', `pci___${bdf.replace(/:/g, '_')}.keys`);
    try {
      const book = SliceKeyBook.of(adapter);
      expect(book.get(3)).toBe(0n); // no file yet, and a read makes none
      book.set(3, 0x0102_0304_0506_0708n);
      expect(readFileSync(file).readBigUInt64LE(3 * 8)).toBe(0x0102_0304_0506_0708n);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const other = openSync(file, 'r+'); // another driver process on the machine
      const key = Buffer.alloc(8);
      key.writeBigUInt64LE(0xfeed_beefn);
      writeSync(other, key, 0, 8, 9 * 8);
      closeSync(other);
      expect(book.get(9)).toBe(0xfeed_beefn);
      book.clear(3);
      expect(book.get(3)).toBe(0n);
      expect(() => book.set(256, 1n)).toThrow(/out of range/);
      SliceKeyBook.closeFor(adapter);
      expect(SliceKeyBook.of(adapter).get(9)).toBe(0xfeed_beefn); // reopened after close
    } finally {
      SliceKeyBook.closeFor(adapter);
      rmSync(file, { force: true });
    }
  });
});
