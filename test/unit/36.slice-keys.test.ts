// The driver's own copy of owner keys (src/driver/slice-keys.ts) for an adapter reached over PCI or
// VFIO, whose URI (pci://BDF) is no URL: the QEMU guests' agents failed every Program with
// "Invalid URL" when the book's path was taken from new URL(uri).
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
