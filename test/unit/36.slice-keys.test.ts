// The driver's own copy of owner keys (src/driver/slice-keys.ts) for an adapter reached over PCI or
// VFIO, whose URI (pci://BDF) is no URL: the QEMU guests' agents failed every Program with
// "Invalid URL" when the book's path was taken from new URL(uri).
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Adapter } from '../../src/driver/adapter.js';
import { SliceKeyBook } from '../../src/driver/slice-keys.js';

describe('slice key book', () => {
  it.each(['pci', 'vfio'])('keeps keys for a %s:// adapter (no socket folder) and wipes them', (scheme) => {
    const bdf = `00${randomBytes(1).toString('hex')}:00:03.0`;
    const adapter = { uri: `${scheme}://${bdf}` } as Adapter;
    const book = SliceKeyBook.of(adapter);
    expect(book.get(7)).toBe(0n);
    book.set(7, 0x1234_5678_9abc_def1n);
    expect(SliceKeyBook.of(adapter).get(7)).toBe(0x1234_5678_9abc_def1n);
    book.clear(7);
    expect(book.get(7)).toBe(0n);
  });

  it('writes each key through to the file at once and reads what another process wrote (its file stays open)', () => {
    const bdf = `00${randomBytes(1).toString('hex')}:00:04.0`;
    const adapter = { uri: `pci://${bdf}` } as Adapter;
    const file = path.join(os.tmpdir(), 'rafabric-keys', `pci___${bdf.replace(/:/g, '_')}.keys`);
    const book = SliceKeyBook.of(adapter);
    book.set(3, 0x0102_0304_0506_0708n);
    expect(readFileSync(file).readBigUInt64LE(3 * 8)).toBe(0x0102_0304_0506_0708n); // no copy held back
    const other = openSync(file, 'r+'); // another driver process on the machine
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(0xfeed_beefn);
    writeSync(other, key, 0, 8, 9 * 8);
    closeSync(other);
    expect(book.get(9)).toBe(0xfeed_beefn);
    SliceKeyBook.closeFor(adapter);
    expect(SliceKeyBook.of(adapter).get(3)).toBe(0x0102_0304_0506_0708n); // reopened after close
    SliceKeyBook.of(adapter).clear(3);
    SliceKeyBook.of(adapter).clear(9);
    SliceKeyBook.closeFor(adapter);
  });

  // The book is the file mapped whole (no system call per key): a file an older driver grew by pwrite
  // only as far as its highest entry keeps its keys and reads 0 past its old end.
  it('reads the keys of a short book file written by an older driver, and refuses entries past the table', () => {
    const bdf = `00${randomBytes(1).toString('hex')}:00:05.0`;
    const adapter = { uri: `pci://${bdf}` } as Adapter;
    const file = path.join(os.tmpdir(), 'rafabric-keys', `pci___${bdf.replace(/:/g, '_')}.keys`);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const old = Buffer.alloc(5 * 8);
    old.writeBigUInt64LE(0xabcd_ef01_2345_6789n, 4 * 8);
    writeFileSync(file, old, { mode: 0o600 });
    try {
      const book = SliceKeyBook.of(adapter);
      expect(book.get(4)).toBe(0xabcd_ef01_2345_6789n);
      expect(book.get(200)).toBe(0n);
      book.set(255, 0xffff_ffff_ffff_fffen);
      expect(readFileSync(file).readBigUInt64LE(255 * 8)).toBe(0xffff_ffff_ffff_fffen);
      expect(() => book.set(256, 1n)).toThrow(/entry 256 is out of range \(0 to 255\)/);
      expect(() => book.get(-1)).toThrow(/out of range/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      SliceKeyBook.closeFor(adapter);
      rmSync(file, { force: true });
    }
  });

  describe('RAFABRIC_KEYS_DIR', () => {
    const saved = process.env.RAFABRIC_KEYS_DIR;
    afterEach(() => {
      if (saved === undefined) delete process.env.RAFABRIC_KEYS_DIR;
      else process.env.RAFABRIC_KEYS_DIR = saved;
    });

    // A QEMU guest's temporary folder is gone at a reboot while the adapter keeps its slices: without
    // its book the rebooted agent reported a slice the dead guest programmed with an unknown key, and
    // reconciliation could never release it (OWNER_KEY). serve --qemu points this at the share.
    it("keeps a PCI adapter's book in that folder, where a new process (a rebooted guest) finds it", () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'rafabric-keys-dir-'));
      try {
        process.env.RAFABRIC_KEYS_DIR = dir;
        const uri = `pci://00${randomBytes(1).toString('hex')}:00:04.0`;
        // each process (the guest before and after its reboot) opens its own Adapter
        const adapter = () => ({ uri }) as Adapter;
        const first = adapter();
        SliceKeyBook.of(first).set(3, 0xfeed_beefn);
        SliceKeyBook.closeFor(first);
        const file = path.join(dir, `${uri.replace(/[^A-Za-z0-9.-]/g, '_')}.keys`);
        expect(existsSync(file)).toBe(true);
        delete process.env.RAFABRIC_KEYS_DIR;
        const elsewhere = adapter();
        expect(SliceKeyBook.of(elsewhere).get(3)).toBe(0n); // not in the temporary folder
        SliceKeyBook.closeFor(elsewhere);
        process.env.RAFABRIC_KEYS_DIR = dir;
        const rebooted = adapter();
        expect(SliceKeyBook.of(rebooted).get(3)).toBe(0xfeed_beefn);
        SliceKeyBook.closeFor(rebooted);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
