// The driver's own copy of owner keys (src/driver/slice-keys.ts) for an adapter reached over PCI or
// VFIO, whose URI (pci://BDF) is no URL: the QEMU guests' agents failed every Program with
// "Invalid URL" when the book's path was taken from new URL(uri).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
        const adapter = { uri: `pci://00${randomBytes(1).toString('hex')}:00:04.0` } as Adapter;
        SliceKeyBook.of(adapter).set(3, 0xfeed_beefn);
        const file = path.join(dir, `${adapter.uri.replace(/[^A-Za-z0-9.-]/g, '_')}.keys`);
        expect(existsSync(file)).toBe(true);
        delete process.env.RAFABRIC_KEYS_DIR;
        expect(SliceKeyBook.of(adapter).get(3)).toBe(0n); // not in the temporary folder
        process.env.RAFABRIC_KEYS_DIR = dir;
        expect(SliceKeyBook.of(adapter).get(3)).toBe(0xfeed_beefn);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
